"""Check specs of ``initialization.ipynb``: fans, Xavier and Kaiming scales, a tanh stack.

Shapes are drawn per case, with different fans on the two sides of every weight. The
references are ``dlcourse.exercises.a2.initialization``.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a2 import initialization as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _two_different(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    """Two different integers in ``[low, high)``, so swapping them always shows."""
    first, second = (int(v) for v in rng.choice(np.arange(low, high), size=2, replace=False))
    return first, second


def _weight_shape(rng: np.random.Generator) -> tuple[int, ...]:
    """``(D, M)`` with ``D != M`` or ``(F, C, HH, WW)`` with ``F != C`` and ``HH >= 2``.

    With different fans on the two sides and a kernel larger than one pixel, using the
    wrong axis or forgetting the kernel area changes the answer in every case.
    """
    if rng.random() < 0.4:
        return _two_different(rng, 2, 300)
    filters, channels = _two_different(rng, 1, 129)
    return filters, channels, int(rng.integers(2, 8)), int(rng.integers(1, 8))


def _shape_inputs(rng: np.random.Generator) -> Inputs:
    return {"shape": np.array(_weight_shape(rng), dtype=np.int64)}


def _fan_inputs(rng: np.random.Generator) -> Inputs:
    fan_in, fan_out = _two_different(rng, 1, 5000)
    return {"fan_in": np.array(fan_in), "fan_out": np.array(fan_out)}


def _kaiming_std_inputs(rng: np.random.Generator) -> Inputs:
    # Half the cases are plain ReLU (slope 0), the other half leaky.
    slope = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.01, 0.5))
    return {"fan_in": np.array(int(rng.integers(1, 5000))), "negative_slope": np.array(slope)}


def _draw_inputs(rng: np.random.Generator) -> Inputs:
    shape = _weight_shape(rng)
    # Keep the arrays small: shrink the large 2-D layers.
    if len(shape) == 2:
        shape = (shape[0] % 40 + 2, shape[1] % 40 + 2)
        if shape[0] == shape[1]:
            shape = (shape[0], shape[1] + 1)
    else:
        shape = (shape[0] % 12 + 1, shape[1] % 12 + 1, *shape[2:])
        if shape[0] == shape[1]:
            shape = (shape[0], shape[1] + 1, *shape[2:])
    return {"z": rng.standard_normal(shape)}


def _stack_inputs(rng: np.random.Generator) -> Inputs:
    n, width, layers = int(rng.integers(2, 9)), int(rng.integers(2, 9)), int(rng.integers(2, 6))
    std = float(rng.uniform(0.3, 2.0)) / math.sqrt(width)
    return {
        "x": rng.standard_normal((n, width)),
        "w": std * rng.standard_normal((layers, width, width)),
    }


SPECS = [
    exercise(
        "compute_fans_test",
        "call",
        _shape_inputs,
        ex.compute_fans,
        hint="compute_fans (section 2): (D, M) -> (D, M); (F, C, HH, WW) -> (C * HH "
        "* WW, F * HH * WW). Return two integers.",
    ),
    exercise(
        "xavier_scales_test",
        "call",
        _fan_inputs,
        ex.xavier_scales,
        hint="xavier_scales (section 3): std = sqrt(2 / (fan_in + fan_out)), bound = "
        "sqrt(6 / (fan_in + fan_out)); return (std, bound).",
    ),
    exercise(
        "kaiming_std_test",
        "call",
        _kaiming_std_inputs,
        ex.kaiming_std,
        hint="kaiming_std (section 3): gain = sqrt(2 / (1 + negative_slope**2)), std "
        "= gain / sqrt(fan_in); for negative_slope 0 that is sqrt(2 / fan_in).",
    ),
    exercise(
        "kaiming_normal_init_test",
        "call",
        _draw_inputs,
        ex.kaiming_normal_init,
        hint="kaiming_normal_init (section 3): z * sqrt(2 / fan_in) with fan_in = D "
        "for (D, M) and C * HH * WW for (F, C, HH, WW).",
    ),
    exercise(
        "tanh_stack_stds_test",
        "call",
        _stack_inputs,
        ex.tanh_stack_stds,
        hint="tanh_stack_stds (section 4): a = x; for each layer a = tanh(a @ w[l]) "
        "and record a.std() (over all values, ddof=0, after the tanh); return "
        "shape (L,).",
    ),
]
