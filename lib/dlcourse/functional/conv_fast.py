"""2-D convolution as matrix products (im2col), the way CPU libraries compute it.

Same arguments, results and cache as :mod:`dlcourse.functional.conv_naive`; only the
arithmetic is reorganised so that nearly all of it happens in BLAS matrix products.

Forward: copy every input window into a column of a matrix ``cols`` with one row per
filter tap ``(c, u, v)`` ("im2col"). A filter is a row of ``W = w.reshape(F, -1)``, so
``W @ cols`` evaluates every filter on every window at once. With groups, ``cols`` and
``W`` split into ``groups`` row blocks, and one stacked (batched) product handles them.

Backward: with ``dres``, the upstream gradient arranged like the product ``W @ cols``,

* ``dw = dres @ cols.T``: each weight collects ``dout`` times the inputs it touched;
* ``dcols = W.T @ dres``: the gradient of every copied window entry; "col2im" adds these
  back to the input positions they were copied from (a position inside several
  windows receives several contributions).

im2col is a loop over the ``HH*WW`` kernel offsets ``(u, v)``: the entries that tap
``(u, v)`` reads for all output positions form one strided view of the padded input, and
``cols[:, u, v]`` is a copy of it. col2im is the same loop with ``+=`` in the other
direction, so no ``np.add.at`` is needed.

Performance choices (see ``benchmarks/bench_conv.py``):

* The batch is processed in chunks of images, so that the full ``cols`` (about 150 MB
  for a batch of 64 CIFAR-sized maps with 64 channels) never exists: each chunk's
  ``cols`` (a few MB) is reused and mostly stays in the CPU cache. The backward pass
  rebuilds each chunk's ``cols`` rather than keeping it from the forward pass. Chunks
  are not made smaller than that, though: every matrix product is a point where the
  BLAS threads wait for each other, and on a machine shared with other processes each
  such wait can cost a scheduler time slice.
* With stride 1, output position ``(i, j)`` reads padded input ``(i + u*dil_h, j +
  v*dil_w)``, so along the flattened padded image tap ``(u, v)`` reads a *contiguous*
  run starting at ``u*dil_h*Wp + v*dil_w`` (``Wp`` the padded width) -- provided each
  output row is also ``Wp`` wide. The extra ``Wp - W_out`` columns per row are computed
  and thrown away ("wide" layout); in exchange im2col and col2im move long contiguous
  runs, several times faster than the general strided copy. The general layout is kept
  for stride > 1 and when cols is smaller than the output (``C*HH*WW <= F``, e.g. an
  RGB input layer), where the extra columns would cost more than the copy saves.
* Depthwise convolution (``groups == C``) has only ``HH*WW`` numbers per dot product,
  too few for a matrix product to pay off; it instead sums, chunk by chunk, the
  ``HH*WW`` tap views of the input, each scaled by one weight per channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._validate import as_float_array, check_shape
from dlcourse.functional.conv_naive import ConvCache, ConvGeometry, check_conv_inputs

__all__ = ["conv_backward_fast", "conv_forward_fast"]

IntPair = int | Sequence[int]

# A chunk holds enough images for at least this many columns of cols, so that the
# matrix products are few and large enough to run at full BLAS speed on two threads ...
_CHUNK_COLUMNS = 16384
# ... unless cols would then exceed this many bytes (then it no longer fits the cache).
_CHUNK_BYTES = 8 * 1024 * 1024


class _Layout:
    """Where a chunk's padded input, cols and products live, for one convolution.

    Padded chunks are stored channels first, ``(C, B, Hb, Wp)``, so that each tap's view
    lines up with the rows of cols, ordered ``(c, u, v)``. With stride 1 and more taps
    ``C*HH*WW`` than filters ``F`` the layout is "wide": each output row holds
    ``row_w = Wp`` columns, of which the last ``Wp - W_out`` are thrown away, and
    ``Hb = H + 2*ph + 1``, the spare zero row keeping the last tap's run inside its own
    image plane. Otherwise ``row_w = W_out`` and ``Hb = H + 2*ph``.
    Either way the product is one matrix product per chunk (and group),
    ``(F, K) @ (K, B*H_out*row_w)``, whose result is then cropped and reordered into
    ``out``.
    """

    def __init__(self, geo: ConvGeometry, itemsize: int) -> None:
        n, c, h, width = geo.x_shape
        f, _, kh, kw = geo.w_shape
        _, _, self.out_h, self.out_w = geo.out_shape
        ph, pw = geo.pad
        self.geo = geo
        self.taps = c * kh * kw  # rows of cols
        # The wide layout speeds up im2col at the price of extra product columns; when
        # cols is smaller than the output (taps <= filters) that trade no longer pays.
        self.wide = geo.stride == (1, 1) and self.taps > f
        self.padded_w = width + 2 * pw
        self.padded_h = h + 2 * ph + (1 if self.wide else 0)
        self.row_w = self.padded_w if self.wide else self.out_w
        self.image_columns = self.out_h * self.row_w  # columns of cols per image
        by_columns = -(-_CHUNK_COLUMNS // self.image_columns)  # ceiling division
        by_bytes = _CHUNK_BYTES // (self.taps * self.image_columns * itemsize)
        self.chunk = max(1, min(n, by_columns, by_bytes))

    def padded_buffer(self, dtype: np.dtype) -> np.ndarray:
        """Zeroed (C, chunk, Hb, Wp) buffer; only the interior is ever rewritten."""
        c = self.geo.x_shape[1]
        return np.zeros((c, self.chunk, self.padded_h, self.padded_w), dtype=dtype)

    def cols_buffer(self, dtype: np.dtype) -> np.ndarray:
        """Flat buffer large enough for one chunk's cols."""
        return np.empty(self.taps * self.chunk * self.image_columns, dtype=dtype)

    def cols(self, buffer: np.ndarray, m: int) -> np.ndarray:
        """View (C, HH, WW, m, H_out, row_w) of a cols buffer for a chunk of m images."""
        _, c, _, _ = self.geo.x_shape
        _, _, kh, kw = self.geo.w_shape
        return buffer[: self.taps * m * self.image_columns].reshape(
            c, kh, kw, m, self.out_h, self.row_w
        )

    def interior(self, padded: np.ndarray) -> np.ndarray:
        """The (C, m, H, W) part of a padded chunk that holds the input itself."""
        _, _, h, width = self.geo.x_shape
        ph, pw = self.geo.pad
        return padded[:, :, ph : ph + h, pw : pw + width]

    def tap(self, padded: np.ndarray, u: int, v: int) -> np.ndarray:
        """View (C, m, H_out, row_w) of what kernel tap (u, v) reads at each output position."""
        dil_h, dil_w = self.geo.dilation
        c, m, hb, wp = padded.shape
        if self.wide:
            # Contiguous run along each flattened image plane; see the module docstring.
            # Both reshapes only merge or split contiguous axes, so they return views
            # (col2im writes through them).
            start = u * dil_h * wp + v * dil_w
            flat = padded.reshape(c, m, hb * wp)
            return flat[:, :, start : start + self.out_h * wp].reshape(c, m, self.out_h, wp)
        sh, sw = self.geo.stride
        top, left = u * dil_h, v * dil_w
        return padded[
            :,
            :,
            top : top + sh * (self.out_h - 1) + 1 : sh,
            left : left + sw * (self.out_w - 1) + 1 : sw,
        ]

    def im2col(self, padded: np.ndarray, cols: np.ndarray) -> None:
        """Fill cols (C, HH, WW, m, H_out, row_w) from a padded chunk (C, m, Hb, Wp)."""
        _, kh, kw, _, _, _ = cols.shape
        for u in range(kh):
            for v in range(kw):
                np.copyto(cols[:, u, v], self.tap(padded, u, v))

    def col2im(self, dcols: np.ndarray, dpadded: np.ndarray) -> None:
        """Add dcols back where im2col copied it from; dpadded must start at zero."""
        _, kh, kw, _, _, _ = dcols.shape
        for u in range(kh):
            for v in range(kw):
                # tap() returns a view, so += writes into dpadded.
                self.tap(dpadded, u, v)[...] += dcols[:, u, v]


