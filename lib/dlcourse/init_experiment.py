"""The lecture's activation-statistics experiment: how initialization shapes deep activations.

A stack of ``num_layers`` fully connected layers of ``width`` units (the lecture: 6 weight
layers of 4096 units, ``dims = [4096] * 7``) is fed unit Gaussian inputs; each layer
computes ``a = f(a_prev @ w)`` with freshly initialized ``w`` and no bias, and the
activations of every layer are summarized. What the lecture shows, and what this
reproduces:

* std 0.01, tanh: each layer multiplies the scale by about ``0.01 * sqrt(4096) = 0.64``,
  so activations collapse toward zero (lecture: std 0.49, 0.29, 0.18, 0.11, 0.07, 0.05),
  and so do the gradients with respect to the weights (they are proportional to ``a``);
* std 0.05, tanh: the factor is about 3.2, the pre-activations are large and tanh
  saturates at +-1, where its local gradient is zero;
* Xavier (``std = 1 / sqrt(Din)``), tanh: activations stay nicely scaled in every layer;
* Xavier, ReLU: ReLU zeroes half of the input and halves the second moment each layer,
  so activations collapse again; Kaiming (``std = sqrt(2 / Din)``) doubles the variance
  to compensate and keeps them nicely scaled.

Everything runs in float32 by default: at the lecture's size (4096 wide, 6 layers, batch
500) the cost is dominated by six 4096 x 4096 Gaussian draws and matrix products, a few
seconds on a laptop, fast enough for a notebook widget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import DTypeLike

from dlcourse.init import kaiming_normal, normal, xavier_normal

Activation = Literal["tanh", "relu", "sigmoid", "linear"]
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
INIT_NAMES = ("xavier", "kaiming")

# A unit counts as saturated where its local gradient is below this fraction of the
# activation's largest gradient: |a| > 0.949 for tanh, a < 0.026 or a > 0.974 for sigmoid.
SATURATION_FRACTION = 0.1


@dataclass(frozen=True)
class LayerStats:
    """Summary of one layer's activations (all ``batch_size * width`` values).

    Attributes:
        layer: 1 for the first hidden layer, up to ``num_layers``.
        mean, std: mean and standard deviation of the activations.
        frac_zero: fraction with ``|a| <= zero_tol`` (dead ReLU outputs, collapsed tanh).
        frac_saturated: fraction where tanh/sigmoid are saturated (local gradient below
            10% of its maximum); always 0 for ReLU and linear, which do not saturate.
        hist_counts: histogram counts, shape ``(bins,)``.
        hist_edges: histogram bin edges, shape ``(bins + 1,)``; ``[-1, 1]`` for tanh,
            ``[0, 1]`` for sigmoid, the layer's own range for ReLU and linear.
    """

    layer: int
    mean: float
    std: float
    frac_zero: float
    frac_saturated: float
    hist_counts: np.ndarray
    hist_edges: np.ndarray


def _apply(activation: str, z: np.ndarray) -> np.ndarray:
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "sigmoid":
        # Same function as 1 / (1 + exp(-z)), written with tanh so large |z| cannot overflow.
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    return z


def _saturated(activation: str, a: np.ndarray) -> float:
    if activation == "tanh":  # derivative 1 - a**2, largest value 1
        return float(np.mean(1.0 - a * a < SATURATION_FRACTION))
    if activation == "sigmoid":  # derivative a * (1 - a), largest value 1/4
        return float(np.mean(a * (1.0 - a) < SATURATION_FRACTION * 0.25))
    return 0.0


def _hist_range(activation: str, a: np.ndarray) -> tuple[float, float]:
    if activation == "tanh":
        return -1.0, 1.0
    if activation == "sigmoid":
        return 0.0, 1.0
    low, high = float(a.min()), float(a.max())
    # np.histogram needs a non-empty range; an all-zero layer gets a unit-wide one.
    return (low, high) if high > low else (low, low + 1.0)


def _weights(
    init: str | float, width: int, dtype: np.dtype, rng: np.random.Generator
) -> np.ndarray:
    shape = (width, width)
    if isinstance(init, str):
        if init == "xavier":  # square layer: std = 1 / sqrt(Din), the lecture's form
            return xavier_normal(shape, dtype=dtype, seed=rng)
        # "kaiming": the ReLU correction std = sqrt(2 / Din), whatever the activation.
        return kaiming_normal(shape, nonlinearity="relu", dtype=dtype, seed=rng)
    return normal(shape, std=init, dtype=dtype, seed=rng)


def _validate(
    num_layers: int,
    width: int,
    activation: str,
    init: str | float,
    batch_size: int,
    bins: int,
    dtype: DTypeLike,
) -> np.dtype:
    for name, value in (
        ("num_layers", num_layers),
        ("width", width),
        ("batch_size", batch_size),
        ("bins", bins),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if isinstance(init, str):
        if init not in INIT_NAMES:
            raise ValueError(f"init must be one of {INIT_NAMES} or a positive std, got {init!r}")
    elif isinstance(init, bool) or not (isinstance(init, (int, float)) and init > 0):
        raise ValueError(f"init must be one of {INIT_NAMES} or a positive std, got {init!r}")
    resolved = np.dtype(dtype)
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {resolved}")
    return resolved


def activation_statistics(
    num_layers: int = 6,
    width: int = 4096,
    activation: Activation = "tanh",
    init: Literal["xavier", "kaiming"] | float = "xavier",
    batch_size: int = 500,
    seed: int | np.random.Generator | None = 0,
    bins: int = 50,
    zero_tol: float = 1e-3,
    dtype: DTypeLike = np.float32,
) -> list[LayerStats]:
    """Run the experiment and summarize each layer's activations.

    Args:
        num_layers: number of weight layers (the lecture's ``dims = [4096] * 7`` is 6).
        width: units per layer (input size too), e.g. 4096.
        activation: ``'tanh'``, ``'relu'``, ``'sigmoid'`` or ``'linear'``.
        init: a weight std such as 0.01 or 0.05, ``'xavier'`` (``1 / sqrt(width)``) or
            ``'kaiming'`` (``sqrt(2 / width)``).
        batch_size: number of input examples, each drawn from a unit Gaussian.
        seed: int (reproducible), Generator or None; inputs and all weights come from it.
        bins: number of histogram bins per layer.
        zero_tol: activations with ``|a| <= zero_tol`` count towards ``frac_zero``.
        dtype: float32 (fast, default) or float64.

    Returns:
        One :class:`LayerStats` per layer, first hidden layer first (``num_layers`` items).
    """
    resolved = _validate(num_layers, width, activation, init, batch_size, bins, dtype)
    if not (math.isfinite(zero_tol) and zero_tol >= 0):
        raise ValueError(f"zero_tol must be a non-negative number, got {zero_tol}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((batch_size, width), dtype=resolved)
    stats = []
    for layer in range(1, num_layers + 1):
        a = _apply(activation, a @ _weights(init, width, resolved, rng))
        counts, edges = np.histogram(a, bins=bins, range=_hist_range(activation, a))
        stats.append(
            LayerStats(
                layer=layer,
                # Accumulate in float64: a float32 sum over 2 million values drifts.
                mean=float(np.mean(a, dtype=np.float64)),
                std=float(np.std(a, dtype=np.float64)),
                frac_zero=float(np.mean(np.abs(a) <= zero_tol)),
                frac_saturated=_saturated(activation, a),
                hist_counts=counts,
                hist_edges=edges,
            )
        )
    return stats
