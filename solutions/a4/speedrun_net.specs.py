"""Check specs of ``speedrun_net.ipynb``: the conv-bn-relu unit and the residual pair of the
speed-run ResNet (forward and backward), the whole net's output shape and parameter count,
channels-last strides and the dynamic loss-scaling rule of mixed precision.

Widths, channels, class counts and image sizes are drawn per case, so a solution that
hard-codes the notebook's 32x32 CIFAR setting fails. The references are
``dlcourse.exercises.a4.speedrun_net``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import argument_inputs, module_inputs, shape_inputs
from dlcourse.exercises.a4 import speedrun_net as ex

Inputs = dict[str, np.ndarray]


def _conv_bn_inputs(rng: np.random.Generator) -> Inputs:
    c_in, c_out = int(rng.integers(1, 5)), int(rng.integers(2, 6))
    args = {"in_channels": c_in, "out_channels": c_out, "pool": bool(rng.random() < 0.5)}
    h, w = (int(size) for size in rng.integers(4, 9, size=2))
    return module_inputs(ex.ConvBN, rng, args, (2, c_in, h, w), backward=True)


def _residual_inputs(rng: np.random.Generator) -> Inputs:
    channels = int(rng.integers(2, 5))
    h, w = (int(size) for size in rng.integers(3, 8, size=2))
    return module_inputs(
        ex.Residual, rng, {"channels": channels}, (2, channels, h, w), backward=True
    )


def _net_args(rng: np.random.Generator) -> dict[str, int]:
    return {
        "width": int(rng.integers(2, 17)),
        "num_classes": int(rng.integers(2, 21)),
        "in_channels": int(rng.integers(1, 5)),
    }


def _net_shape_inputs(rng: np.random.Generator) -> Inputs:
    args = _net_args(rng)
    h, w = (int(size) for size in rng.integers(8, 41, size=2))
    return shape_inputs(args, (int(rng.integers(1, 4)), args["in_channels"], h, w))


def _strides_inputs(rng: np.random.Generator) -> Inputs:
    # Sizes >= 2: a size-1 axis has no unique stride, and C = 1 would hide C's position.
    return {"shape": rng.integers(2, 12, size=4).astype(np.int64)}


def _loss_scale_inputs(rng: np.random.Generator) -> Inputs:
    interval = int(rng.integers(2, 9))
    regime = rng.choice(["overflow", "count", "grow"])
    # good_steps >= 1 on an overflow, so that forgetting to reset the count shows.
    good = {
        "overflow": int(rng.integers(1, interval)),
        "count": int(rng.integers(0, interval - 1)),
        "grow": interval - 1,
    }[regime]
    return {
        "scale": np.asarray(2.0 ** int(rng.integers(4, 20))),
        "found_inf": np.asarray(regime == "overflow"),
        "good_steps": np.asarray(good),
        "growth_factor": np.asarray(float(rng.choice([2.0, 4.0]))),
        "backoff_factor": np.asarray(float(rng.choice([0.5, 0.25]))),
        "growth_interval": np.asarray(interval),
    }


SPECS = [
    exercise(
        "conv_bn_test",
        "module_backward",
        _conv_bn_inputs,
        ex.ConvBN,
        hint="ConvBN (section 2): self.conv = a 3x3 Conv2d with padding=1 and bias=False, "
        "self.bn = BatchNorm2d(out_channels); forward is relu(bn(conv(x))), then a 2x2 max "
        "pool (stride 2) only when pool is True. Keep the names conv and bn.",
    ),
    exercise(
        "residual_test",
        "module_backward",
        _residual_inputs,
        ex.Residual,
        hint="Residual (section 2): self.res1 and self.res2 are ConvBN(channels, channels) "
        "without pooling; forward returns x + res2(res1(x)), with nothing after the sum.",
    ),
    exercise(
        "speedrun_net_shape_test",
        "module_shape",
        _net_shape_inputs,
        ex.SpeedrunNet,
        hint="SpeedrunNet (section 3): the output is (N, num_classes) for any input of at least "
        "8x8 pixels: take the maximum over all remaining positions (torch.amax over dims 2 "
        "and 3), not a fixed 4x4 pool, and use in_channels for the prep layer.",
    ),
    exercise(
        "speedrun_net_params_test",
        "module_params",
        lambda rng: argument_inputs(_net_args(rng)),
        ex.SpeedrunNet,
        hint="SpeedrunNet (section 3): widths w, 2w, 4w, 8w for prep, layer1, layer2, layer3; "
        "a residual pair after layer1 and after layer3 only; convolutions and the last linear "
        "layer have no bias (batch norm has weight and bias per channel).",
    ),
    exercise(
        "channels_last_strides_test",
        "call",
        _strides_inputs,
        ex.channels_last_strides,
        hint="channels_last_strides (section 5): the memory order is N, H, W, C, so C has "
        "stride 1, W stride C, H stride W*C and N stride H*W*C; return them in the axis "
        "order (N, C, H, W) as an integer array.",
    ),
    exercise(
        "update_loss_scale_test",
        "call",
        _loss_scale_inputs,
        ex.update_loss_scale,
        num_visible=3,
        num_hidden=6,
        hint="update_loss_scale (section 6): on an overflow, scale * backoff_factor and the "
        "count back to 0; otherwise count + 1, and when that reaches growth_interval, scale * "
        "growth_factor and the count back to 0. Return (new_scale, new_good_steps).",
    ),
]
