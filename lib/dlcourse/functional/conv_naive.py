"""2-D convolution written with plain loops, to read rather than to run.

Each output value is one dot product between a filter and the input window under it::

    out[n, f, i, j] = b[f] + sum over c, u, v of
        w[f, c, u, v] * x_padded[n, g*Cg + c, i*stride + u*dilation, j*stride + v*dilation]

where ``g = f // (F // groups)`` is the group filter ``f`` belongs to and ``Cg = C // groups``
the number of input maps each filter sees. Like every deep-learning library this is
*cross-correlation*: the filter is not flipped. The backward pass runs the same loops
and sends each upstream gradient back along the products it came from: to the weights
(scaled by the input window) and to the input window (scaled by the weights). Summed
over all windows, the second is a convolution of ``dout`` with the flipped filter.

:mod:`dlcourse.functional.conv_fast` computes the same thing with matrix products; both
share :func:`check_conv_inputs` and the cache format, so either backward accepts either
forward's cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_shape
from dlcourse.convarith import as_pair, conv_output_shape

__all__ = [
    "ConvCache",
    "ConvGeometry",
    "check_conv_inputs",
    "conv_backward_naive",
    "conv_forward_naive",
]

IntPair = int | Sequence[int]


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes and hyperparameters of one convolution, validated.

    ``x_shape`` is (N, C, H, W), ``w_shape`` (F, C // groups, HH, WW) and ``out_shape``
    (N, F, H_out, W_out); ``stride``, ``pad`` and ``dilation`` are (height, width) pairs.
    """

    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    out_shape: tuple[int, int, int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    groups: int


class ConvCache(NamedTuple):
    """What the backward pass needs: the input (N, C, H, W), the weights and the geometry."""

    x: np.ndarray
    w: np.ndarray
    geometry: ConvGeometry


def check_conv_inputs(
    x: object,
    w: object,
    b: object,
    stride: IntPair = 1,
    pad: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    *,
    exact: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ConvGeometry]:
    """Validate a convolution's arguments; return ``x, w, b`` in one dtype and the geometry.

    The common dtype is float32 only when all three arrays are float32. Raises
    ``ValueError`` for wrong shapes, channel counts that ``groups`` does not divide, and
    stride/padding/dilation combinations without a single window. Windows that do not
    tile the input drop the leftover rows and columns, as PyTorch does; ``exact=True``
    refuses them instead (the message shows the output-size arithmetic, see
    :func:`dlcourse.convarith.conv_output_size`).
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    check_ndim(w, 4, "w", "(F, C // groups, HH, WW)")
    if isinstance(groups, bool) or not isinstance(groups, int | np.integer) or groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups!r}")
    groups = int(groups)
    n, c, h, width = x.shape
    f, cg, kh, kw = w.shape
    if c % groups:
        raise ValueError(f"groups={groups} must divide the C={c} input channels of x {x.shape}")
    if f % groups:
        raise ValueError(f"groups={groups} must divide the F={f} filters of w {w.shape}")
    if cg != c // groups:
        raise ValueError(
            f"w must have shape (F, C // groups, HH, WW) = ({f}, {c // groups}, {kh}, {kw}) "
            f"for x with C={c} channels and groups={groups}, got {w.shape}"
        )
    check_shape(b, (f,), "b", "(F,), one bias per filter")
    strides = as_pair(stride, "stride")
    pads = as_pair(pad, "pad", minimum=0)
    dilations = as_pair(dilation, "dilation")
    out_h, out_w = conv_output_shape((h, width), (kh, kw), strides, pads, dilations, exact=exact)
    dtype = np.result_type(x, w, b)
    geometry = ConvGeometry(
        x_shape=(n, c, h, width),
        w_shape=(f, cg, kh, kw),
        out_shape=(n, f, out_h, out_w),
        stride=strides,
        pad=pads,
        dilation=dilations,
        groups=groups,
    )
    cast = [a.astype(dtype, copy=False) for a in (x, w, b)]
    return cast[0], cast[1], cast[2], geometry


def _pad(x: np.ndarray, pad: tuple[int, int]) -> np.ndarray:
    """Zero-pad the two spatial axes of (N, C, H, W) to (N, C, H + 2*ph, W + 2*pw)."""
    ph, pw = pad
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv_forward_naive(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: IntPair = 1,
    pad: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    *,
    exact: bool = False,
) -> tuple[np.ndarray, ConvCache]:
    """Convolution forward pass, one output value at a time.

    Parameters
    ----------
    x : (N, C, H, W) input maps
    w : (F, C // groups, HH, WW) filters
    b : (F,) biases
    stride, pad, dilation : int or (height, width) pair; ``pad`` zeros are added on
        each side
    groups : input channels and filters are split into this many groups, each filter
        seeing only its group's ``C // groups`` channels (``groups == C`` is depthwise)
    exact : False (default) accepts windows that do not tile the padded input and
        ignores the leftover bottom rows / right columns, as PyTorch does (ResNet's
        stride-2 layers on even-sized maps); True refuses them with the arithmetic.

    Returns
    -------
    out : (N, F, H_out, W_out), sizes from :func:`dlcourse.convarith.conv_output_size`
    cache : :class:`ConvCache` for :func:`conv_backward_naive` (or the fast backward)
    """
    x, w, b, geo = check_conv_inputs(x, w, b, stride, pad, dilation, groups, exact=exact)
    n_images, _, _, _ = geo.x_shape
    n_filters, c_per_group, kh, kw = geo.w_shape
    _, _, out_h, out_w = geo.out_shape
    sh, sw = geo.stride
    dil_h, dil_w = geo.dilation
    filters_per_group = n_filters // geo.groups
    # A dilated window spans dil_h*(kh - 1) + 1 rows of which it reads every dil_h-th.
    span_h, span_w = dil_h * (kh - 1) + 1, dil_w * (kw - 1) + 1

    xp = _pad(x, geo.pad)
    out = np.empty(geo.out_shape, dtype=x.dtype)
    for n in range(n_images):
        for f in range(n_filters):
            group = f // filters_per_group
            channels = slice(group * c_per_group, (group + 1) * c_per_group)
            for i in range(out_h):
                rows = slice(i * sh, i * sh + span_h, dil_h)
                for j in range(out_w):
                    cols = slice(j * sw, j * sw + span_w, dil_w)
                    window = xp[n, channels, rows, cols]  # (C // groups, HH, WW)
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, ConvCache(x, w, geo)


def conv_backward_naive(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution backward pass with the forward's loops.

    Parameters
    ----------
    dout : (N, F, H_out, W_out) upstream gradient
    cache : from :func:`conv_forward_naive` or
        :func:`dlcourse.functional.conv_fast.conv_forward_fast`

    Returns
    -------
    dx : (N, C, H, W)
    dw : (F, C // groups, HH, WW)
    db : (F,)
    """
    x, w, geo = cache
    dout = as_float_array(dout, "dout").astype(x.dtype, copy=False)
    check_shape(dout, geo.out_shape, "dout", "(N, F, H_out, W_out), the shape of out")
    n_images, _, height, width = geo.x_shape
    n_filters, c_per_group, kh, kw = geo.w_shape
    _, _, out_h, out_w = geo.out_shape
    sh, sw = geo.stride
    ph, pw = geo.pad
    dil_h, dil_w = geo.dilation
    filters_per_group = n_filters // geo.groups
    span_h, span_w = dil_h * (kh - 1) + 1, dil_w * (kw - 1) + 1

    xp = _pad(x, geo.pad)
    # Gradients land in the padded frame first; the border part belongs to the zeros that
    # padding invented and is cut away at the end.
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    # Every output position adds b[f], so db[f] collects dout over all of them.
    db = dout.sum(axis=(0, 2, 3))
    for n in range(n_images):
        for f in range(n_filters):
            group = f // filters_per_group
            channels = slice(group * c_per_group, (group + 1) * c_per_group)
            for i in range(out_h):
                rows = slice(i * sh, i * sh + span_h, dil_h)
                for j in range(out_w):
                    cols = slice(j * sw, j * sw + span_w, dil_w)
                    grad = dout[n, f, i, j]
                    # out[n, f, i, j] = sum(window * w[f]): each factor's gradient is
                    # the other factor times the upstream gradient.
                    dw[f] += grad * xp[n, channels, rows, cols]
                    dxp[n, channels, rows, cols] += grad * w[f]
    dx = dxp[:, :, ph : ph + height, pw : pw + width]
    return np.ascontiguousarray(dx), dw, db
