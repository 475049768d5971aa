"""Data augmentation in NumPy: random, label-preserving changes to training images.

Every random function takes the images and a ``np.random.Generator`` and returns new
arrays (the input is never modified), so a run is reproducible from one seed:
``rng = np.random.default_rng(0)``. Images are ``(N, C, H, W)`` floats, or a single image
``(C, H, W)`` which comes back with the same shape; dtype is kept (float32 stays float32).

Augmentation happens at training time only; at test time the network sees the original
images (or an average over a fixed set of crops). The recipes from the lectures:

* horizontal flips;
* random crops: CIFAR pads 4 pixels on each side and crops back to 32x32; ResNet resizes
  the shorter side to a random ``L`` in ``[256, 480]`` and takes a random 224x224 patch
  (:func:`random_scale`);
* colour jitter (brightness, contrast, saturation) and AlexNet's PCA colour shift;
* cutout (zero a random square) and mixup (blend pairs of images and their labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_labels, check_ndim, check_shape

_LAYOUT = "(N, C, H, W) or a single image (C, H, W)"
# ITU-R BT.601 luma weights, the usual RGB -> grey conversion.
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114])


def _check_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator such as np.random.default_rng(0), "
            f"got {type(rng).__name__}"
        )


def _as_batch(images: object) -> tuple[np.ndarray, bool]:
    """Return ``(batch (N, C, H, W), was_single)``; a single image becomes a batch of one."""
    arr = as_float_array(images, "images")
    check_ndim(arr, (3, 4), "images", _LAYOUT)
    return (arr[None], True) if arr.ndim == 3 else (arr, False)


def _unbatch(batch: np.ndarray, was_single: bool) -> np.ndarray:
    return batch[0] if was_single else batch


def _pair(size: int | tuple[int, int] | None, default: tuple[int, int], name: str) -> tuple:
    """``size`` as ``(height, width)``: an int means a square, ``None`` the default."""
    if size is None:
        return default
    pair = (size, size) if np.isscalar(size) else tuple(size)
    if len(pair) != 2 or any(int(s) != s or s < 1 for s in pair):
        raise ValueError(f"{name} must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _check_unit(value: float, name: str) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")


# ------------------------------------------------------------------------------- flips


def horizontal_flip(images: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each image left-right, independently, with probability ``p``.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)``.
        p: chance that an image is flipped; ``p=1`` flips all (flipping twice restores).

    Returns:
        A new array with ``images``'s shape and dtype.
    """
    _check_rng(rng)
    _check_unit(p, "p")
    batch, single = _as_batch(images)
    flip = rng.random(batch.shape[0]) < p
    out = batch.copy()
    out[flip] = batch[flip][..., ::-1]
    return _unbatch(out, single)


# ------------------------------------------------------------------------ crops and pads


