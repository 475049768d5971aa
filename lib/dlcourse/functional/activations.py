"""Activation functions and the maxout layer, as forward/backward pairs.

Every elementwise activation is a pair ``xxx_forward(x, ...) -> (out, cache)`` and
``xxx_backward(dout, cache) -> dx``. ``x`` may have any shape; ``out``, ``dout`` and
``dx`` have that same shape, and all of them keep the dtype of ``x`` (float32 or
float64). PReLU and maxout have learnable arrays, so their backward returns a tuple.

Overflow is avoided by construction rather than by silencing warnings: ``exp`` is only
ever applied to numbers that are not positive (or to a clipped argument), so inputs of
magnitude 1e3 give finite results without a ``RuntimeWarning`` in either dtype.

Hyperparameters such as ``alpha`` are converted to Python floats before use: NumPy
keeps a float32 array float32 when it is combined with a Python float, but promotes it
to float64 when combined with a NumPy float64 scalar.

``ACTIVATIONS`` maps a name to the ``(forward, backward)`` pair of every activation
without learnable parameters, so a widget can plot a function and its derivative by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy.special import erfc

from dlcourse._validate import as_float_array, check_ndim, check_same_shape, check_shape

# SELU's constants from Klambauer et al. (2017), as printed in the lecture notes; Python
# rounds them to the nearest doubles, 1.6732632423543772 and 1.0507009873554805.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

# Constants of the GELU tanh approximation: sqrt(2 / pi) and the cubic coefficient.
_GELU_TANH_SCALE = math.sqrt(2.0 / math.pi)
_GELU_TANH_CUBIC = 0.044715
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# exp(-x**2 / 2) is exactly 0 in float64 once |x| > ~38.6; clipping there first keeps
# x**2 from overflowing for absurdly large inputs without changing any result.
_PDF_CUTOFF = 40.0


# --------------------------------------------------------------------------- helpers


def _input(x: object) -> np.ndarray:
    """Validate the input of an elementwise activation (any shape, float32/float64)."""
    return as_float_array(x, "x")


def _upstream(dout: object, x: np.ndarray) -> np.ndarray:
    """Validate ``dout`` against the forward input ``x``; return it in ``x``'s dtype.

    Elementwise activations keep the shape, so ``dout`` must have ``x``'s shape. Casting
    keeps the gradient in the dtype of the variable it belongs to.
    """
    dout = as_float_array(dout, "dout")
    check_same_shape(dout, x, "dout", "the forward input x")
    return dout.astype(x.dtype, copy=False)


def _hyper(value: float, name: str) -> float:
    """Return a finite hyperparameter as a Python float (see the module docstring)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return number


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` without overflow; same shape and dtype.

    ``exp(-|x|)`` lies in (0, 1] and cannot overflow. For x >= 0 the textbook form
    ``1 / (1 + exp(-x))`` uses it directly; for x < 0 the equal form
    ``exp(x) / (1 + exp(x))`` does.
    """
    x = _input(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


# --------------------------------------------------------------------- sigmoid, tanh


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigma(x) = 1 / (1 + exp(-x)). x: any shape. Returns out (x's shape) and cache."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * sigma(x) * (1 - sigma(x)); the cache is the forward output."""
    out = cache
    dout = _upstream(dout, out)
    return dout * out * (1 - out)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tanh(x), elementwise. x: any shape. Returns out (x's shape) and cache."""
    out = np.tanh(_input(x))
    return out, out


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * (1 - tanh(x)**2); the cache is the forward output."""
    out = cache
    dout = _upstream(dout, out)
    return dout * (1 - out * out)


# ----------------------------------------------------------------- rectifier family


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(0, x), elementwise. x: any shape. Returns out (x's shape) and cache (x)."""
    x = _input(x)
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout where x > 0, else 0 (the subgradient at x = 0 is taken as 0, like torch)."""
    x = cache
    dout = _upstream(dout, x)
    return np.where(x > 0, dout, 0)


def leaky_relu_forward(x: np.ndarray, alpha: float = 0.01) -> tuple[np.ndarray, tuple]:
    """x where x > 0, else ``alpha * x``. x: any shape; out has x's shape.

    This is the lecture's ``max(alpha * x, x)`` for 0 <= alpha <= 1 (the usual case);
    written piecewise it is also defined for any other slope.
    """
    x = _input(x)
    alpha = _hyper(alpha, "alpha")
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout where x > 0, else ``alpha * dout``."""
    x, alpha = cache
    dout = _upstream(dout, x)
    return np.where(x > 0, dout, alpha * dout)


def prelu_forward(x: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Leaky ReLU whose negative slope ``alpha`` is learned (He et al., 2015).

    x: any shape when ``alpha`` has shape () (one slope shared by everything);
    (N, C, ...) when ``alpha`` has shape (C,) (one slope per channel, axis 1, as in
    torch). out has x's shape and dtype; alpha is used in x's dtype.
    """
    x = _input(x)
    alpha = as_float_array(alpha, "alpha")
    if alpha.ndim == 0:
        slope = alpha.astype(x.dtype)
    elif alpha.ndim == 1:
        if x.ndim < 2:
            raise ValueError(
                f"x must have shape (N, C, ...) when alpha has one slope per channel, "
                f"got shape {x.shape}"
            )
        check_shape(alpha, (x.shape[1],), "alpha", "(C,) with C = x.shape[1]")
        # Shape (1, C, 1, ..., 1) so that the slope broadcasts along axis 1 only.
        slope = alpha.astype(x.dtype).reshape((1, -1) + (1,) * (x.ndim - 2))
    else:
        raise ValueError(f"alpha must have shape () or (C,), got {alpha.shape}")
    out = np.where(x > 0, x, slope * x)
    return out, (x, slope, alpha.shape, alpha.dtype)


def prelu_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(dx, dalpha)``: dx has x's shape, dalpha has alpha's shape and dtype.

    d out / d alpha is x on the negative side and 0 elsewhere; a shared slope sums
    those contributions over every entry, a per-channel slope over all axes but 1.
    """
    x, slope, alpha_shape, alpha_dtype = cache
    dout = _upstream(dout, x)
    dx = np.where(x > 0, dout, slope * dout)
    contributions = np.where(x > 0, 0, x * dout)
    if alpha_shape == ():
        dalpha = np.sum(contributions)
    else:
        dalpha = np.sum(contributions, axis=(0, *range(2, x.ndim)))
    return dx, np.asarray(dalpha, dtype=alpha_dtype)


# ------------------------------------------------------------- exponential family


def _elu_parts(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(elu(x), d elu / dx)`` for the piecewise ELU with slope ``alpha``.

    The exponential is taken of ``min(x, 0)``: the positive side never uses it, and a
    large positive x would otherwise overflow. ``expm1`` keeps small negative x precise.
    """
    negative = np.minimum(x, 0)
    out = np.where(x > 0, x, alpha * np.expm1(negative))
    slope = np.where(x > 0, 1, alpha * np.exp(negative))
    return out, slope


def elu_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """x where x > 0, else ``alpha * (exp(x) - 1)``. x: any shape; out has x's shape."""
    out, slope = _elu_parts(_input(x), _hyper(alpha, "alpha"))
    return out, slope


def elu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout where x > 0, else ``dout * alpha * exp(x)`` (cache: that local slope)."""
    slope = cache
    return _upstream(dout, slope) * slope


def selu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SELU: ``SELU_SCALE * elu(x, SELU_ALPHA)``. x: any shape; out has x's shape.

    That is ``lambda * x`` for x > 0 and ``lambda * alpha * (exp(x) - 1)`` otherwise.
    (One slide of the lecture swaps the two cases; Klambauer et al. define it this way.)
    """
    out, slope = _elu_parts(_input(x), SELU_ALPHA)
    return SELU_SCALE * out, SELU_SCALE * slope


def selu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * lambda where x > 0, else ``dout * lambda * alpha * exp(x)``."""
    slope = cache
    return _upstream(dout, slope) * slope


# ------------------------------------------------------------ smooth ReLU variants


def gelu_forward(
    x: np.ndarray, approximate: Literal["none", "tanh"] = "none"
) -> tuple[np.ndarray, tuple]:
    """GELU ``x * Phi(x)`` with Phi the standard normal CDF. x: any shape.

    ``approximate="none"`` evaluates Phi exactly; ``"tanh"`` uses
    ``Phi(x) ~ (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3))) / 2``, the same options as
    ``torch.nn.functional.gelu``. out has x's shape and dtype.
    """
    x = _input(x)
    if approximate == "none":
        # Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2. The erfc form does
        # not subtract nearly equal numbers when x is very negative, so Phi stays precise.
        cdf = 0.5 * erfc(-x * _INV_SQRT_2)
        return x * cdf, (x, approximate, cdf)
    if approximate == "tanh":
        t = np.tanh(_GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x**3))
        return 0.5 * x * (1 + t), (x, approximate, t)
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx for either GELU form (the cache says which).

    Exact: d/dx [x Phi(x)] = Phi(x) + x phi(x), phi the normal density.
    Tanh: with t = tanh(u), u = c (x + k x**3):
    d/dx [x (1 + t) / 2] = (1 + t) / 2 + x (1 - t**2) c (1 + 3 k x**2) / 2.
    """
    x, approximate, saved = cache
    dout = _upstream(dout, x)
    if approximate == "none":
        clipped = np.clip(x, -_PDF_CUTOFF, _PDF_CUTOFF)
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * clipped * clipped)
        return dout * (saved + x * pdf)
    t = saved
    du_dx = _GELU_TANH_SCALE * (1 + 3 * _GELU_TANH_CUBIC * x * x)
    return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx)


def silu_forward(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """SiLU / swish: ``x * sigmoid(x)``. x: any shape; out has x's shape and dtype."""
    x = _input(x)
    s = sigmoid(x)
    return x * s, (x, s)


def silu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout * (s + x s (1 - s)) = dout * s * (1 + x (1 - s)), s = sigmoid(x)."""
    x, s = cache
    dout = _upstream(dout, x)
    return dout * s * (1 + x * (1 - s))


# Swish with beta = 1 is the same function as SiLU.
swish_forward = silu_forward
swish_backward = silu_backward


def softplus_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softplus(x) = log(1 + exp(x)), a smooth ReLU. x: any shape; out has x's shape.

    Computed as ``max(x, 0) + log1p(exp(-|x|))``, which is the same value but never
    exponentiates a positive number: for x = 1e3 it returns 1e3 instead of inf.
    """
    x = _input(x)
    out = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    return out, x


def softplus_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * sigmoid(x): the derivative of softplus is the logistic function."""
    x = cache
    return _upstream(dout, x) * sigmoid(x)


# -------------------------------------------------------------------------- maxout


def maxout_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Maxout layer: the largest of k affine maps, ``out = max_j (x @ w[j] + b[j])``.

    x: (N, D); w: (k, D, M); b: (k, M). out: (N, M). With k = 2 this is the lecture's
    ``max(w1^T x + b1, w2^T x + b2)`` for every output unit.
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    check_ndim(x, 2, "x", "(N, D)")
    check_ndim(w, 3, "w", "(k, D, M)")
    check_shape(w, (None, x.shape[1], None), "w", "(k, D, M) with D = x.shape[1]")
    if w.shape[0] < 1:
        raise ValueError(f"w must hold at least one piece (k >= 1) in (k, D, M), got {w.shape}")
    check_shape(b, (w.shape[0], w.shape[2]), "b", "(k, M) to match w")
    pieces = np.einsum("nd,kdm->nkm", x, w) + b  # (N, k, M)
    winner = np.argmax(pieces, axis=1)  # (N, M): which piece each output took
    out = np.take_along_axis(pieces, winner[:, None, :], axis=1)[:, 0, :]
    return out, (x, w, b.dtype, winner)


def maxout_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(dx, dw, db)`` with the shapes of x (N, D), w (k, D, M) and b (k, M).

    Only the winning piece of each output receives ``dout``; ties go to the first one,
    as ``np.argmax`` picked it in the forward pass.
    """
    x, w, b_dtype, winner = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, winner.shape, "dout", "(N, M) like the forward output")
    num_pieces = w.shape[0]
    dpieces = np.zeros((x.shape[0], num_pieces, w.shape[2]), dtype=np.result_type(x, w, dout))
    np.put_along_axis(dpieces, winner[:, None, :], dout[:, None, :], axis=1)
    dx = np.einsum("nkm,kdm->nd", dpieces, w)
    dw = np.einsum("nd,nkm->kdm", x, dpieces)
    db = dpieces.sum(axis=0)
    return dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False), db.astype(b_dtype)


# ------------------------------------------------------------------------ registry

# The cache is Any: each backward takes its own forward's cache type.
Forward = Callable[[np.ndarray], tuple[np.ndarray, Any]]
Backward = Callable[[np.ndarray, Any], np.ndarray]

ACTIVATIONS: dict[str, tuple[Forward, Backward]] = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "elu": (elu_forward, elu_backward),
    "selu": (selu_forward, selu_backward),
    "gelu": (gelu_forward, gelu_backward),
    "gelu_tanh": (partial(gelu_forward, approximate="tanh"), gelu_backward),
    "silu": (silu_forward, silu_backward),
    "swish": (swish_forward, swish_backward),
    "softplus": (softplus_forward, softplus_backward),
}
"""Name -> ``(forward, backward)`` for the activations without learnable parameters.

Hyperparameters take their defaults (leaky ReLU slope 0.01, ELU alpha 1.0); call
``forward(x)`` and ``backward(dout, cache)`` exactly as the named functions.
"""
