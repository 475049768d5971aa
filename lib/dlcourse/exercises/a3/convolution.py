"""``convolution.ipynb``: convolution arithmetic, the convolution matrix, naive forward/backward.

Thin calls into :mod:`dlcourse.convarith` and :mod:`dlcourse.functional.conv_naive`. The
notebook's forms differ in small ways: hyperparameters arrive as 0-d integer arrays (so
they are converted to ``int`` here), a receptive field takes per-layer arrays of kernel
sizes, strides and dilations instead of a list of tuples, and the backward pass is graded
through ``conv_gradients``, the test cell's composition of the forward and the backward
(the grader names one gradient per input of the function it calls, and the stride,
padding, dilation and groups have none).
"""

from __future__ import annotations

import numpy as np

from dlcourse import convarith
from dlcourse.functional import conv_naive

IntLike = int | np.ndarray

__all__ = [
    "conv_as_matrix",
    "conv_backward_naive",
    "conv_forward_naive",
    "conv_gradients",
    "conv_macs",
    "conv_output_size",
    "conv_param_count",
    "receptive_field",
]


def conv_output_size(
    size: IntLike, kernel: IntLike, stride: IntLike, pad: IntLike, dilation: IntLike
) -> int:
    """Output positions along one axis: ``(size + 2*pad - dilation*(kernel-1) - 1)/stride + 1``."""
    return convarith.conv_output_size(int(size), int(kernel), int(stride), int(pad), int(dilation))


def conv_param_count(
    in_channels: IntLike, out_channels: IntLike, kernel: IntLike, groups: IntLike
) -> int:
    """Weights and biases of a conv layer with square ``kernel`` x ``kernel`` filters."""
    return convarith.conv_param_count(int(in_channels), int(out_channels), int(kernel), int(groups))


def receptive_field(kernels: np.ndarray, strides: np.ndarray, dilations: np.ndarray) -> int:
    """Side of the input region one top unit sees; ``kernels, strides, dilations`` are (L,)."""
    layers = [(int(k), int(s), int(d)) for k, s, d in zip(kernels, strides, dilations, strict=True)]
    return convarith.receptive_field(layers)


def conv_macs(
    in_channels: IntLike, out_channels: IntLike, kernel: IntLike, out_size: IntLike, groups: IntLike
) -> int:
    """Multiply-adds of one conv layer on one image with an ``out_size`` x ``out_size`` output."""
    return convarith.conv_macs(
        int(in_channels), int(out_channels), int(kernel), int(out_size), int(groups)
    )


def conv_as_matrix(
    w: np.ndarray, height: IntLike, width: IntLike, stride: IntLike, pad: IntLike
) -> np.ndarray:
    """The (H_out*W_out, H*W) matrix ``M`` with ``M @ x.ravel() == conv(x, w).ravel()``.

    ``w`` is one (HH, WW) filter on a one-channel (height, width) image. Column ``k`` of
    ``M`` is the convolution of the ``k``-th unit image (a single 1 at pixel ``k``), since
    the convolution is linear; so the loops of :mod:`dlcourse.functional.conv_naive` build
    it, one basis image per column.
    """
    h, width_ = int(height), int(width)
    basis = np.eye(h * width_).reshape(h * width_, 1, h, width_)  # (H*W, 1, H, W)
    columns, _ = conv_naive.conv_forward_naive(
        basis, np.asarray(w, dtype=np.float64)[None, None], np.zeros(1), int(stride), int(pad)
    )  # (H*W, 1, H_out, W_out): the image of each basis vector
    return columns.reshape(h * width_, -1).T


def conv_forward_naive(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: IntLike = 1,
    pad: IntLike = 0,
    dilation: IntLike = 1,
    groups: IntLike = 1,
) -> tuple[np.ndarray, conv_naive.ConvCache]:
    """Convolution forward: ``x (N, C, H, W)``, ``w (F, C // groups, HH, WW)``, ``b (F,)``
    -> ``(out (N, F, H_out, W_out), cache)``."""
    return conv_naive.conv_forward_naive(x, w, b, int(stride), int(pad), int(dilation), int(groups))


def conv_backward_naive(
    dout: np.ndarray, cache: conv_naive.ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` of shapes (N, C, H, W), (F, C // groups, HH, WW), (F,)."""
    return conv_naive.conv_backward_naive(dout, cache)


def conv_gradients(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    dout: np.ndarray,
    stride: IntLike,
    pad: IntLike,
    dilation: IntLike,
    groups: IntLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backward test cell's function: the forward on ``x, w, b``, then ``(dx, dw, db)``."""
    _, cache = conv_forward_naive(x, w, b, stride, pad, dilation, groups)
    return conv_backward_naive(dout, cache)
