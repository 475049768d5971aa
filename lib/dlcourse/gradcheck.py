"""Numeric gradients and the relative error used to compare them with analytic ones.

The centered difference ``(f(x + h) - f(x - h)) / 2h`` has an error of order ``h**2``,
against order ``h`` for the one-sided difference, which is why it is the one used to
check backward passes.

Typical use on a layer written in the ``forward -> (out, cache)`` /
``backward(dout, cache) -> grads`` style::

    errors = check_layer(linear_forward, linear_backward, {"x": x, "w": w, "b": b})
    assert max(errors.values()) < 1e-7
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def rel_error(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> float:
    """Relative error ``max|a - b| / (max|a| + max|b|)``, between 0 and 1.

    The difference is measured against the scale of the gradients as a whole, not entry
    by entry: an entry whose true gradient is ~1e-9 would otherwise turn the round-off
    of a numeric gradient (~1e-10) into a "relative error" near 1. The floor ``eps``
    keeps two all-zero gradients from dividing by zero. Below ~1e-7 (float64) the two
    gradients agree; above ~1e-2 something is wrong.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a)) + np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / max(scale, eps))


def numeric_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Centered-difference gradient of a scalar function ``f`` at ``x`` (same shape as x).

    ``x`` is perturbed in place and restored, so ``f`` must read it each call.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numeric_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is the vector-Jacobian product a backward pass computes, so it can be compared
    directly with ``backward(dout, cache)``.
    """
    return numeric_gradient(lambda v: float(np.sum(f(v) * dout)), x, h)


def sparse_grad_check(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: np.ndarray,
    num_checks: int = 10,
    h: float = 1e-6,
    seed: int = 0,
) -> float:
    """Compare ``analytic`` with centered differences at ``num_checks`` random entries.

    Useful for large inputs where a full numeric gradient would be slow. Returns the
    largest relative error among the sampled entries.
    """
    if analytic.shape != x.shape:
        raise ValueError(f"analytic gradient has shape {analytic.shape}, x has {x.shape}")
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(num_checks):
        idx = tuple(int(rng.integers(n)) for n in x.shape)
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        numeric = (f_plus - f_minus) / (2 * h)
        worst = max(worst, rel_error(np.array(numeric), np.array(analytic[idx])))
    return worst


def check_layer(
    forward: Callable[..., tuple[np.ndarray, object]],
    backward: Callable[[np.ndarray, object], np.ndarray | tuple[np.ndarray, ...]],
    inputs: Mapping[str, np.ndarray],
    h: float = 1e-6,
    dout_seed: int = 0,
    **kwargs: object,
) -> dict[str, float]:
    """Gradient-check every array input of a layer; return ``{name: relative error}``.

    ``forward(**inputs, **kwargs)`` must return ``(out, cache)`` and
    ``backward(dout, cache)`` the gradients in the order of ``inputs`` (a bare array when
    there is one input). Inputs are copied to float64 so the check is precise; extra
    keyword arguments go to ``forward``.

    The upstream gradient ``dout`` is random, from a stream of its own: were it drawn
    like the inputs (say both from seed 0) it could equal ``x``, and a normalization
    layer maps that direction to a zero gradient, which checks nothing.
    """
    arrays = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    rng = np.random.default_rng([dout_seed, 0x6A4D])
    out, cache = forward(**arrays, **kwargs)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(arrays):
        raise ValueError(
            f"backward returned {len(grads)} gradients for {len(arrays)} inputs "
            f"({', '.join(arrays)})"
        )
    errors = {}
    for (name, arr), grad in zip(arrays.items(), grads, strict=True):

        def f(v: np.ndarray, name: str = name) -> np.ndarray:
            return forward(**{**arrays, name: v}, **kwargs)[0]

        numeric = numeric_gradient_array(f, arr, dout, h)
        errors[name] = rel_error(numeric, grad)
    return errors
