"""``filters.ipynb``: hand-designed kernels, feature maps, a filter bank for display.

``filter2d`` is a thin call into :func:`dlcourse.functional.conv_fast.conv_forward_fast`
(one image, one kernel, bias 0, stride 1): the notebook's convolution of a single
grayscale image, as a deep-learning library computes it (a cross-correlation, the kernel
not flipped). ``gradient_magnitude`` applies the two Sobel kernels with it. The Gaussian
kernel and the display normalization have no library counterpart and are written here.
"""

from __future__ import annotations

import numpy as np

from dlcourse.functional.conv_fast import conv_forward_fast

IntLike = int | np.ndarray
Scalar = float | np.ndarray

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
"""Responds to brightness that grows from left to right (a vertical edge)."""
SOBEL_Y = SOBEL_X.T.copy()
"""Responds to brightness that grows from top to bottom (a horizontal edge)."""

__all__ = [
    "SOBEL_X",
    "SOBEL_Y",
    "filter2d",
    "gaussian_kernel",
    "gradient_magnitude",
    "normalize_filters",
]


def filter2d(image: np.ndarray, kernel: np.ndarray, pad: IntLike) -> np.ndarray:
    """Slide ``kernel (k, l)`` over ``image (H, W)`` with ``pad`` zeros on every side.

    ``out[i, j] = sum_{u, v} kernel[u, v] * padded[i + u, j + v]``, of shape
    ``(H + 2*pad - k + 1, W + 2*pad - l + 1)``.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    out, _ = conv_forward_fast(image[None, None], kernel[None, None], np.zeros(1), 1, int(pad))
    return out[0, 0]


def gaussian_kernel(size: IntLike, sigma: Scalar) -> np.ndarray:
    """``(size, size)`` Gaussian weights ``exp(-(u**2 + v**2) / (2 sigma**2))``, summing to 1.

    ``u`` and ``v`` are the offsets from the centre, ``-(size - 1)/2 ... (size - 1)/2``.
    """
    size, sigma = int(size), float(sigma)
    offsets = np.arange(size) - (size - 1) / 2
    weights = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    return weights / weights.sum()


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """``sqrt(gx**2 + gy**2)`` of ``image (H, W)``, Sobel kernels with padding 1: ``(H, W)``."""
    gx = filter2d(image, SOBEL_X, 1)
    gy = filter2d(image, SOBEL_Y, 1)
    return np.sqrt(gx * gx + gy * gy)


def normalize_filters(w: np.ndarray) -> np.ndarray:
    """Each filter of ``w (F, C, HH, WW)`` scaled on its own to ``[0, 1]`` for display.

    ``(w_f - min(w_f)) / (max(w_f) - min(w_f))`` over all ``C * HH * WW`` values of
    filter ``f``; a constant filter has no contrast to show and becomes 0.5 (grey).
    """
    w = np.asarray(w, dtype=np.float64)
    low = w.min(axis=(1, 2, 3), keepdims=True)
    span = w.max(axis=(1, 2, 3), keepdims=True) - low
    flat = span == 0
    scaled = (w - low) / np.where(flat, 1.0, span)
    return np.where(flat, 0.5, scaled)
