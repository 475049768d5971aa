"""Geometric augmentation: flips, pads and crops, resizing and random scale."""

from __future__ import annotations

import numpy as np

from dlcourse.data.augment._common import _as_batch, _check_rng, _check_unit, _pair, _unbatch

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
