"""Weight initializers: zeros, small random numbers, Xavier/Glorot and Kaiming/He.

Why not zeros: if every weight starts equal, every unit of a layer computes the same
output and receives the same gradient, so they stay equal forever (no symmetry
breaking). Why not just "small random numbers" (std 0.01): in a deep network each layer
multiplies the activations' scale by roughly ``std * sqrt(fan_in)``, so they shrink (or,
with a larger std, blow up / saturate) geometrically with depth; see
:mod:`dlcourse.init_experiment`.

The fix is to pick the weight variance so that a layer keeps the variance of what flows
through it. For ``y_i = sum_j x_j w_j`` with independent zero-mean ``x`` and ``w``,
``Var(y) = fan_in * Var(x) * Var(w)``, so ``Var(w) = 1 / fan_in`` keeps ``Var(y) =
Var(x)`` (the lecture's "Xavier" ``std = 1 / sqrt(Din)``). Glorot and Bengio average the
forward (``fan_in``) and backward (``fan_out``) conditions, ``Var(w) = 2 / (fan_in +
fan_out)``; for a square layer both forms agree. ReLU zeroes half of its input, halving
the second moment, so He et al. double the variance: ``std = sqrt(2 / fan_in)``. The
*gain* generalizes this factor to other nonlinearities (:func:`calculate_gain`).

Fans in this library's layouts (:func:`compute_fans`):

* fully connected ``w`` of shape ``(D, M)`` (``out = x @ w + b``): ``fan_in = D``,
  ``fan_out = M``. torch's ``nn.Linear`` stores the transpose ``(M, D)``, so torch reads
  its fans from the other axes;
* convolution ``w`` of shape ``(F, C, HH, WW)``: ``fan_in = C * HH * WW`` (the values one
  output sees), ``fan_out = F * HH * WW``; same layout as torch.

Every initializer takes a ``shape``, a ``dtype`` (float32 or float64) and a ``seed``
(an int for a reproducible array, a ``numpy.random.Generator`` to draw from a shared
stream, or None) and returns a new array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np
from numpy.typing import DTypeLike

Seed = int | np.random.Generator | None
Mode = Literal["fan_in", "fan_out"]
Nonlinearity = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"
]

# Nonlinearities whose gain is 1: identity-like maps (and sigmoid, which is close to
# linear with slope 1/4 around 0; torch uses 1 for it and so do we, to match).
_UNIT_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid")


# --------------------------------------------------------------------------- helpers


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in dims):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    return tuple(int(s) for s in dims)


def _dtype(dtype: DTypeLike) -> np.dtype:
    resolved = np.dtype(dtype)
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {resolved}")
    return resolved


def _gaussian(shape: tuple[int, ...], std: float, dtype: np.dtype, seed: Seed) -> np.ndarray:
    rng = np.random.default_rng(seed)  # returns a Generator unchanged
    # Drawing directly in the target dtype halves the work for float32 (4096 x 4096
    # layers in the activation experiment); std as a Python float keeps that dtype.
    return rng.standard_normal(shape, dtype=dtype) * float(std)


def _uniform(shape: tuple[int, ...], bound: float, dtype: np.dtype, seed: Seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape, dtype=dtype) * 2.0 - 1.0) * float(bound)


# --------------------------------------------------------------------------- fans and gains


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight array of this library's layout.

    Args:
        shape: ``(D, M)`` for a fully connected layer (``out = x @ w + b``) or
            ``(F, C, *kernel)`` for a convolution, e.g. ``(F, C, HH, WW)``.

    Returns:
        ``(D, M)`` for a fully connected layer; ``(C * prod(kernel), F * prod(kernel))``
        for a convolution.
    """
    dims = _shape(shape)
    if len(dims) < 2:
        raise ValueError(
            f"shape must be (D, M) or (F, C, HH, WW) to have fans, got {dims} "
            f"with {len(dims)} dimension(s)"
        )
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def calculate_gain(nonlinearity: Nonlinearity, negative_slope: float | None = None) -> float:
    """Factor by which to scale a unit-variance initialization for ``nonlinearity``.

    ``linear``/``conv*``/``sigmoid``: 1; ``tanh``: 5/3; ``relu``: sqrt(2) (ReLU halves
    the second moment); ``leaky_relu``: ``sqrt(2 / (1 + negative_slope**2))``, with
    ``negative_slope`` 0.01 when None; ``selu``: 3/4. ``negative_slope`` is ignored for
    every other nonlinearity (as in torch).
    """
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if negative_slope is None else float(negative_slope)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(
        f"nonlinearity must be one of {_UNIT_GAIN + ('tanh', 'relu', 'leaky_relu', 'selu')}, "
        f"got {nonlinearity!r}"
    )


def _fan(shape: tuple[int, ...], mode: Mode) -> int:
    fan_in, fan_out = compute_fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"cannot initialize an array with a zero {mode}: shape {shape}")
    return fan


# --------------------------------------------------------------------------- initializers


def zeros(shape: int | Sequence[int], dtype: DTypeLike = np.float64) -> np.ndarray:
    """All zeros: right for biases, wrong for weights (no symmetry breaking)."""
    return np.zeros(_shape(shape), dtype=_dtype(dtype))


