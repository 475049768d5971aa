"""Check specs of ``speedrun_gpu.ipynb``: the speed-run network's forward pass, a
conv-bn-relu unit in training mode and the residual pair's gradients, run on the grader's
device (``cuda`` on a GPU runner: the module patterns read ``DLCOURSE_CHECK_DEVICE``), and
the loss-scale trace of mixed precision. The references are ``dlcourse.exercises.a4.speedrun_gpu``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import module_inputs
from dlcourse.exercises.a4 import speedrun_gpu as ex

Inputs = dict[str, np.ndarray]


def _net_inputs(rng: np.random.Generator) -> Inputs:
    args = {
        "width": int(rng.integers(2, 4)),
        "num_classes": int(rng.integers(2, 11)),
        "in_channels": int(rng.integers(1, 4)),
    }
    h, w = (int(size) for size in rng.integers(8, 13, size=2))
    return module_inputs(ex.SpeedrunNet, rng, args, (2, args["in_channels"], h, w))


def _conv_bn_train_inputs(rng: np.random.Generator) -> Inputs:
    c_in, c_out = int(rng.integers(1, 5)), int(rng.integers(2, 6))
    args = {"in_channels": c_in, "out_channels": c_out, "pool": bool(rng.random() < 0.5)}
    h, w = (int(size) for size in rng.integers(4, 9, size=2))
    return module_inputs(ex.ConvBN, rng, args, (3, c_in, h, w), training=True)


def _residual_inputs(rng: np.random.Generator) -> Inputs:
    channels = int(rng.integers(2, 5))
    h, w = (int(size) for size in rng.integers(3, 8, size=2))
    args = {"channels": channels}
    return module_inputs(ex.Residual, rng, args, (2, channels, h, w), backward=True)


def _trace_inputs(rng: np.random.Generator) -> Inputs:
    interval = int(rng.integers(2, 6))
    steps = int(rng.integers(12, 30))
    found_inf = rng.random(steps) < 0.15
    found_inf[0] = True  # the run starts too high, as a large init_scale usually is
    return {
        "found_inf": found_inf,
        "init_scale": np.asarray(2.0 ** int(rng.integers(12, 20))),
        "growth_factor": np.asarray(float(rng.choice([2.0, 4.0]))),
        "backoff_factor": np.asarray(float(rng.choice([0.5, 0.25]))),
        "growth_interval": np.asarray(interval),
    }


SPECS = [
    exercise(
        "speedrun_net_device_test",
        "module_forward",
        _net_inputs,
        ex.SpeedrunNet,
        hint="SpeedrunNet (section 1): paste ConvBN, Residual and SpeedrunNet from "
        "speedrun_net.ipynb unchanged (same attribute names); the grader runs it on its own "
        "device, so never call .cuda() or .to(device) inside the classes.",
    ),
    exercise(
        "conv_bn_train_device_test",
        "module_forward",
        _conv_bn_train_inputs,
        ex.ConvBN,
        hint="ConvBN (section 1): in training mode batch norm uses the statistics of the "
        "batch; relu(bn(conv(x))), then the 2x2 max pool only when pool is True.",
    ),
    exercise(
        "residual_device_test",
        "module_backward",
        _residual_inputs,
        ex.Residual,
        hint="Residual (section 1): x + res2(res1(x)) with two ConvBN(channels, channels) "
        "units; its gradients must match on the grader's device as well.",
    ),
    exercise(
        "loss_scale_trace_test",
        "call",
        _trace_inputs,
        ex.loss_scale_trace,
        hint="loss_scale_trace (section 3): start from init_scale and 0 good steps; for each "
        "flag apply update_loss_scale and record the new scale and count; return two arrays "
        "of length T.",
    ),
]
