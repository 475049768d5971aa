"""Check specs of ``fast_conv.ipynb``: im2col, col2im and the im2col convolution.

Geometries are drawn per case (batch, channels, filters, kernel, stride, padding,
dilation, groups), always with windows that tile the padded input exactly. The cases of
``col2im`` and of the backward passes always have overlapping windows, where a pixel
receives the gradient of several windows (so ``=`` instead of ``+=`` cannot pass). The
references are ``dlcourse.exercises.a3.fast_conv``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a3 import fast_conv as ex

Inputs = dict[str, np.ndarray]


def _side(rng: np.random.Generator, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """An input side whose padded windows tile exactly, with 1 to 5 outputs."""
    out = int(rng.integers(1, 6))
    size = (out - 1) * stride + dilation * (kernel - 1) + 1 - 2 * pad
    while size < 1:
        size += stride
    return size


def _reads(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """How often the most-read input position along this axis (not the padding) is read."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    taps = (np.arange(out)[:, None] * stride + dilation * np.arange(kernel)).ravel()
    return int(np.bincount(taps, minlength=size + 2 * pad)[pad : pad + size].max())


def _geometry(rng: np.random.Generator, grouped: bool, overlap: bool) -> dict[str, int]:
    """Sizes and hyperparameters of one convolution (see the module docstring)."""
    while True:
        if grouped:
            if rng.random() < 0.5:  # depthwise
                channels = int(rng.integers(2, 5))
                groups, filters = channels, channels * int(rng.integers(1, 3))
            else:
                groups = int(rng.integers(2, 4))
                channels = groups * int(rng.integers(1, 3))
                filters = groups * int(rng.integers(1, 3))
        else:
            groups, channels, filters = 1, int(rng.integers(1, 5)), int(rng.integers(1, 5))
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        dilation = int(rng.integers(1, 3))
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(2, 4))
        h, w = _side(rng, kh, stride, pad, dilation), _side(rng, kw, stride, pad, dilation)
        reads_h = _reads(h, kh, stride, pad, dilation)
        reads_w = _reads(w, kw, stride, pad, dilation)
        # A pixel read twice: read twice along one axis, and read at all along the other.
        if not overlap or (reads_h > 1 and reads_w > 0) or (reads_h > 0 and reads_w > 1):
            break
    return {
        "n": int(rng.integers(1, 4)), "channels": channels, "filters": filters,
        "groups": groups, "stride": stride, "pad": pad, "dilation": dilation,
        "kh": kh, "kw": kw, "h": h, "w": w,
    }  # fmt: skip


def _out_hw(g: dict[str, int]) -> tuple[int, int]:
    span_h = g["h"] + 2 * g["pad"] - g["dilation"] * (g["kh"] - 1) - 1
    span_w = g["w"] + 2 * g["pad"] - g["dilation"] * (g["kw"] - 1) - 1
    return span_h // g["stride"] + 1, span_w // g["stride"] + 1


def _hyper(g: dict[str, int]) -> Inputs:
    return {
        "stride": np.array(g["stride"]),
        "pad": np.array(g["pad"]),
        "dilation": np.array(g["dilation"]),
    }


def _im2col_inputs(rng: np.random.Generator) -> Inputs:
    g = _geometry(rng, grouped=False, overlap=False)
    return {
        "x": rng.standard_normal((g["n"], g["channels"], g["h"], g["w"])),
        "kernel_h": np.array(g["kh"]),
        "kernel_w": np.array(g["kw"]),
    } | _hyper(g)


def _col2im_inputs(rng: np.random.Generator) -> Inputs:
    g = _geometry(rng, grouped=False, overlap=True)
    out_h, out_w = _out_hw(g)
    rows, columns = g["channels"] * g["kh"] * g["kw"], g["n"] * out_h * out_w
    return {
        "cols": rng.standard_normal((rows, columns)),
        "x_shape": np.array([g["n"], g["channels"], g["h"], g["w"]]),
        "kernel_h": np.array(g["kh"]),
        "kernel_w": np.array(g["kw"]),
    } | _hyper(g)


def _conv_inputs(rng: np.random.Generator, grouped: bool, with_dout: bool = False) -> Inputs:
    g = _geometry(rng, grouped=grouped, overlap=with_dout)
    inputs = {
        "x": rng.standard_normal((g["n"], g["channels"], g["h"], g["w"])),
        "w": rng.standard_normal((g["filters"], g["channels"] // g["groups"], g["kh"], g["kw"])),
        "b": rng.standard_normal(g["filters"]),
    }
    if with_dout:
        inputs["dout"] = rng.standard_normal((g["n"], g["filters"], *_out_hw(g)))
    return inputs | _hyper(g) | {"groups": np.array(g["groups"])}


SPECS = [
    exercise(
        "im2col_test",
        "call",
        _im2col_inputs,
        ex.im2col,
        hint="im2col (section 1): rows ordered (c, u, v), columns ordered (n, i, j); row "
        "(c*HH + u)*WW + v, column (n*H_out + i)*W_out + j holds padded x[n, c, i*stride "
        "+ u*dilation, j*stride + v*dilation].",
    ),
    exercise(
        "col2im_test",
        "call",
        _col2im_inputs,
        ex.col2im,
        hint="col2im (section 2): the exact reverse of im2col, with += so that a pixel "
        "inside several windows receives the sum of their entries; crop the padding.",
    ),
    exercise(
        "conv_forward_fast_test",
        "forward",
        partial(_conv_inputs, grouped=False),
        ex.conv_forward_fast,
        hint="conv_forward_fast (section 3): w.reshape(F, -1) @ im2col(...) has shape "
        "(F, N*H_out*W_out): reshape to (F, N, H_out, W_out), move N first, add b.",
    ),
    exercise(
        "conv_forward_fast_groups_test",
        "forward",
        partial(_conv_inputs, grouped=True),
        ex.conv_forward_fast,
        hint="conv_forward_fast (section 3) with groups: the rows of cols split into "
        "groups blocks (c is the slowest index), w into (groups, F // groups, -1); one "
        "batched np.matmul does all groups.",
    ),
    exercise(
        "conv_backward_fast_test",
        "call",
        partial(_conv_inputs, grouped=False, with_dout=True),
        ex.conv_fast_gradients,
        hint="conv_backward_fast (section 4): arrange dout like the product (F, "
        "N*H_out*W_out); dw = dres @ cols.T, dcols = W.T @ dres, dx = col2im(dcols, ...), "
        "db = dout summed over N, H_out, W_out.",
    ),
    exercise(
        "conv_backward_fast_groups_test",
        "call",
        partial(_conv_inputs, grouped=True, with_dout=True),
        ex.conv_fast_gradients,
        hint="conv_backward_fast (section 4) with groups: the same two products, batched "
        "over the groups exactly as in the forward pass.",
    ),
]
