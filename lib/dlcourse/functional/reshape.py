"""Layers that only rearrange or average activations: flatten and global average pooling.

Both are the usual bridge between convolutional feature maps (N, C, H, W) and a fully
connected classifier (N, D). Outputs and gradients keep the input's dtype.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_shape


def flatten_forward(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Reshape x of shape (N, d1, ..., dk) to (N, d1 * ... * dk); cache the input shape.

    x: (N, ...), at least one dimension (a bare (N,) becomes (N, 1)). The output is a
    view when NumPy can make one, as ``torch.flatten(x, 1)`` is.
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have shape (N, ...) with at least one dimension, got shape ()")
    # The explicit product (not -1) also handles an empty batch, N = 0.
    return x.reshape(x.shape[0], math.prod(x.shape[1:])), x.shape


def flatten_backward(dout: np.ndarray, cache: tuple[int, ...]) -> np.ndarray:
    """Reshape dout (N, D) back to the input shape (N, d1, ..., dk)."""
    shape = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, (shape[0], math.prod(shape[1:])), "dout", "(N, D) like the output")
    return dout.reshape(shape)


def global_avg_pool_forward(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Average each channel over its whole feature map: (N, C, H, W) -> (N, C).

    Same as average pooling with an H x W window; it has no parameters, so it replaces a
    large fully connected layer at the end of a network. Cache: the input shape.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"x must have shape (N, C, H, W) with H, W >= 1, got {x.shape}")
    return np.mean(x, axis=(2, 3)), x.shape


def global_avg_pool_backward(dout: np.ndarray, cache: tuple[int, ...]) -> np.ndarray:
    """Spread each dout (N, C) entry evenly over its H x W map: dx (N, C, H, W).

    Every input position contributes 1 / (H W) of the mean, so each gets that share.
    """
    n, c, h, w = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, (n, c), "dout", "(N, C) like the output")
    share = dout[:, :, None, None] / (h * w)
    # broadcast_to returns a read-only view; copy so the caller owns a writable array.
    return np.broadcast_to(share, cache).copy()
