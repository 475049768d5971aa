"""Check specs of ``going_deeper.ipynb``: Inception's operation counts and module, the
basic residual block (with and without a projection), the bottleneck, the pre-activation
block and a small ResNet built with ``_make_layer``.

Channels, strides and map sizes are drawn per case, so hard-coding the notebook's
settings fails. ``residual_block_test`` always needs the projection (stride 2 or a
change of channels) and ``residual_block_identity_test`` never does, so a block that
forgets the projection loses exactly the first. The references are
``dlcourse.exercises.a4.going_deeper``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import argument_inputs, module_inputs, shape_inputs
from dlcourse.exercises.a4 import going_deeper as ex

Inputs = dict[str, np.ndarray]


def _size(rng: np.random.Generator) -> int:
    return int(rng.integers(5, 9))  # odd sizes test the rounding of stride 2


def _macs_inputs(rng: np.random.Generator) -> Inputs:
    names = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
    values = rng.integers(4, 257, size=len(names))
    inputs = {name: np.array(int(value)) for name, value in zip(names, values, strict=True)}
    inputs["height"] = np.array(int(rng.integers(4, 33)))
    inputs["width"] = np.array(int(rng.integers(4, 33)))
    return inputs


def _inception_args(rng: np.random.Generator) -> dict[str, int]:
    names = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
    return {name: int(value) for name, value in zip(names, rng.integers(1, 5, 7), strict=True)}


def _inception_inputs(rng: np.random.Generator) -> Inputs:
    args = _inception_args(rng)
    x_shape = (2, args["in_channels"], _size(rng), _size(rng))
    return module_inputs(ex.Inception, rng, args, x_shape, backward=True)


def _inception_param_inputs(rng: np.random.Generator) -> Inputs:
    names = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
    return argument_inputs(
        {name: int(value) for name, value in zip(names, rng.integers(4, 65, 7), strict=True)}
    )


def _block_inputs(rng: np.random.Generator, cls: type, *, project: bool | None) -> Inputs:
    """A backward case of a block (in_channels, out_channels, stride); ``project`` True:
    the shapes always change (stride 2 or new channels), False: never, None: either."""
    c_in = int(rng.integers(2, 6))
    if project is False:
        stride, c_out = 1, c_in
    else:
        stride = int(rng.choice([1, 2]))
        c_out = int(rng.integers(2, 6))
        if project and stride == 1 and c_out == c_in:
            c_out = c_in + 1
    args = {"in_channels": c_in, "out_channels": c_out, "stride": stride}
    return module_inputs(cls, rng, args, (2, c_in, _size(rng), _size(rng)), backward=True)


def _bottleneck_inputs(rng: np.random.Generator) -> Inputs:
    planes = int(rng.integers(1, 4))
    stride = int(rng.choice([1, 2]))
    # Half the cases keep 4 * planes channels (an identity shortcut at stride 1).
    c_in = 4 * planes if rng.random() < 0.5 else int(rng.integers(2, 9))
    args = {"in_channels": c_in, "planes": planes, "stride": stride}
    return module_inputs(ex.Bottleneck, rng, args, (2, c_in, _size(rng), _size(rng)), backward=True)


def _bottleneck_param_inputs(rng: np.random.Generator) -> Inputs:
    planes = int(rng.integers(4, 33))
    c_in = int(rng.choice([4 * planes, int(rng.integers(8, 129))]))
    return argument_inputs(
        {"in_channels": c_in, "planes": planes, "stride": int(rng.choice([1, 2]))}
    )


def _resnet_args(rng: np.random.Generator) -> dict[str, object]:
    """At least two stages (so at least one stride-2 projection), 1-2 blocks each."""
    num_stages = int(rng.integers(2, 4))
    widths = tuple(int(w) for w in np.sort(rng.integers(2, 7, size=num_stages)))
    blocks = tuple(int(b) for b in rng.integers(1, 3, size=num_stages))
    return {
        "widths": widths,
        "blocks": blocks,
        "num_classes": int(rng.integers(2, 6)),
        "in_channels": int(rng.integers(1, 4)),
    }


def _resnet_shape_inputs(rng: np.random.Generator) -> Inputs:
    args = _resnet_args(rng)
    return shape_inputs(args, (int(rng.integers(1, 4)), args["in_channels"], 9, 7))


def _resnet_forward_inputs(rng: np.random.Generator) -> Inputs:
    args = _resnet_args(rng)
    x_shape = (2, args["in_channels"], _size(rng), _size(rng))
    return module_inputs(ex.SmallResNet, rng, args, x_shape)


_NAMES = (
    "Keep the notebook's attribute names (conv1, bn1, conv2, bn2, downsample = "
    "nn.Sequential(1x1 conv, BatchNorm2d))"
)

SPECS = [
    exercise(
        "inception_macs_test",
        "call",
        _macs_inputs,
        ex.inception_macs,
        hint="inception_macs (section 1): a k x k convolution from C_in to C_out channels "
        "costs k*k*C_in*C_out multiply-adds per position, times height*width positions. "
        "With reductions: the 1x1 branch, 1x1 reduce + 3x3, 1x1 reduce + 5x5, and the pool "
        "projection (1x1); without: the 1x1, 3x3 and 5x5 convolutions read all in_channels "
        "and the pool branch costs nothing. Return np.array([with, without]).",
    ),
    exercise(
        "inception_test",
        "module_backward",
        _inception_inputs,
        ex.Inception,
        hint="Inception (section 1): four branches of ConvReLU (1x1; 1x1 then 3x3; 1x1 then "
        "5x5; 3x3 max pool with stride 1 and padding 1 then 1x1), named branch1..branch4, "
        "the multi-layer ones as nn.Sequential; concatenate on the channels (dim=1) in "
        "this order.",
    ),
    exercise(
        "inception_params_test",
        "module_params",
        _inception_param_inputs,
        ex.Inception,
        hint="Inception (section 1): every convolution has a bias; the 3x3 reads ch3x3red "
        "channels and the 5x5 reads ch5x5red, not in_channels.",
    ),
    exercise(
        "residual_block_test",
        "module_backward",
        partial(_block_inputs, cls=ex.ResidualBlock, project=True),
        ex.ResidualBlock,
        hint="ResidualBlock (section 2), cases where the shape changes: when stride != 1 "
        "or in_channels != out_channels the shortcut is downsample = nn.Sequential(1x1 "
        "conv with stride `stride` and no bias, BatchNorm2d(out_channels)); conv1 carries "
        f"the stride. {_NAMES}.",
    ),
    exercise(
        "residual_block_identity_test",
        "module_backward",
        partial(_block_inputs, cls=ex.ResidualBlock, project=False),
        ex.ResidualBlock,
        hint="ResidualBlock (section 2), stride 1 and unchanged channels: "
        "relu(bn2(conv2(relu(bn1(conv1(x))))) + x), 3x3 convolutions with padding 1 and no "
        f"bias; downsample is None. {_NAMES}.",
    ),
    exercise(
        "bottleneck_test",
        "module_backward",
        _bottleneck_inputs,
        ex.Bottleneck,
        hint="Bottleneck (section 3): 1x1 to planes, 3x3 (stride, padding 1) planes to "
        "planes, 1x1 to planes * expansion (4) channels, each conv followed by its norm "
        "(bn1..bn3) and ReLU except the last, which adds the shortcut first. Project the "
        "shortcut when stride != 1 or in_channels != 4 * planes.",
    ),
    exercise(
        "bottleneck_params_test",
        "module_params",
        _bottleneck_param_inputs,
        ex.Bottleneck,
        hint="Bottleneck (section 3): the block ends with planes * 4 channels (conv3, bn3 "
        "and the projection all have 4 * planes outputs).",
    ),
    exercise(
        "preact_block_test",
        "module_backward",
        partial(_block_inputs, cls=ex.PreActBlock, project=None),
        ex.PreActBlock,
        hint="PreActBlock (section 4): out = relu(bn1(x)); the shortcut is x, or "
        "shortcut(out) (a bare 1x1 conv with the stride) when the shape changes; then "
        "conv2(relu(bn2(conv1(out)))) + shortcut, with nothing after the addition.",
    ),
    exercise(
        "small_resnet_shape_test",
        "module_shape",
        _resnet_shape_inputs,
        ex.SmallResNet,
        hint="SmallResNet (section 6): every stage after the first halves the map with a "
        "stride-2 first block; the head pools globally and returns (N, num_classes).",
    ),
    exercise(
        "small_resnet_params_test",
        "module_params",
        _resnet_shape_inputs,
        ex.SmallResNet,
        hint="SmallResNet (section 6): stem conv1 (3x3, no bias) + bn1, the stages from "
        "_make_layer (blocks[i] ResidualBlocks of widths[i] channels), and fc.",
    ),
    exercise(
        "small_resnet_forward_test",
        "module_forward",
        _resnet_forward_inputs,
        ex.SmallResNet,
        hint="SmallResNet (section 6): relu(bn1(conv1(x))), the stages (nn.Sequential of "
        "nn.Sequential, named stages), global average pooling, flatten, fc.",
    ),
]
