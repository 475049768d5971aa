"""Max and average pooling over (N, C, H, W) maps.

A ``pool_h x pool_w`` window slides over each map with the given ``stride``; every map
is pooled on its own, so the channel count never changes and there are no parameters.
The output size follows the same arithmetic as a convolution
(:func:`dlcourse.convarith.conv_output_size`, rounded down unless ``exact=True``); the
usual 2x2 window with stride 2 halves height and width.

Max pooling passes each upstream gradient to the single input that was the maximum of
its window (the "argmax"); the other inputs of the window get nothing. **Tie rule**: when
several inputs share the maximum, the first one in row-major order within the window
(top-most, then left-most) is the argmax, as in PyTorch on the CPU. Padding for max
pooling is ``-inf``, so it never wins. Inputs are assumed to be free of NaN.

Average pooling passes ``dout / (pool_h * pool_w)`` to every input of the window.
Padded zeros count towards the average (PyTorch's default ``count_include_pad=True``).

Implementation: a window of ``pool_h * pool_w`` offsets is handled as that many strided
views of the input, one per offset ``(u, v)``, each of shape (N, C, H_out, W_out). When
the windows tile the input exactly (stride == pool size, no padding), average pooling
uses the reshape ``(N, C, H_out, pool_h, W_out, pool_w)`` and one ``mean`` instead (the
offset views are then exactly the slices ``[:, :, :, u, :, v]`` of that reshape). Max
pooling uses the offset views in every case: comparing view by view, with the running
argmax updated by arithmetic rather than masked assignment, measured faster than
``max``/``argmax`` reductions over the reshaped axes. Its cache stores the argmax as a
flat index into the padded input, so the backward pass is a single scatter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_shape
from dlcourse.convarith import as_pair, conv_output_shape

__all__ = [
    "MaxPoolCache",
    "PoolGeometry",
    "avg_pool_backward",
    "avg_pool_forward",
    "max_pool_backward",
    "max_pool_forward",
]

IntPair = int | Sequence[int]


@dataclass(frozen=True)
class PoolGeometry:
    """Validated pooling sizes: ``x_shape`` (N, C, H, W), ``out_shape`` (N, C, H_out,
    W_out); ``pool``, ``stride`` and ``pad`` are (height, width) pairs."""

    x_shape: tuple[int, int, int, int]
    out_shape: tuple[int, int, int, int]
    pool: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]

    @property
    def padded_hw(self) -> tuple[int, int]:
        """(H + 2*ph, W + 2*pw)."""
        return self.x_shape[2] + 2 * self.pad[0], self.x_shape[3] + 2 * self.pad[1]

    @property
    def overlapping(self) -> bool:
        """Whether an input can fall into more than one window (stride < pool)."""
        return self.stride[0] < self.pool[0] or self.stride[1] < self.pool[1]

    @property
    def tiles_exactly(self) -> bool:
        """Windows cover the whole input side by side: no gap, overlap, padding or rest."""
        _, _, h, width = self.x_shape
        _, _, out_h, out_w = self.out_shape
        return (
            self.stride == self.pool
            and self.pad == (0, 0)
            and (out_h * self.pool[0], out_w * self.pool[1]) == (h, width)
        )


class MaxPoolCache(NamedTuple):
    """Max pooling cache: for every output, the flat index of its argmax in the padded
    input (shape (N, C, H_out, W_out), dtype intp), plus the geometry and dtype."""

    argmax: np.ndarray
    geometry: PoolGeometry
    dtype: np.dtype


def _check_pool(
    x: object, pool_h: int, pool_w: int, stride: IntPair, pad: IntPair, exact: bool
) -> tuple[np.ndarray, PoolGeometry]:
    """Validate pooling arguments; return x as a float array and the geometry."""
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    pool = as_pair((pool_h, pool_w), "pool size (pool_h, pool_w)")
    strides = as_pair(stride, "stride")
    pads = as_pair(pad, "pad", minimum=0)
    if pads[0] > pool[0] // 2 or pads[1] > pool[1] // 2:
        raise ValueError(
            f"pad={pads} must be at most half the pool size {pool} in each dimension, so "
            f"that every window holds at least one input value"
        )
    n, c, h, width = x.shape
    out_h, out_w = conv_output_shape((h, width), pool, strides, pads, exact=exact)
    geometry = PoolGeometry((n, c, h, width), (n, c, out_h, out_w), pool, strides, pads)
    return x, geometry


def _pad(x: np.ndarray, geo: PoolGeometry, value: float) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw) filled with ``value``; x if no pad."""
    ph, pw = geo.pad
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _offset_view(xp: np.ndarray, geo: PoolGeometry, u: int, v: int) -> np.ndarray:
    """Strided view (N, C, H_out, W_out) of element (u, v) of every window of ``xp``."""
    _, _, out_h, out_w = geo.out_shape
    sh, sw = geo.stride
    return xp[:, :, u : u + sh * (out_h - 1) + 1 : sh, v : v + sw * (out_w - 1) + 1 : sw]


