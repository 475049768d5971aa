"""Weight penalties added to the data loss: ``xxx_penalty(w, reg) -> (penalty, dw)``.

The lecture writes the regularized loss as ``L = data loss + reg * R(W)`` with

* L2 (weight decay): ``R(W) = sum_kl W_kl**2``  ->  ``dR/dW = 2 W``
* L1:               ``R(W) = sum_kl |W_kl|``    ->  ``dR/dW = sign(W)``
* elastic net:      ``R(W) = sum_kl beta W_kl**2 + |W_kl|``  ->  ``2 beta W + sign(W)``

The functions return ``reg * R(W)`` and its gradient exactly in that convention: there
is no factor 1/2 in front of the L2 sum (some texts add one to cancel the 2). ``|w|``
has no derivative at 0; the subgradient used there is 0 (``np.sign(0) == 0``), which
leaves a weight that is exactly zero where it is.

``w`` may have any shape; ``dw`` has its shape and dtype, and ``penalty`` is a NumPy
scalar in its dtype.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validate import as_float_array


def _non_negative(value: float, name: str) -> float:
    """Return ``value`` as a Python float, refusing negative, infinite or NaN values.

    A Python float keeps float32 arithmetic in float32, which a NumPy float64 would not.
    """
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return number


def l2_penalty(w: np.ndarray, reg: float) -> tuple[np.floating, np.ndarray]:
    """``reg * sum(w**2)`` and its gradient ``2 * reg * w``. w: any shape."""
    w = as_float_array(w, "w")
    reg = _non_negative(reg, "reg")
    return reg * np.sum(w * w), 2 * reg * w


def l1_penalty(w: np.ndarray, reg: float) -> tuple[np.floating, np.ndarray]:
    """``reg * sum(|w|)`` and its subgradient ``reg * sign(w)`` (0 at w = 0). w: any shape."""
    w = as_float_array(w, "w")
    reg = _non_negative(reg, "reg")
    return reg * np.sum(np.abs(w)), reg * np.sign(w)


def elastic_net_penalty(w: np.ndarray, reg: float, beta: float) -> tuple[np.floating, np.ndarray]:
    """``reg * sum(beta * w**2 + |w|)`` and ``reg * (2 * beta * w + sign(w))``. w: any shape.

    ``beta`` weighs the L2 part against the L1 part, as in the lecture; beta = 0 gives
    the L1 penalty and a large beta with a small reg approaches a pure L2 penalty.
    """
    w = as_float_array(w, "w")
    reg = _non_negative(reg, "reg")
    beta = _non_negative(beta, "beta")
    penalty = reg * np.sum(beta * (w * w) + np.abs(w))
    return penalty, reg * (2 * beta * w + np.sign(w))
