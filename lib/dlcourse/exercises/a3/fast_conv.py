"""``fast_conv.ipynb``: im2col, col2im and the convolution as one matrix product.

``im2col`` and ``col2im`` are written here in the notebook's layout (rows ordered
``(c, u, v)``, columns ordered ``(n, i, j)``), one strided view per kernel tap; the
convolution itself is :mod:`dlcourse.functional.conv_fast`, the im2col algorithm that
``benchmarks/bench_conv.py`` times (it adds chunking and a contiguous "wide" layout for
speed, which do not change the numbers). As in ``convolution.ipynb``, hyperparameters
arrive as 0-d integer arrays and the backward pass is graded through the test cell's
composition ``conv_fast_gradients``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dlcourse.convarith import conv_output_size
from dlcourse.functional import conv_fast
from dlcourse.functional.conv_naive import ConvCache

IntLike = int | np.ndarray

__all__ = [
    "col2im",
    "conv_backward_fast",
    "conv_fast_gradients",
    "conv_forward_fast",
    "im2col",
]


def _taps(
    shape: tuple[int, int, int, int],
    kernel_h: int,
    kernel_w: int,
    stride: int,
    pad: int,
    dilation: int,
) -> Iterator[tuple[int, int, slice, slice]]:
    """For every tap ``(u, v)``, the rows and columns of the padded input it reads."""
    _, _, h, w = shape
    out_h = conv_output_size(h, kernel_h, stride, pad, dilation)
    out_w = conv_output_size(w, kernel_w, stride, pad, dilation)
    for u in range(kernel_h):
        rows = slice(u * dilation, u * dilation + stride * (out_h - 1) + 1, stride)
        for v in range(kernel_w):
            cols = slice(v * dilation, v * dilation + stride * (out_w - 1) + 1, stride)
            yield u, v, rows, cols


def im2col(
    x: np.ndarray,
    kernel_h: IntLike,
    kernel_w: IntLike,
    stride: IntLike,
    pad: IntLike,
    dilation: IntLike,
) -> np.ndarray:
    """Every window of ``x (N, C, H, W)`` as a column: ``(C*HH*WW, N*H_out*W_out)``.

    Row ``(c*HH + u)*WW + v`` holds tap ``(u, v)`` of channel ``c``; column
    ``(n*H_out + i)*W_out + j`` is the window of output position ``(i, j)`` of image ``n``
    (the order of ``torch.nn.functional.unfold``, with the batch folded into the columns).
    """
    kh, kw, s, p, d = (int(a) for a in (kernel_h, kernel_w, stride, pad, dilation))
    n, c, h, w = x.shape
    out_h = conv_output_size(h, kh, s, p, d)
    out_w = conv_output_size(w, kw, s, p, d)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.empty((c, kh, kw, n, out_h, out_w), dtype=x.dtype)
    for u, v, rows, columns in _taps(x.shape, kh, kw, s, p, d):
        cols[:, u, v] = xp[:, :, rows, columns].transpose(1, 0, 2, 3)  # (C, N, H_out, W_out)
    return cols.reshape(c * kh * kw, n * out_h * out_w)


def col2im(
    cols: np.ndarray,
    x_shape: np.ndarray,
    kernel_h: IntLike,
    kernel_w: IntLike,
    stride: IntLike,
    pad: IntLike,
    dilation: IntLike,
) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every column entry back where it was copied from.

    ``cols`` is ``(C*HH*WW, N*H_out*W_out)``; returns ``(N, C, H, W)`` of ``x_shape``. A
    pixel inside several windows receives the sum of their entries, which is why this is
    the backward pass of im2col.
    """
    kh, kw, s, p, d = (int(a) for a in (kernel_h, kernel_w, stride, pad, dilation))
    n, c, h, w = (int(a) for a in x_shape)
    out_h = conv_output_size(h, kh, s, p, d)
    out_w = conv_output_size(w, kw, s, p, d)
    cols6 = np.asarray(cols).reshape(c, kh, kw, n, out_h, out_w)
    xp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=cols6.dtype)
    for u, v, rows, columns in _taps((n, c, h, w), kh, kw, s, p, d):
        xp[:, :, rows, columns] += cols6[:, u, v].transpose(1, 0, 2, 3)
    return xp[:, :, p : p + h, p : p + w].copy()


def conv_forward_fast(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: IntLike = 1,
    pad: IntLike = 0,
    dilation: IntLike = 1,
    groups: IntLike = 1,
) -> tuple[np.ndarray, ConvCache]:
    """im2col convolution: ``x (N, C, H, W)``, ``w (F, C // groups, HH, WW)``, ``b (F,)``
    -> ``(out (N, F, H_out, W_out), cache)``."""
    return conv_fast.conv_forward_fast(x, w, b, int(stride), int(pad), int(dilation), int(groups))


def conv_backward_fast(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` of shapes (N, C, H, W), (F, C // groups, HH, WW), (F,)."""
    return conv_fast.conv_backward_fast(dout, cache)


def conv_fast_gradients(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    dout: np.ndarray,
    stride: IntLike,
    pad: IntLike,
    dilation: IntLike,
    groups: IntLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backward test cell's function: the fast forward, then ``(dx, dw, db)``."""
    _, cache = conv_forward_fast(x, w, b, stride, pad, dilation, groups)
    return conv_backward_fast(dout, cache)