def _check_dout(dout: object, geo: PoolGeometry, dtype: np.dtype) -> np.ndarray:
    """dout as an array of the layer's dtype with the shape of the output."""
    dout = as_float_array(dout, "dout").astype(dtype, copy=False)
    check_shape(dout, geo.out_shape, "dout", "(N, C, H_out, W_out), the shape of out")
    return dout


def max_pool_forward(
    x: np.ndarray,
    pool_h: int = 2,
    pool_w: int = 2,
    stride: IntPair = 2,
    pad: IntPair = 0,
    *,
    exact: bool = False,
) -> tuple[np.ndarray, MaxPoolCache]:
    """Maximum of each window.

    Parameters
    ----------
    x : (N, C, H, W)
    pool_h, pool_w : window size
    stride, pad : int or (height, width) pair; ``pad`` (at most half the window) adds
        ``-inf`` on each side
    exact : True refuses windows that do not tile the input; by default the leftover
        rows / columns are ignored (PyTorch's rounding down, e.g. 2x2 pooling of a 7x7
        map gives 3x3)

    Returns
    -------
    out : (N, C, H_out, W_out)
    cache : :class:`MaxPoolCache` holding the argmax of every window (tie rule in the
        module docstring)
    """
    x, geo = _check_pool(x, pool_h, pool_w, stride, pad, exact)
    xp = _pad(x, geo, -np.inf)
    ph, pw = geo.pool
    hp, wp = geo.padded_hw
    # Visit the window offsets in row-major order and move the winner only on a strict
    # improvement: that is what makes the first maximum win ties. The winner is tracked
    # as its offset u*Wp + v inside the window, in the smallest integer type that holds
    # it (less memory traffic per pass).
    largest = (ph - 1) * wp + pw - 1
    small = np.int16 if largest <= np.iinfo(np.int16).max else np.int32
    out = np.array(_offset_view(xp, geo, 0, 0))
    best = np.zeros(out.shape, dtype=small)
    better = np.empty(out.shape, dtype=bool)
    change = np.empty(out.shape, dtype=small)
    for u in range(ph):
        for v in range(pw):
            if u == v == 0:
                continue
            candidate = _offset_view(xp, geo, u, v)
            np.greater(candidate, out, out=better)
            np.maximum(out, candidate, out=out)
            # best[better] = u*wp + v, as arithmetic: masked assignment is several times
            # slower than these three vectorised passes.
            np.subtract(small(u * wp + v), best, out=change)
            change *= better
            best += change
    # Flat index of the argmax in the padded input: the window's top-left corner plus
    # the winning offset. The corner index is a sum of small broadcast terms.
    n, c, out_h, out_w = geo.out_shape
    sh, sw = geo.stride
    plane = np.arange(n * c, dtype=np.intp).reshape(n, c, 1, 1) * (hp * wp)
    row = np.arange(out_h, dtype=np.intp).reshape(out_h, 1) * (sh * wp)
    col = np.arange(out_w, dtype=np.intp) * sw
    argmax = np.add(best, row + col, dtype=np.intp)
    argmax += plane
    return out, MaxPoolCache(argmax, geo, x.dtype)


