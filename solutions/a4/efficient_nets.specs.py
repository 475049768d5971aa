"""Check specs of ``efficient_nets.ipynb``: depthwise-separable convolution and its cost,
MobileNet v1's table, MobileNet v2's inverted residual, squeeze-and-excitation and
DenseNet's layer, block and channel counts.

Channels, sizes, strides and ratios are drawn per case, so a solution that hard-codes
the notebook's settings fails. Module cases are a few channels on 5..9 pixel maps, with
the trusted side's weights loaded into the student's class. The references are
``dlcourse.exercises.a4.efficient_nets``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import argument_inputs, module_inputs
from dlcourse.exercises.a4 import efficient_nets as ex

Inputs = dict[str, np.ndarray]


def _size(rng: np.random.Generator) -> int:
    return int(rng.integers(5, 10))  # odd and even sizes: stride 2 must round up


# --------------------------------------------------------------------------- counts


def _cost_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "in_channels": np.array(int(rng.integers(1, 513))),
        "out_channels": np.array(int(rng.integers(1, 1025))),
        "kernel_size": np.array(int(rng.choice([1, 3, 5, 7]))),
        "height": np.array(int(rng.integers(1, 113))),
        "width": np.array(int(rng.integers(1, 113))),
    }


def _table_inputs(rng: np.random.Generator) -> Inputs:
    # Multiples of 1/8 keep alpha * channels exact in floating point (all widths are
    # multiples of 32), so int(alpha * c) is the same however it is computed.
    return {
        "alpha": np.array(int(rng.integers(1, 11)) / 8),
        "resolution": np.array(int(rng.integers(32, 261))),
        "num_classes": np.array(int(rng.integers(2, 1001))),
    }


def _channels_inputs(rng: np.random.Generator) -> Inputs:
    blocks = rng.integers(1, 25, size=int(rng.integers(2, 5)))
    return {
        "in_channels": np.array(int(rng.integers(8, 129))),
        "growth_rate": np.array(int(rng.integers(4, 49))),
        "block_config": blocks,
        "compression": np.array(float(rng.choice([0.5, 0.25, 0.75, 1.0]))),
    }


# --------------------------------------------------------------------------- modules


def _separable_inputs(rng: np.random.Generator) -> Inputs:
    c_in, c_out = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    args = {"in_channels": c_in, "out_channels": c_out, "stride": int(rng.choice([1, 2]))}
    x_shape = (2, c_in, _size(rng), _size(rng))
    return module_inputs(ex.DepthwiseSeparable, rng, args, x_shape, backward=True)


def _separable_params(rng: np.random.Generator) -> Inputs:
    args = {
        "in_channels": int(rng.integers(8, 129)),
        "out_channels": int(rng.integers(8, 257)),
        "stride": int(rng.choice([1, 2])),
    }
    return argument_inputs(args)


def _inverted_inputs(rng: np.random.Generator, shortcut: bool) -> Inputs:
    c_in = int(rng.integers(2, 5))
    if shortcut:
        c_out, stride = c_in, 1
    else:
        # Either the stride or the channels change (or both): no shortcut is possible.
        stride = int(rng.choice([1, 2]))
        c_out = int(rng.integers(2, 6)) if stride == 2 else c_in + int(rng.integers(1, 3))
    args = {
        "in_channels": c_in,
        "out_channels": c_out,
        "stride": stride,
        "expand_ratio": int(rng.choice([1, 2, 3, 6])),
    }
    x_shape = (2, c_in, _size(rng), _size(rng))
    return module_inputs(ex.InvertedResidual, rng, args, x_shape, backward=True)


def _se_inputs(rng: np.random.Generator) -> Inputs:
    channels = int(rng.integers(4, 13))
    args = {"channels": channels, "reduction": int(rng.integers(2, channels // 2 + 1))}
    x_shape = (int(rng.integers(2, 4)), channels, _size(rng), _size(rng))
    return module_inputs(ex.SqueezeExcitation, rng, args, x_shape, backward=True)


def _dense_args(rng: np.random.Generator) -> dict[str, int]:
    return {
        "in_channels": int(rng.integers(2, 6)),
        "growth_rate": int(rng.integers(2, 5)),
        "bn_size": int(rng.integers(1, 4)),
    }


def _dense_layer_inputs(rng: np.random.Generator) -> Inputs:
    args = _dense_args(rng)
    x_shape = (2, args["in_channels"], _size(rng), _size(rng))
    return module_inputs(ex.DenseLayer, rng, args, x_shape)


def _dense_block_inputs(rng: np.random.Generator) -> Inputs:
    args = {"num_layers": int(rng.integers(2, 4)), **_dense_args(rng)}
    x_shape = (2, args["in_channels"], _size(rng), _size(rng))
    return module_inputs(ex.DenseBlock, rng, args, x_shape, backward=True)


SPECS = [
    exercise(
        "separable_cost_test",
        "call",
        _cost_inputs,
        ex.separable_cost,
        hint="separable_cost (section 1): a standard convolution costs D_K*D_K*M*N*H*W "
        "mult-adds, the depthwise one D_K*D_K*M*H*W and the pointwise one M*N*H*W; "
        "return (standard, separable, separable / standard).",
    ),
    exercise(
        "depthwise_separable_test",
        "module_backward",
        _separable_inputs,
        ex.DepthwiseSeparable,
        hint="DepthwiseSeparable (section 1): depthwise = Sequential(Conv2d(C, C, 3, stride, "
        "padding=1, groups=C, bias=False), BatchNorm2d(C), ReLU()), pointwise = "
        "Sequential(Conv2d(C, F, 1, bias=False), BatchNorm2d(F), ReLU()).",
    ),
    exercise(
        "depthwise_separable_params_test",
        "module_params",
        _separable_params,
        ex.DepthwiseSeparable,
        hint="DepthwiseSeparable (section 1): 9*C depthwise weights, C*F pointwise weights, "
        "no convolution biases, and 2 parameters per channel in each batch norm.",
    ),
    exercise(
        "mobilenet_v1_table_test",
        "call",
        _table_inputs,
        ex.mobilenet_v1_table,
        hint="mobilenet_v1_table (section 2): 28 rows (stem, 13 x (dw, pw), fc); channels "
        "int(alpha * c); 3x3 convolutions with padding 1 give (n + 2 - 3) // s + 1; the "
        "last dw row has stride 1; convolutions have no bias, the fc has one.",
    ),
    exercise(
        "inverted_residual_test",
        "module_backward",
        partial(_inverted_inputs, shortcut=False),
        ex.InvertedResidual,
        hint="InvertedResidual (section 3): conv = Sequential([expand,] depthwise, "
        "Conv2d(hidden, out, 1, bias=False), BatchNorm2d(out)), hidden = in * expand_ratio, "
        "no expansion when expand_ratio == 1, ReLU6 after expand and depthwise only.",
    ),
    exercise(
        "inverted_residual_shortcut_test",
        "module_backward",
        partial(_inverted_inputs, shortcut=True),
        ex.InvertedResidual,
        hint="InvertedResidual (section 3): with stride 1 and in_channels == out_channels, "
        "return x + conv(x), with no ReLU after the addition.",
    ),
    exercise(
        "squeeze_excitation_test",
        "module_backward",
        _se_inputs,
        ex.SqueezeExcitation,
        hint="SqueezeExcitation (section 4): s = mean over H and W (N, C); s = sigmoid(fc2("
        "relu(fc1(s)))) with fc1: C -> C // reduction; return x * s[:, :, None, None].",
    ),
    exercise(
        "dense_layer_test",
        "module_forward",
        _dense_layer_inputs,
        ex.DenseLayer,
        hint="DenseLayer (section 5): norm1, relu, conv1 (1x1 to bn_size * growth_rate, no "
        "bias), norm2, relu, conv2 (3x3, padding 1, to growth_rate, no bias).",
    ),
    exercise(
        "dense_block_test",
        "module_backward",
        _dense_block_inputs,
        ex.DenseBlock,
        hint="DenseBlock (section 5): layer i (from 1) sees in_channels + (i - 1) * "
        "growth_rate channels, the concatenation (torch.cat along dim 1) of x and every "
        "earlier output; return x and all new maps concatenated, x first.",
    ),
    exercise(
        "densenet_channels_test",
        "call",
        _channels_inputs,
        ex.densenet_channels,
        hint="densenet_channels (section 5): a block adds num_layers * growth_rate; a "
        "transition (not after the last block) keeps int(compression * channels).",
    ),
]