def conv_forward_fast(
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
    """Vectorised convolution forward pass (im2col + matrix product).

    Parameters
    ----------
    x : (N, C, H, W) input maps
    w : (F, C // groups, HH, WW) filters
    b : (F,) biases
    stride, pad, dilation : int or (height, width) pair
    groups : number of channel groups; ``groups == C`` (depthwise) has its own code path
    exact : True refuses windows that do not tile the padded input; by default they are
        rounded down as in PyTorch, see :func:`dlcourse.functional.conv_naive.conv_forward_naive`

    Returns
    -------
    out : (N, F, H_out, W_out), equal to :func:`conv_forward_naive`'s output
    cache : :class:`ConvCache` for :func:`conv_backward_fast`
    """
    x, w, b, geo = check_conv_inputs(x, w, b, stride, pad, dilation, groups, exact=exact)
    if _is_depthwise(geo):
        out = _depthwise_forward(x, w, b, geo)
    else:
        out = _im2col_forward(x, w, b, geo)
    return out, ConvCache(x, w, geo)


def conv_backward_fast(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised convolution backward pass.

    Parameters
    ----------
    dout : (N, F, H_out, W_out) upstream gradient
    cache : from :func:`conv_forward_fast` (or the naive forward; they share the format)

    Returns
    -------
    dx : (N, C, H, W)
    dw : (F, C // groups, HH, WW)
    db : (F,)
    """
    x, w, geo = cache
    dout = as_float_array(dout, "dout").astype(x.dtype, copy=False)
    check_shape(dout, geo.out_shape, "dout", "(N, F, H_out, W_out), the shape of out")
    # Every output position adds b[f], so db[f] collects dout over all of them.
    db = dout.sum(axis=(0, 2, 3))
    if _is_depthwise(geo):
        dx, dw = _depthwise_backward(dout, x, w, geo)
    elif _full_conv_pad(geo) is not None:
        _, dw = _im2col_backward(dout, x, w, geo, need_dx=False)
        dx = _dx_as_convolution(dout, w, geo)
    else:
        full_dx, dw = _im2col_backward(dout, x, w, geo)
        assert full_dx is not None  # need_dx=True always computes it
        dx = full_dx
    return dx, dw, db


def _full_conv_pad(geo: ConvGeometry) -> tuple[int, int] | None:
    """The padding of the "full" convolution that gives dx, where that route is taken.

    With stride 1, input position i receives dout[i - d*u + p] * w[u] for every tap u:
    a convolution of dout, padded by ``d * (k - 1) - p``, with the flipped kernels. It
    applies when that padding is not negative, and not for strides above 1 (whose
    gradient would need zeros inserted between the rows of dout). It pays only with no
    more filters than channels: it builds F * HH * WW rows per column (dout's im2col)
    where col2im's route builds C * HH * WW. None when col2im's route is taken.
    """
    if geo.stride != (1, 1) or geo.w_shape[0] > geo.x_shape[1]:
        return None
    _, _, kh, kw = geo.w_shape
    (ph, pw), (dh, dw) = geo.pad, geo.dilation
    full = (dh * (kh - 1) - ph, dw * (kw - 1) - pw)
    return full if min(full) >= 0 else None


def _dx_as_convolution(dout: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dx as the forward convolution of dout with flipped, channel-swapped kernels.

    This replaces a matrix product with only F rows of input per column (``w^T @ dout``)
    and the col2im scatter by one forward pass whose product sums over all ``F * HH * WW``
    rows, which BLAS runs far more efficiently.
    """
    f, c_per_group, kh, kw = geo.w_shape
    g = geo.groups
    # Group gi maps its F/g filters back onto its C/g channels: (C, F/g, HH, WW).
    w_back = (
        w.reshape(g, f // g, c_per_group, kh, kw)
        .transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
        .reshape(g * c_per_group, f // g, kh, kw)
    )
    zeros = np.zeros(g * c_per_group, dtype=dout.dtype)
    full_pad = _full_conv_pad(geo)
    assert full_pad is not None  # callers take this route only where the pad exists
    back_geo = check_conv_inputs(dout, w_back, zeros, 1, full_pad, geo.dilation, g)[3]
    return _im2col_forward(dout, np.ascontiguousarray(w_back), zeros, back_geo)


def _is_depthwise(geo: ConvGeometry) -> bool:
    """Each filter sees exactly one input channel (and there is more than one group)."""
    return geo.groups > 1 and geo.w_shape[1] == 1


def _im2col_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Forward pass chunk by chunk: im2col copy, then the matrix product(s)."""
    n, c, _, _ = geo.x_shape
    f, c_per_group, kh, kw = geo.w_shape
    g = geo.groups
    layout = _Layout(geo, x.itemsize)
    out_h, out_w, row_w, chunk = layout.out_h, layout.out_w, layout.row_w, layout.chunk

    # Rows of cols are ordered (c, u, v) with c outermost, so group gi owns one row block
    # and the products of all groups stack along a leading axis of length `groups`.
    w3 = w.reshape(g, f // g, c_per_group * kh * kw)
    bias = b.reshape(1, f, 1, 1)
    padded = layout.padded_buffer(x.dtype)
    cols_buffer = layout.cols_buffer(x.dtype)
    res_buffer = np.empty(f * chunk * layout.image_columns, dtype=x.dtype)
    out = np.empty(geo.out_shape, dtype=x.dtype)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        xp = padded[:, :m]
        np.copyto(layout.interior(xp), x[start:stop].transpose(1, 0, 2, 3))
        cols = layout.cols(cols_buffer, m)
        layout.im2col(xp, cols)
        columns = m * layout.image_columns
        res = res_buffer[: f * columns].reshape(g, f // g, columns)
        np.matmul(w3, cols.reshape(g, -1, columns), out=res)
        # res is (F, m, H_out, row_w): drop the wide layout's spare columns, reorder to
        # (m, F, H_out, W_out) and add the bias, all in one pass.
        res4 = res.reshape(f, m, out_h, row_w)[:, :, :, :out_w]
        np.add(res4.transpose(1, 0, 2, 3), bias, out=out[start:stop])
    return out


def _im2col_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray, geo: ConvGeometry, *, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """dx and dw chunk by chunk: rebuild cols, two matrix products, col2im.

    ``need_dx=False`` computes dw alone (dx is then None).
    """
    n, c, _, _ = geo.x_shape
    f, c_per_group, kh, kw = geo.w_shape
    g = geo.groups
    layout = _Layout(geo, x.itemsize)
    out_h, out_w, row_w, chunk = layout.out_h, layout.out_w, layout.row_w, layout.chunk

    w3 = w.reshape(g, f // g, c_per_group * kh * kw)
    w3_t = w3.transpose(0, 2, 1)  # a view; BLAS reads the transpose without a copy
    dw3 = np.zeros_like(w3)
    padded = layout.padded_buffer(x.dtype)
    cols_buffer = layout.cols_buffer(x.dtype)
    if need_dx:
        dpadded = layout.padded_buffer(x.dtype)
        dcols_buffer = layout.cols_buffer(x.dtype)
    # Spare columns of the wide layout must carry zero gradient; they are never written.
    dres_buffer = np.zeros((f, chunk, out_h, row_w), dtype=x.dtype)
    dx = np.empty(geo.x_shape, dtype=x.dtype) if need_dx else None
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        columns = m * layout.image_columns
        xp = padded[:, :m]
        np.copyto(layout.interior(xp), x[start:stop].transpose(1, 0, 2, 3))
        cols = layout.cols(cols_buffer, m)
        layout.im2col(xp, cols)
        cols3 = cols.reshape(g, -1, columns)

        if m < chunk:  # a shorter last chunk needs its own contiguous dres
            dres_buffer = np.zeros((f, m, out_h, row_w), dtype=x.dtype)
        dres = dres_buffer[:, :m]
        # dout chunk (m, F, H_out, W_out) -> (F, m, H_out, W_out): one column per position.
        np.copyto(dres[:, :, :, :out_w], dout[start:stop].transpose(1, 0, 2, 3))
        dres3 = dres.reshape(g, f // g, columns)

        dw3 += np.matmul(dres3, cols3.transpose(0, 2, 1))
        if dx is None:  # need_dx=False
            continue
        dcols = layout.cols(dcols_buffer, m)
        np.matmul(w3_t, dres3, out=dcols.reshape(g, -1, columns))

        dxp = dpadded[:, :m]
        dxp.fill(0)
        layout.col2im(dcols, dxp)
        # Keep the interior (the padding's gradient belongs to invented zeros), as
        # (m, C, H, W).
        np.copyto(dx[start:stop], layout.interior(dxp).transpose(1, 0, 2, 3))
    return dx, dw3.reshape(geo.w_shape)


def _depthwise_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, geo: ConvGeometry
) -> np.ndarray:
    """Depthwise forward: per chunk, sum over kernel taps of a tap view times one weight
    per (channel, filter).

    With ``mult = F // C`` filters per channel, output channel ``c*mult + k`` is input
    channel ``c`` filtered by ``w[c*mult + k, 0]``. The chunks and tap views are those
    of the im2col path, but no cols matrix is built.
    """
    n, c, _, _ = geo.x_shape
    f, _, kh, kw = geo.w_shape
    mult = f // c
    layout = _Layout(geo, x.itemsize)
    out_h, out_w, row_w, chunk = layout.out_h, layout.out_w, layout.row_w, layout.chunk
    w4 = w.reshape(c, mult, kh, kw)
    bias = b.reshape(1, f, 1, 1)
    padded = layout.padded_buffer(x.dtype)
    acc_buffer = np.empty((c, mult, chunk, out_h, row_w), dtype=x.dtype)
    term_buffer = np.empty_like(acc_buffer)
    out = np.empty(geo.out_shape, dtype=x.dtype)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        xp = padded[:, :m]
        np.copyto(layout.interior(xp), x[start:stop].transpose(1, 0, 2, 3))
        acc, term = acc_buffer[:, :, :m], term_buffer[:, :, :m]
        for u in range(kh):
            for v in range(kw):
                # (C, 1, m, H_out, row_w) * (C, mult, 1, 1, 1) -> (C, mult, m, H_out, row_w)
                product = acc if u == v == 0 else term
                np.multiply(
                    layout.tap(xp, u, v)[:, None], w4[:, :, u, v, None, None, None], out=product
                )
                if product is term:
                    acc += term
        # (C, mult, m, H_out, row_w) is (F, m, H_out, row_w): crop, reorder, add bias.
        cropped = acc.reshape(f, m, out_h, row_w)[:, :, :, :out_w]
        np.add(cropped.transpose(1, 0, 2, 3), bias, out=out[start:stop])
    return out


def _depthwise_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray, geo: ConvGeometry
) -> tuple[np.ndarray, np.ndarray]:
    """Depthwise backward, chunk by chunk and one kernel tap at a time."""
    n, c, _, _ = geo.x_shape
    f, _, kh, kw = geo.w_shape
    mult = f // c
    layout = _Layout(geo, x.itemsize)
    out_h, out_w, row_w, chunk = layout.out_h, layout.out_w, layout.row_w, layout.chunk
    w4 = w.reshape(c, mult, kh, kw)
    dw4 = np.zeros_like(w4)
    padded = layout.padded_buffer(x.dtype)
    dpadded = layout.padded_buffer(x.dtype)
    # Spare columns of the wide layout must carry zero gradient; they are never written.
    dres_buffer = np.zeros((c, mult, chunk, out_h, row_w), dtype=x.dtype)
    dx = np.empty(geo.x_shape, dtype=x.dtype)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        xp = padded[:, :m]
        np.copyto(layout.interior(xp), x[start:stop].transpose(1, 0, 2, 3))
        dres = dres_buffer[:, :, :m]
        target = dres.reshape(f, m, out_h, row_w)[:, :, :, :out_w]
        np.copyto(target, dout[start:stop].transpose(1, 0, 2, 3))
        dxp = dpadded[:, :m]
        dxp.fill(0)
        for u in range(kh):
            for v in range(kw):
                tap = layout.tap(xp, u, v)  # (C, m, H_out, row_w)
                # Weight (c, k, u, v) multiplied this tap into output channel c*mult + k.
                dw4[:, :, u, v] += np.einsum("cmhw,ckmhw->ck", tap, dres)
                # The tap's gradient gathers that output's gradient from all mult filters.
                layout.tap(dxp, u, v)[...] += np.einsum("ckmhw,ck->cmhw", dres, w4[:, :, u, v])
        np.copyto(dx[start:stop], layout.interior(dxp).transpose(1, 0, 2, 3))
    return dx, dw4.reshape(geo.w_shape)