def pad_images(images: np.ndarray, pad: int) -> np.ndarray:
    """Zero-pad ``pad`` pixels on every side: ``(N, C, H, W)`` -> ``(N, C, H+2p, W+2p)``."""
    if int(pad) != pad or pad < 0:
        raise ValueError(f"pad must be a non-negative integer, got {pad}")
    batch, single = _as_batch(images)
    out = np.pad(batch, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return _unbatch(out, single)


def crop(
    images: np.ndarray, top: int | np.ndarray, left: int | np.ndarray, height: int, width: int
) -> np.ndarray:
    """Cut a ``height x width`` window out of each image at its own offset.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)``.
        top, left: row and column of each window's top-left pixel, ints or shape ``(N,)``.
        height, width: window size; every window must lie inside its image.

    Returns:
        ``(N, C, height, width)`` (or ``(C, height, width)``), same dtype.
    """
    batch, single = _as_batch(images)
    n, _, h, w = batch.shape
    top = np.broadcast_to(np.asarray(top, dtype=np.intp), (n,))
    left = np.broadcast_to(np.asarray(left, dtype=np.intp), (n,))
    if n and (
        top.min() < 0 or left.min() < 0 or (top + height).max() > h or (left + width).max() > w
    ):
        raise ValueError(
            f"a {height}x{width} window at offsets top={top.tolist()}, left={left.tolist()} "
            f"does not fit inside {h}x{w} images; offsets must lie in [0, {h - height}] x "
            f"[0, {w - width}]"
        )
    # Advanced indexing with per-image row and column ranges gathers all windows at once.
    rows = (top[:, None] + np.arange(height))[:, None, :, None]
    cols = (left[:, None] + np.arange(width))[:, None, None, :]
    out = batch[
        np.arange(n)[:, None, None, None], np.arange(batch.shape[1])[:, None, None], rows, cols
    ]
    return _unbatch(out, single)


def random_crop(
    images: np.ndarray,
    rng: np.random.Generator,
    pad: int = 4,
    size: int | tuple[int, int] | None = None,
) -> np.ndarray:
    """Zero-pad by ``pad``, then crop each image at a uniformly random offset.

    With the default ``size`` (the input's ``H x W``) this is a random translation by up
    to ``pad`` pixels in each direction: the CIFAR-10 recipe is ``pad=4`` on 32x32 images.

    Returns:
        ``(N, C, size_h, size_w)`` (or a single image), same dtype.
    """
    _check_rng(rng)
    batch, single = _as_batch(images)
    n, _, h, w = batch.shape
    out_h, out_w = _pair(size, (h, w), "size")
    padded = pad_images(batch, pad)
    if out_h > h + 2 * pad or out_w > w + 2 * pad:
        raise ValueError(
            f"size {out_h}x{out_w} is larger than the padded image {h + 2 * pad}x{w + 2 * pad}; "
            f"increase pad or reduce size"
        )
    top = rng.integers(0, h + 2 * pad - out_h + 1, size=n)
    left = rng.integers(0, w + 2 * pad - out_w + 1, size=n)
    return _unbatch(crop(padded, top, left, out_h, out_w), single)


# ------------------------------------------------------------------------------- scale


def _sample_positions(
    n_in: int, n_out: int, mode: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices ``(lo, hi)`` and weight of ``hi`` for each of ``n_out`` outputs.

    Pixel centres are aligned (torch's ``align_corners=False``): output pixel ``j`` sits
    at source coordinate ``(j + 0.5) * n_in / n_out - 0.5``.
    """
    scale = n_in / n_out
    j = np.arange(n_out)
    if mode == "nearest":
        # The source pixel whose extent contains the output pixel's centre.
        idx = np.minimum(np.floor((j + 0.5) * scale).astype(np.intp), n_in - 1)
        return idx, idx, np.zeros(n_out)
    pos = np.clip((j + 0.5) * scale - 0.5, 0, n_in - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, pos - lo


def resize(images: np.ndarray, height: int, width: int, mode: str = "bilinear") -> np.ndarray:
    """Resample images to ``height x width`` with nearest or bilinear interpolation.

    Matches ``torch.nn.functional.interpolate`` with ``mode="bilinear",
    align_corners=False`` (no antialiasing) or ``mode="nearest-exact"``.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)``.
        mode: ``"bilinear"`` or ``"nearest"``.

    Returns:
        ``(N, C, height, width)`` (or a single image), same dtype.
    """
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f'mode must be "bilinear" or "nearest", got {mode!r}')
    height, width = _pair((height, width), (0, 0), "(height, width)")
    batch, single = _as_batch(images)
    _, _, h, w = batch.shape
    # Bilinear interpolation is separable: interpolate along rows, then along columns.
    lo, hi, frac = _sample_positions(h, height, mode)
    frac = frac.astype(batch.dtype)[:, None]
    rows = batch[:, :, lo, :] * (1 - frac) + batch[:, :, hi, :] * frac
    lo, hi, frac = _sample_positions(w, width, mode)
    frac = frac.astype(batch.dtype)
    out = rows[..., lo] * (1 - frac) + rows[..., hi] * frac
    return _unbatch(out, single)


def _window(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[slice, slice]:
    """Random placement along one axis: ``(source slice, destination slice)``.

    A longer source is cropped at a random offset; a shorter one is placed at a random
    offset inside the zero-filled output.
    """
    if n_in >= n_out:
        start = int(rng.integers(0, n_in - n_out + 1))
        return slice(start, start + n_out), slice(0, n_out)
    start = int(rng.integers(0, n_out - n_in + 1))
    return slice(0, n_in), slice(start, start + n_in)


def random_scale(
    images: np.ndarray,
    rng: np.random.Generator,
    short_side: tuple[int, int],
    size: int | tuple[int, int] | None = None,
    mode: str = "bilinear",
) -> np.ndarray:
    """Resize each image so its shorter side is a random ``L``, then crop or pad to ``size``.

    ``L`` is drawn uniformly from the integers ``short_side[0] ... short_side[1]``
    (inclusive) per image; the longer side scales by the same factor. If the resized
    image is larger than ``size`` a random window is cropped; if smaller it is placed at a
    random position on a zero background. ResNet's recipe is
    ``random_scale(x, rng, short_side=(256, 480), size=224)``; for 32x32 CIFAR images
    ``short_side=(28, 40), size=32`` is a mild version.

    Returns:
        ``(N, C, size_h, size_w)`` (or a single image), same dtype; ``size`` defaults to
        the input's ``H x W``.
    """
    _check_rng(rng)
    lo, hi = _pair(short_side, (0, 0), "short_side")
    if lo > hi:
        raise ValueError(f"short_side must be (low, high) with low <= high, got {short_side}")
    batch, single = _as_batch(images)
    n, c, h, w = batch.shape
    out_h, out_w = _pair(size, (h, w), "size")
    out = np.zeros((n, c, out_h, out_w), dtype=batch.dtype)
    for i in range(n):
        factor = int(rng.integers(lo, hi + 1)) / min(h, w)
        new_h, new_w = max(1, round(h * factor)), max(1, round(w * factor))
        scaled = resize(batch[i], new_h, new_w, mode)
        src_rows, dst_rows = _window(rng, new_h, out_h)
        src_cols, dst_cols = _window(rng, new_w, out_w)
        out[i, :, dst_rows, dst_cols] = scaled[:, src_rows, src_cols]
    return _unbatch(out, single)


# ------------------------------------------------------------------------------ colour


def _grey(batch: np.ndarray) -> np.ndarray:
    """Luma of ``(N, C, H, W)`` images as ``(N, 1, H, W)``; one channel is its own grey."""
    if batch.shape[1] == 1:
        return batch
    weights = _GREY_WEIGHTS.astype(batch.dtype)
    return np.einsum("nchw,c->nhw", batch, weights)[:, None]


def color_jitter(
    images: np.ndarray,
    rng: np.random.Generator,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    clip: bool = True,
) -> np.ndarray:
    """Random brightness, contrast and saturation, one factor of each per image.

    Each strength ``s`` draws a factor ``f`` uniformly from ``[1 - s, 1 + s]``; ``s = 0``
    switches that change off. Applied in this fixed order:

    * brightness: ``x * f``;
    * contrast: ``m + f * (x - m)`` with ``m`` the image's mean grey level, so the mean
      grey level is kept while the spread around it grows or shrinks;
    * saturation: ``g + f * (x - g)`` with ``g`` each pixel's grey level, so ``f = 0``
      gives a grey image and the grey level of every pixel is kept.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)`` with values in ``[0, 1]``; ``C`` is 3
            (RGB) or, with ``saturation=0``, 1.
        clip: clip the result to ``[0, 1]`` once at the end.

    Returns:
        A new array with ``images``'s shape and dtype.
    """
    _check_rng(rng)
    for value, name in (
        (brightness, "brightness"),
        (contrast, "contrast"),
        (saturation, "saturation"),
    ):
        _check_unit(value, name)
    batch, single = _as_batch(images)
    n, c = batch.shape[:2]
    if c not in (1, 3) or (c == 1 and saturation > 0):
        raise ValueError(
            f"color_jitter needs RGB images (C=3), or C=1 with saturation=0 (grey images have "
            f"no saturation), got images with C={c} and saturation={saturation}"
        )
    # Draw all three factors for every image even when a change is off, so switching one
    # change on or off does not shift the random stream of the others.
    factors = (
        rng.uniform(-1.0, 1.0, size=(3, n)) * np.array([brightness, contrast, saturation])[:, None]
    )
    factors = (1.0 + factors).astype(batch.dtype)[:, :, None, None, None]
    out = batch * factors[0]
    mean_grey = _grey(out).mean(axis=(2, 3), keepdims=True)
    out = mean_grey + factors[1] * (out - mean_grey)
    if c == 3:
        grey = _grey(out)
        out = grey + factors[2] * (out - grey)
    if clip:
        out = np.clip(out, 0, 1)
    return _unbatch(out, single)


@dataclass(frozen=True)
class ColorPCA:
    """Principal components of the RGB values of all training pixels.

    Attributes:
        eigenvalues: ``(3,)`` variances along the components, decreasing.
        eigenvectors: ``(3, 3)``, column ``i`` is the unit RGB direction of component ``i``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray


def fit_color_pca(images: np.ndarray, chunk: int = 1024) -> ColorPCA:
    """Eigen-decompose the 3x3 covariance of the RGB values of every training pixel.

    Args:
        images: training images ``(N, 3, H, W)``; each of the ``N * H * W`` pixels is one
            RGB sample.
        chunk: images per step; the covariance is accumulated in float64 chunk by chunk so
            a whole training set is never copied to float64 at once.
    """
    batch = as_float_array(images, "images")
    check_shape(batch, (None, 3, None, None), "images", "(N, 3, H, W) RGB training images")
    count = batch.shape[0] * batch.shape[2] * batch.shape[3]
    if count < 2:
        raise ValueError(
            f"fit_color_pca needs at least 2 pixels, got images of shape {batch.shape}"
        )
    mean = batch.mean(axis=(0, 2, 3), dtype=np.float64)[:, None, None]
    scatter = np.zeros((3, 3))
    for start in range(0, batch.shape[0], chunk):
        block = batch[start : start + chunk].astype(np.float64) - mean
        scatter += np.einsum("nchw,ndhw->cd", block, block)
    eigenvalues, eigenvectors = np.linalg.eigh(scatter / (count - 1))
    # eigh sorts ascending; list the dominant (brightness-like) direction first.
    return ColorPCA(np.clip(eigenvalues[::-1], 0, None), eigenvectors[:, ::-1])


def pca_color(
    images: np.ndarray, rng: np.random.Generator, color_pca: ColorPCA, std: float = 0.1
) -> np.ndarray:
    """AlexNet's "fancy PCA" colour augmentation: shift each image along the RGB components.

    Per image, draw ``alpha ~ N(0, std)`` for each of the three components and add the
    same RGB offset ``eigenvectors @ (alpha * eigenvalues)`` to every pixel. Natural
    images vary most in overall intensity and colour of the illumination, which is what
    the dominant components capture.

    Args:
        images: ``(N, 3, H, W)`` or ``(3, H, W)``.
        color_pca: from :func:`fit_color_pca` on the *training* images.
        std: standard deviation of ``alpha`` (AlexNet used 0.1).

    Returns:
        A new array with ``images``'s shape and dtype (not clipped).
    """
    _check_rng(rng)
    if std < 0:
        raise ValueError(f"std must be non-negative, got {std}")
    batch, single = _as_batch(images)
    check_shape(batch, (None, 3, None, None), "images", "(N, 3, H, W) RGB images")
    alpha = rng.normal(0.0, std, size=(batch.shape[0], 3))
    offsets = (alpha * color_pca.eigenvalues) @ color_pca.eigenvectors.T  # (N, 3)
    out = batch + offsets.astype(batch.dtype)[:, :, None, None]
    return _unbatch(out, single)


# ---------------------------------------------------------------------- cutout, mixup


def cutout(images: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Zero a ``size x size`` square, in all channels, at a random place in each image.

    As in DeVries and Taylor (2017), the square's centre is uniform over the image and the
    square is clipped at the border, so near an edge a smaller rectangle is zeroed.

    Returns:
        A new array with ``images``'s shape and dtype.
    """
    _check_rng(rng)
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size}")
    batch, single = _as_batch(images)
    n, _, h, w = batch.shape
    top = rng.integers(0, h, size=n) - size // 2
    left = rng.integers(0, w, size=n) - size // 2
    rows = np.arange(h)
    cols = np.arange(w)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size)  # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size)  # (N, W)
    square = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (N, 1, H, W)
    out = np.where(square, batch.dtype.type(0), batch)
    return _unbatch(out, single)


class Mixup(NamedTuple):
    """Result of :func:`mixup`.

    Attributes:
        images: ``(N, C, H, W)`` blended images.
        targets: ``(N, num_classes)`` soft labels, each row summing to 1.
        lam: the blend weight of the original image (same for the whole batch).
        partner: ``(N,)`` index of the image each one was blended with.
    """

    images: np.ndarray
    targets: np.ndarray
    lam: float
    partner: np.ndarray


def mixup(
    images: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    num_classes: int,
    alpha: float = 0.2,
) -> Mixup:
    """Blend each image and its one-hot label with a randomly chosen partner in the batch.

    ``lam ~ Beta(alpha, alpha)`` is drawn once per batch (as in Zhang et al., 2018) and
    the partners are a random permutation: image ``i`` becomes
    ``lam * x[i] + (1 - lam) * x[partner[i]]`` and its target
    ``lam * onehot(y[i]) + (1 - lam) * onehot(y[partner[i]])``. Train with a
    cross-entropy against these soft targets.

    Args:
        images: ``(N, C, H, W)``.
        y: ``(N,)`` integer labels in ``[0, num_classes)``.
        alpha: Beta parameter; small values keep most blends close to one image.

    Returns:
        A :class:`Mixup` ``(images, targets, lam, partner)``; images and targets have the
        input's dtype.
    """
    _check_rng(rng)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    batch = as_float_array(images, "images")
    check_ndim(batch, 4, "images", "(N, C, H, W)")
    labels = check_labels(y, batch.shape[0], num_classes)
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(batch.shape[0])
    weight = batch.dtype.type(lam)
    mixed = weight * batch + (1 - weight) * batch[partner]
    onehot = np.eye(num_classes, dtype=batch.dtype)[labels]
    targets = weight * onehot + (1 - weight) * onehot[partner]
    return Mixup(mixed, targets, lam, partner)
