"""Colour augmentation: brightness/contrast/saturation jitter and AlexNet's PCA colour shift."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse._validate import as_float_array, check_shape
from dlcourse.data.augment._common import (
    _as_batch,
    _check_rng,
    _check_unit,
    _unbatch,
)

# ITU-R BT.601 luma weights, the usual RGB -> grey conversion.
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114])


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
