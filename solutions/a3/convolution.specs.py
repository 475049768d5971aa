"""Check specs of ``convolution.ipynb``: convolution arithmetic, its matrix, naive loops.

Geometries are drawn per case (batch, channels, filters, kernel, stride, padding,
dilation, groups), always with windows that tile the padded input exactly, so a
solution that hard-codes a shape or a hyperparameter fails. The references are
``dlcourse.exercises.a3.convolution``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a3 import convolution as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- arithmetic


def _size_inputs(rng: np.random.Generator) -> Inputs:
    """A 1-D geometry whose windows tile the padded input (the division is exact)."""
    kernel, stride = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    dilation, pad = int(rng.integers(1, 4)), int(rng.integers(0, 4))
    out = int(rng.integers(1, 40))
    size = (out - 1) * stride + dilation * (kernel - 1) + 1 - 2 * pad
    if size < 1:  # too much padding for so small an output: grow the output until it fits
        size += stride * (-(-(1 - size) // stride))
    return {
        "size": np.array(size),
        "kernel": np.array(kernel),
        "stride": np.array(stride),
        "pad": np.array(pad),
        "dilation": np.array(dilation),
    }


def _param_inputs(rng: np.random.Generator) -> Inputs:
    groups = int(rng.choice([1, 1, 2, 4]))
    in_channels = groups * int(rng.integers(1, 65))
    out_channels = groups * int(rng.integers(1, 65))
    if rng.random() < 0.2:  # depthwise: one group per input channel
        groups, out_channels = in_channels, in_channels * int(rng.integers(1, 3))
    return {
        "in_channels": np.array(in_channels),
        "out_channels": np.array(out_channels),
        "kernel": np.array(int(rng.choice([1, 3, 5, 7, 11]))),
        "groups": np.array(groups),
    }


def _receptive_inputs(rng: np.random.Generator) -> Inputs:
    """A stack of 2 to 6 conv/pool layers; at least one has a stride > 1, so the strides
    of the layers below a layer matter."""
    layers = int(rng.integers(2, 7))
    kernels = rng.choice([1, 2, 3, 5, 7], size=layers)
    strides = rng.choice([1, 1, 2, 3], size=layers)
    strided = int(rng.integers(0, layers - 1))
    strides[strided] = 2
    kernels[strided] = max(int(kernels[strided]), 2)  # a 1x1 layer's stride adds nothing below it
    kernels[-1] = max(int(kernels[-1]), 3)  # the top layer sees more than one unit below
    dilations = np.where(rng.random(layers) < 0.25, 2, 1)
    return {"kernels": kernels, "strides": strides, "dilations": dilations}


def _macs_inputs(rng: np.random.Generator) -> Inputs:
    inputs = _param_inputs(rng)
    del inputs["kernel"]
    return {
        "in_channels": inputs["in_channels"],
        "out_channels": inputs["out_channels"],
        "kernel": np.array(int(rng.choice([1, 3, 5]))),
        "out_size": np.array(int(rng.integers(1, 57))),
        "groups": inputs["groups"],
    }


def _matrix_inputs(rng: np.random.Generator) -> Inputs:
    """One (HH, WW) filter on a small one-channel image, stride 1 or 2, pad 0 to 2."""
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(2, 4))
    stride, pad = int(rng.integers(1, 3)), int(rng.integers(0, 3))
    out_h, out_w = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    height = max((out_h - 1) * stride + kh - 2 * pad, 1)
    width = max((out_w - 1) * stride + kw - 2 * pad, 1)
    # A tall pad over a 1-pixel image may leave a remainder: grow it by whole strides.
    height += (height + 2 * pad - kh) % stride and stride - (height + 2 * pad - kh) % stride
    width += (width + 2 * pad - kw) % stride and stride - (width + 2 * pad - kw) % stride
    return {
        "w": rng.standard_normal((kh, kw)),
        "height": np.array(height),
        "width": np.array(width),
        "stride": np.array(stride),
        "pad": np.array(pad),
    }


# --------------------------------------------------------------------------- convolution


def _side(rng: np.random.Generator, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """An input side whose padded windows tile exactly, with a window inside the image.

    Some window reads real pixels with every tap (it starts at ``i * stride >= pad``);
    otherwise a tiny input under wide padding may meet only the padding or the filter's
    centre, where a filter and its flip agree, and a backward pass without the flip would
    pass. Between 0 and 3 outputs more than that minimum.
    """
    steps = -(-pad // stride)  # ceil(pad / stride): the first window clear of the padding
    fewest = 1 + 2 * steps  # and as many steps again so that it ends before the far padding
    out = fewest + int(rng.integers(0, 4))
    return (out - 1) * stride + dilation * (kernel - 1) + 1 - 2 * pad


def _conv_inputs(rng: np.random.Generator, grouped: bool, with_dout: bool = False) -> Inputs:
    """x, w, b and the hyperparameters of one convolution.

    ``grouped=False``: groups 1 and dilation 1, stride 1 to 3 and pad 0 to 2.
    ``grouped=True``: groups 2 or 3 or depthwise (groups = C), dilation 1 or 2.
    Kernels are never 1x1, where flipping a filter changes nothing.
    """
    n = int(rng.integers(1, 3))
    if grouped:
        kind = rng.choice(["groups", "depthwise"])
        if kind == "depthwise":
            channels = int(rng.integers(2, 5))
            groups, filters = channels, channels * int(rng.integers(1, 3))
        else:
            groups = int(rng.integers(2, 4))
            channels, filters = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        dilation = int(rng.integers(1, 3))
    else:
        groups, dilation = 1, 1
        channels, filters = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(2, 4))
    h = _side(rng, kh, stride, pad, dilation)
    w_side = _side(rng, kw, stride, pad, dilation)
    inputs = {
        "x": rng.standard_normal((n, channels, h, w_side)),
        "w": rng.standard_normal((filters, channels // groups, kh, kw)),
        "b": rng.standard_normal(filters),
    }
    if with_dout:
        out_h = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
        out_w = (w_side + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
        inputs["dout"] = rng.standard_normal((n, filters, out_h, out_w))
    inputs |= {
        "stride": np.array(stride),
        "pad": np.array(pad),
        "dilation": np.array(dilation),
        "groups": np.array(groups),
    }
    return inputs


SPECS = [
    exercise(
        "conv_output_size_test",
        "call",
        _size_inputs,
        ex.conv_output_size,
        hint="conv_output_size (section 2): (size + 2*pad - dilation*(kernel - 1) - 1) // "
        "stride + 1; the padding is added on both sides.",
    ),
    exercise(
        "conv_param_count_test",
        "call",
        _param_inputs,
        ex.conv_param_count,
        hint="conv_param_count (section 2): each of the out_channels filters has kernel * "
        "kernel * (in_channels // groups) weights and one bias.",
    ),
    exercise(
        "receptive_field_test",
        "call",
        _receptive_inputs,
        ex.receptive_field,
        hint="receptive_field (section 2): start at 1 with a jump of 1; each layer adds "
        "dilation * (kernel - 1) * jump, THEN multiplies the jump by its stride.",
    ),
    exercise(
        "conv_macs_test",
        "call",
        _macs_inputs,
        ex.conv_macs,
        hint="conv_macs (section 2): out_size**2 * out_channels outputs, each a dot product "
        "of length kernel**2 * in_channels // groups.",
    ),
    exercise(
        "conv_as_matrix_test",
        "call",
        _matrix_inputs,
        ex.conv_as_matrix,
        hint="conv_as_matrix (section 3): row i*W_out + j holds the filter's weights at the "
        "columns of the input pixels under window (i, j); taps that fall on the padding "
        "have no column.",
    ),
    exercise(
        "conv_forward_naive_test",
        "forward",
        partial(_conv_inputs, grouped=False),
        ex.conv_forward_naive,
        hint="conv_forward_naive (section 4): pad with `pad` zeros on every side; window "
        "(i, j) starts at row i*stride, column j*stride of the padded input.",
    ),
    exercise(
        "conv_forward_groups_test",
        "forward",
        partial(_conv_inputs, grouped=True),
        ex.conv_forward_naive,
        hint="conv_forward_naive (section 4) with dilation and groups: taps are dilation "
        "apart; filter f sees only the C // groups channels of its group "
        "f // (F // groups).",
    ),
    exercise(
        "conv_backward_naive_test",
        "call",
        partial(_conv_inputs, grouped=False, with_dout=True),
        ex.conv_gradients,
        hint="conv_backward_naive (section 5): db sums dout; dw[f] collects dout times "
        "each window; dx is the convolution of the stride-dilated, padded dout with the "
        "FLIPPED filters (channels swapped), cropped to x's shape.",
    ),
    exercise(
        "conv_backward_groups_test",
        "call",
        partial(_conv_inputs, grouped=True, with_dout=True),
        ex.conv_gradients,
        hint="conv_backward_naive (section 5) with dilation and groups: swap filters and "
        "channels within each group, not across the whole weight array; the flipped "
        "filters keep the forward's dilation.",
    ),
]
