"""``initialization.ipynb``: fans, the Xavier and Kaiming scales, a stack of tanh layers.

Thin calls into :mod:`dlcourse.init` (``compute_fans``, ``calculate_gain``; the Kaiming
std is ``gain / sqrt(fan_in)`` as in ``kaiming_normal``) and
:mod:`dlcourse.functional.activations`. The Xavier scales are the formulas of
``xavier_normal`` and ``xavier_uniform`` with gain 1 (Glorot & Bengio, 2010).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.functional.activations import tanh_forward
from dlcourse.init import calculate_gain
from dlcourse.init import compute_fans as _fans


def compute_fans(shape: np.ndarray | tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a ``(D, M)`` or ``(F, C, HH, WW)`` weight shape."""
    return _fans(tuple(int(size) for size in np.asarray(shape).ravel()))


def xavier_scales(fan_in: float | np.ndarray, fan_out: float | np.ndarray) -> tuple[float, float]:
    """Glorot's normal std and uniform bound: ``sqrt(2 / (in + out)), sqrt(6 / (in + out))``."""
    total = float(fan_in) + float(fan_out)
    return math.sqrt(2.0 / total), math.sqrt(6.0 / total)


def kaiming_std(fan_in: float | np.ndarray, negative_slope: float | np.ndarray) -> float:
    """He's normal std for a (leaky) ReLU: ``gain / sqrt(fan_in)``."""
    gain = calculate_gain("leaky_relu", float(negative_slope))
    return gain / math.sqrt(float(fan_in))


def kaiming_normal_init(z: np.ndarray) -> np.ndarray:
    """Standard normal draws ``z`` of a weight's shape, scaled to He's ReLU std."""
    fan_in, _ = _fans(z.shape)
    return z * (calculate_gain("relu") / math.sqrt(fan_in))


def tanh_stack_stds(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``a = tanh(a @ w[l])`` for the ``L`` layers of ``w (L, D, D)``; every a.std(): (L,)."""
    a, stds = x, []
    for weights in w:
        a, _ = tanh_forward(a @ weights)
        stds.append(a.std())
    return np.array(stds)