def constant(shape: int | Sequence[int], value: float, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Every entry ``value`` (e.g. batch-norm ``gamma = 1``)."""
    return np.full(_shape(shape), float(value), dtype=_dtype(dtype))


def normal(
    shape: int | Sequence[int],
    std: float = 0.01,
    dtype: DTypeLike = np.float64,
    seed: Seed = None,
) -> np.ndarray:
    """Small random numbers: Gaussian with mean 0 and the given ``std`` (0.01 default).

    Fine for shallow networks; in deep ones the activations shrink layer after layer.
    """
    if not std >= 0:
        raise ValueError(f"std must be non-negative, got {std}")
    return _gaussian(_shape(shape), std, _dtype(dtype), seed)


def xavier_normal(
    shape: Sequence[int], gain: float = 1.0, dtype: DTypeLike = np.float64, seed: Seed = None
) -> np.ndarray:
    """Glorot normal: ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    ``shape`` is ``(D, M)`` or ``(F, C, HH, WW)`` (see :func:`compute_fans`). For a
    square layer this is the lecture's ``std = 1 / sqrt(Din)``.
    """
    dims = _shape(shape)
    fan_in, fan_out = compute_fans(dims)
    if fan_in + fan_out == 0:
        raise ValueError(f"cannot initialize an array with zero fans: shape {dims}")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _gaussian(dims, std, _dtype(dtype), seed)


def xavier_uniform(
    shape: Sequence[int], gain: float = 1.0, dtype: DTypeLike = np.float64, seed: Seed = None
) -> np.ndarray:
    """Glorot uniform on ``[-a, a]`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    A uniform on ``[-a, a]`` has variance ``a**2 / 3``, so this has the same variance as
    :func:`xavier_normal`.
    """
    dims = _shape(shape)
    fan_in, fan_out = compute_fans(dims)
    if fan_in + fan_out == 0:
        raise ValueError(f"cannot initialize an array with zero fans: shape {dims}")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(dims, bound, _dtype(dtype), seed)


def kaiming_normal(
    shape: Sequence[int],
    mode: Mode = "fan_in",
    nonlinearity: Nonlinearity = "relu",
    negative_slope: float | None = None,
    dtype: DTypeLike = np.float64,
    seed: Seed = None,
) -> np.ndarray:
    """He normal: ``std = gain / sqrt(fan)``; for ReLU and ``fan_in``, ``sqrt(2 / fan_in)``.

    ``mode='fan_in'`` keeps the forward activations' variance, ``'fan_out'`` the backward
    gradients'. ``nonlinearity`` and ``negative_slope`` choose the gain
    (:func:`calculate_gain`).
    """
    dims = _shape(shape)
    std = calculate_gain(nonlinearity, negative_slope) / math.sqrt(_fan(dims, mode))
    return _gaussian(dims, std, _dtype(dtype), seed)


def kaiming_uniform(
    shape: Sequence[int],
    mode: Mode = "fan_in",
    nonlinearity: Nonlinearity = "relu",
    negative_slope: float | None = None,
    dtype: DTypeLike = np.float64,
    seed: Seed = None,
) -> np.ndarray:
    """He uniform on ``[-a, a]``, ``a = sqrt(3) * gain / sqrt(fan)`` (variance as the normal)."""
    dims = _shape(shape)
    std = calculate_gain(nonlinearity, negative_slope) / math.sqrt(_fan(dims, mode))
    return _uniform(dims, math.sqrt(3.0) * std, _dtype(dtype), seed)


# --------------------------------------------------------------------------- residual branches


class _HoldsArray(Protocol):
    """Anything that holds its array in ``.data``, such as :class:`dlcourse.nn.Parameter`.

    Typed structurally so that this module need not import ``dlcourse.nn``, whose layers
    import the initializers above.
    """

    data: np.ndarray


def zero_init_last_residual(branch: Sequence[np.ndarray | _HoldsArray]) -> np.ndarray:
    """Zero, in place, the last scale array of a residual branch; return that array.

    A residual block outputs ``x + F(x)``. With Kaiming init ``Var(F(x)) = Var(x)``, so
    ``Var(x + F(x))`` grows with every block; starting ``F`` at zero makes each block the
    identity at initialization (``Var(x + F(x)) = Var(x)``), and the branch learns from
    there: the last layer still gets a nonzero gradient, and the rest follow once it is
    nonzero.

    Args:
        branch: the branch's weight-like arrays in forward order, e.g.
            ``[w1, gamma1, w2, gamma2]`` (NumPy arrays or :class:`Parameter` objects).
            Only the last one is changed. When the branch ends in batch norm, pass (or
            end with) that batch norm's ``gamma``: zeroing the convolution before a batch
            norm instead would leave the batch norm dividing an all-zero input by
            ``sqrt(eps)``.

    Returns:
        The zeroed array (the same object, so every holder of it sees zeros).
    """
    if isinstance(branch, np.ndarray) or hasattr(branch, "data") or len(branch) == 0:
        raise ValueError(
            "branch must be a non-empty list of the branch's arrays in forward order, "
            f"e.g. [w1, gamma1, w2, gamma2], got {type(branch).__name__}"
        )
    last = branch[-1]
    # An ndarray has a ``.data`` too (its raw buffer), so test for the array first.
    arr = last if isinstance(last, np.ndarray) else getattr(last, "data", last)
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        raise ValueError(
            "the last item of branch must be a float NumPy array or a Parameter, "
            f"got {type(arr).__name__}"
        )
    # In place, not a new array: the layer and the optimizer keep references to it.
    arr[...] = 0
    return arr