def max_pool_backward(dout: np.ndarray, cache: MaxPoolCache) -> np.ndarray:
    """Route each upstream gradient to its window's argmax.

    Parameters
    ----------
    dout : (N, C, H_out, W_out)
    cache : from :func:`max_pool_forward`

    Returns
    -------
    dx : (N, C, H, W); zero except at argmax positions (which sum the gradients of all
        windows they won when windows overlap)
    """
    argmax, geo, dtype = cache
    dout = _check_dout(dout, geo, dtype)
    n, c, h, width = geo.x_shape
    hp, wp = geo.padded_hw
    ph, pw = geo.pad
    if geo.overlapping:
        # An input can win several windows, so gradients must be summed per position;
        # bincount does that in one pass (in float64, cast back below).
        flat = np.bincount(argmax.ravel(), weights=dout.ravel(), minlength=n * c * hp * wp)
        dxp = flat.astype(dtype, copy=False).reshape(n, c, hp, wp)
    else:
        # Each input wins at most one window: a plain scatter assignment suffices.
        dxp = np.zeros((n, c, hp, wp), dtype=dtype)
        dxp.reshape(-1)[argmax.ravel()] = dout.ravel()
    return np.ascontiguousarray(dxp[:, :, ph : ph + h, pw : pw + width])


def avg_pool_forward(
    x: np.ndarray,
    pool_h: int = 2,
    pool_w: int = 2,
    stride: IntPair = 2,
    pad: IntPair = 0,
    *,
    exact: bool = False,
) -> tuple[np.ndarray, tuple[PoolGeometry, np.dtype]]:
    """Mean of each window (padded zeros included in the count).

    Parameters
    ----------
    x : (N, C, H, W)
    pool_h, pool_w : window size
    stride, pad : int or (height, width) pair; ``pad`` is at most half the window
    exact : True refuses windows that do not tile the input (default: round down, as
        PyTorch does)

    Returns
    -------
    out : (N, C, H_out, W_out)
    cache : ``(geometry, dtype)`` for :func:`avg_pool_backward`; the input itself is not
        needed, as the gradient of a mean does not depend on the values averaged
    """
    x, geo = _check_pool(x, pool_h, pool_w, stride, pad, exact)
    n, c, out_h, out_w = geo.out_shape
    ph, pw = geo.pool
    if geo.tiles_exactly:
        out = x.reshape(n, c, out_h, ph, out_w, pw).mean(axis=(3, 5))
    else:
        xp = _pad(x, geo, 0.0)
        out = np.array(_offset_view(xp, geo, 0, 0))
        for u in range(ph):
            for v in range(pw):
                if u or v:
                    out += _offset_view(xp, geo, u, v)
        out /= ph * pw
    return out, (geo, x.dtype)


def avg_pool_backward(dout: np.ndarray, cache: tuple[PoolGeometry, np.dtype]) -> np.ndarray:
    """Spread each upstream gradient evenly over its window.

    Parameters
    ----------
    dout : (N, C, H_out, W_out)
    cache : from :func:`avg_pool_forward`

    Returns
    -------
    dx : (N, C, H, W)
    """
    geo, dtype = cache
    dout = _check_dout(dout, geo, dtype)
    n, c, h, width = geo.x_shape
    _, _, out_h, out_w = geo.out_shape
    ph, pw = geo.pool
    share = dout / (ph * pw)  # every input of a window receives this much
    if geo.tiles_exactly:
        # Broadcast each share over its pool_h x pool_w block of the input.
        blocks = np.broadcast_to(share[:, :, :, None, :, None], (n, c, out_h, ph, out_w, pw))
        return blocks.reshape(n, c, h, width)
    hp, wp = geo.padded_hw
    dxp = np.zeros((n, c, hp, wp), dtype=dtype)
    for u in range(ph):
        for v in range(pw):
            _offset_view(dxp, geo, u, v)[...] += share
    pad_h, pad_w = geo.pad
    return np.ascontiguousarray(dxp[:, :, pad_h : pad_h + h, pad_w : pad_w + width])
