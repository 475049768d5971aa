"""Check specs of ``classic_nets.ipynb``: LeNet-5 and AlexNet as modules, AlexNet's layer
table (one tower and two towers), the VGG block, 3x3 stacks against one large filter and
VGG-16's memory and parameter table.

Channels, classes, widths and image sizes are drawn per case, so a solution that
hard-codes the notebook's settings fails. Module cases are tiny (AlexNet with a few
filters per layer on 67-75 pixel images); the full-sized tables are plain integers. The
references are ``dlcourse.exercises.a4.classic_nets``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import argument_inputs, module_inputs, shape_inputs
from dlcourse.exercises.a4 import classic_nets as ex

Inputs = dict[str, np.ndarray]


def _lenet_args(rng: np.random.Generator) -> dict[str, int]:
    return {"in_channels": int(rng.integers(1, 4)), "num_classes": int(rng.integers(2, 13))}


def _lenet_inputs(rng: np.random.Generator) -> Inputs:
    args = _lenet_args(rng)
    # Forward only: C5's 48,000 weights make LeNet-5's case files the largest of the
    # notebook, and a gradient of every weight would double them.
    return module_inputs(ex.LeNet5, rng, args, (2, args["in_channels"], 32, 32))


def _alexnet_args(rng: np.random.Generator) -> dict[str, object]:
    # Even widths, so that both groups settings are valid; conv4's width differs from
    # conv3's in most cases, which catches a swapped layer.
    widths = tuple(int(w) for w in 2 * rng.integers(1, 4, size=5))
    return {
        "num_classes": int(rng.integers(2, 8)),
        "in_channels": int(rng.integers(1, 4)),
        "groups": int(rng.choice([1, 2])),
        "widths": widths,
        "hidden": int(rng.integers(4, 11)),
    }


def _alexnet_inputs(rng: np.random.Generator) -> Inputs:
    args = _alexnet_args(rng)
    size = int(rng.integers(67, 76))  # 67 is the least size that leaves pool5 a pixel
    return module_inputs(ex.AlexNet, rng, args, (1, args["in_channels"], size, size))


def _alexnet_table_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "image_size": np.array(int(rng.integers(67, 300))),
        "in_channels": np.array(int(rng.integers(1, 5))),
        "num_classes": np.array(int(rng.integers(2, 1001))),
    }


def _block_args(rng: np.random.Generator) -> dict[str, int]:
    return {
        "in_channels": int(rng.integers(1, 5)),
        "out_channels": int(rng.integers(2, 6)),
        "num_convs": int(rng.integers(1, 4)),
    }


def _block_inputs(rng: np.random.Generator) -> Inputs:
    args = _block_args(rng)
    h, w = (int(s) for s in rng.integers(4, 10, size=2))  # odd sizes: the pool rounds down
    return module_inputs(ex.VGGBlock, rng, args, (2, args["in_channels"], h, w), backward=True)


def _block_shape_inputs(rng: np.random.Generator) -> Inputs:
    args = _block_args(rng)
    h, w = (int(s) for s in rng.integers(8, 40, size=2))
    return shape_inputs(args, (int(rng.integers(1, 5)), args["in_channels"], h, w))


def _stack_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "channels": np.array(int(rng.integers(1, 1025))),
        "num_layers": np.array(int(rng.integers(1, 7))),
    }


def _vgg_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "image_size": np.array(int(rng.integers(32, 289))),
        "num_classes": np.array(int(rng.integers(2, 1001))),
    }


SPECS = [
    exercise(
        "lenet5_test",
        "module_forward",
        _lenet_inputs,
        ex.LeNet5,
        num_visible=1,
        num_hidden=2,
        hint="LeNet5 (section 1): c1, c3, c5 are 5x5 convolutions without padding (6, 16 and "
        "120 filters), s2 and s4 2x2 AVERAGE pools with stride 2, tanh after c1, c3, c5 and "
        "f6 (not after output); flatten c5's (N, 120, 1, 1) output before f6.",
    ),
    exercise(
        "lenet5_params_test",
        "module_params",
        lambda rng: argument_inputs(_lenet_args(rng)),
        ex.LeNet5,
        hint="LeNet5 (section 1): c1 reads in_channels maps, output has num_classes units; "
        "every convolution and linear layer has a bias.",
    ),
    exercise(
        "alexnet_test",
        "module_forward",
        _alexnet_inputs,
        ex.AlexNet,
        hint="AlexNet (section 2): conv1 11x11 stride 4 no padding; conv2 5x5 pad 2; conv3-5 "
        "3x3 pad 1; groups on conv2, conv4 and conv5 only; ReLU then self.lrn after conv1 and "
        "conv2, then self.pool (3x3, stride 2) after them and after conv5; self.avgpool, "
        "flatten, fc6-ReLU, fc7-ReLU, fc8 (no ReLU).",
    ),
    exercise(
        "alexnet_params_test",
        "module_params",
        lambda rng: argument_inputs(_alexnet_args(rng)),
        ex.AlexNet,
        hint="AlexNet (section 2): fc6 reads widths[4] * 6 * 6 values (the adaptive pool), "
        "fc6 and fc7 have `hidden` units; groups divides the weights of conv2, conv4 and "
        "conv5 (not conv1, not conv3).",
    ),
    exercise(
        "alexnet_table_test",
        "call",
        _alexnet_table_inputs,
        ex.alexnet_table,
        hint="alexnet_table (section 3): floor((n + 2p - k) / s) + 1 per layer (conv1 k=11 "
        "s=4 p=0; the pools k=3 s=2; conv2 k=5 p=2; conv3-5 k=3 p=1); a conv has "
        "(k*k*C_in/groups + 1)*C_out parameters, groups=2 only on conv2, conv4, conv5 in the "
        "last column; fc6 reads 256*6*6 values; pools have 0 parameters.",
    ),
    exercise(
        "vgg_block_test",
        "module_backward",
        _block_inputs,
        ex.VGGBlock,
        hint="VGGBlock (section 4): self.layers = nn.Sequential(conv, ReLU, ..., conv, ReLU, "
        "MaxPool2d(2, 2)) with 3x3 convolutions and padding=1; the first conv reads "
        "in_channels maps, every other reads out_channels.",
    ),
    exercise(
        "vgg_block_shape_test",
        "module_shape",
        _block_shape_inputs,
        ex.VGGBlock,
        hint="VGGBlock (section 4): the convolutions keep the size (3x3, padding=1, stride 1); "
        "only the pool halves it, rounding down.",
    ),
    exercise(
        "stack_vs_single_test",
        "call",
        _stack_inputs,
        ex.stack_vs_single,
        hint="stack_vs_single (section 4): each 3x3 layer widens the field by 2; a C -> C "
        "k x k convolution has k*k*C*C weights (no biases here); the single layer's kernel "
        "is the stack's receptive field.",
    ),
    exercise(
        "vgg16_table_test",
        "call",
        _vgg_inputs,
        ex.vgg16_table,
        hint="vgg16_table (section 5): 22 rows (input, 13 convs and 5 pools in order, fc6-8); "
        "a 3x3 pad-1 conv keeps the size, a pool halves it rounding down; values = C*H*W; "
        "fc6 reads 512*(S//32)**2 values; parameters include the biases.",
    ),
]
