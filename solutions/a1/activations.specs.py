"""Check specs of ``activations.ipynb``: forward and backward of every activation.

Shapes are drawn per case, so a solution that hard-codes a shape fails. Every input holds
an exact 0 (the kink of the rectifiers, where the convention "gradient only for x > 0"
is tested) and a positive and a negative entry. The references are
``dlcourse.exercises.a1.activations``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a1 import activations as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _x(rng: np.random.Generator, min_ndim: int = 1) -> np.ndarray:
    """An input of 1 to 3 axes (at least ``min_ndim``) with a 0, a positive and a negative."""
    ndim = int(rng.integers(min_ndim, 4))
    shape = tuple(int(size) for size in rng.integers(3, 6, size=ndim))
    x = 3.0 * rng.standard_normal(shape)
    x[rng.random(shape) < 0.1] = 0.0
    x.flat[0] = 0.0
    x.flat[1] = rng.uniform(0.1, 4.0)
    x.flat[2] = -rng.uniform(0.1, 4.0)
    return x


def _elementwise(rng: np.random.Generator) -> Inputs:
    return {"x": _x(rng)}


def _elementwise_dout(rng: np.random.Generator) -> Inputs:
    x = _x(rng)
    return {"x": x, "dout": rng.standard_normal(x.shape)}


def _with_alpha(low: float, high: float):
    def make(rng: np.random.Generator) -> Inputs:
        return {"x": _x(rng), "alpha": np.array(rng.uniform(low, high))}

    return make


def _prelu(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    """Half the cases share one slope, half have one slope per channel (axis 1)."""
    if rng.random() < 0.5:
        x = _x(rng)
        alpha = np.array(rng.uniform(0.01, 0.5))
    else:
        x = _x(rng, min_ndim=2)
        alpha = rng.uniform(0.01, 0.5, size=x.shape[1])
    inputs = {"x": x, "alpha": alpha}
    if with_dout:
        inputs["dout"] = rng.standard_normal(x.shape)
    return inputs


def _maxout(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    n, d, k, m = (int(v) for v in (rng.integers(2, 7), rng.integers(2, 6), rng.integers(2, 4),
                                   rng.integers(2, 6)))  # fmt: skip
    inputs = {
        "x": rng.standard_normal((n, d)),
        "w": rng.standard_normal((k, d, m)),
        "b": rng.standard_normal((k, m)),
    }
    if with_dout:
        inputs["dout"] = rng.standard_normal((n, m))
    return inputs


SPECS = [
    exercise(
        "sigmoid_forward_test",
        "forward",
        _elementwise,
        ex.sigmoid_forward,
        hint="sigmoid_forward (section 1): out = 1 / (1 + exp(-x)) elementwise, "
        "returned with a cache.",
    ),
    exercise(
        "sigmoid_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.sigmoid_forward,
        ex.sigmoid_backward,
        hint="sigmoid_backward (section 1): dx = dout * out * (1 - out) with out = sigmoid(x).",
    ),
    exercise(
        "tanh_forward_test",
        "forward",
        _elementwise,
        ex.tanh_forward,
        hint="tanh_forward (section 1): out = np.tanh(x), returned with a cache.",
    ),
    exercise(
        "tanh_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.tanh_forward,
        ex.tanh_backward,
        hint="tanh_backward (section 1): dx = dout * (1 - tanh(x)**2).",
    ),
    exercise(
        "relu_forward_test",
        "forward",
        _elementwise,
        ex.relu_forward,
        hint="relu_forward (section 2): out = max(0, x) elementwise (np.maximum, not np.max).",
    ),
    exercise(
        "relu_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.relu_forward,
        ex.relu_backward,
        hint="relu_backward (section 2): dx = dout where x > 0 and 0 elsewhere; at x "
        "== 0 exactly the gradient is 0.",
    ),
    exercise(
        "leaky_relu_forward_test",
        "forward",
        _with_alpha(0.01, 0.5),
        ex.leaky_relu_forward,
        hint="leaky_relu_forward (section 2): x where x > 0, alpha * x elsewhere; "
        "use the alpha argument (default 0.01).",
    ),
    exercise(
        "leaky_relu_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.leaky_relu_forward,
        ex.leaky_relu_backward,
        hint="leaky_relu_backward (section 2): dx = dout where x > 0, alpha * dout "
        "elsewhere (also at x == 0); take alpha from the cache.",
    ),
    exercise(
        "prelu_forward_test",
        "forward",
        _prelu,
        ex.prelu_forward,
        hint="prelu_forward (section 2): like leaky ReLU with slope alpha; a "
        "per-channel alpha (shape (C,)) applies alpha[c] along axis 1 of x.",
    ),
    exercise(
        "prelu_backward_test",
        "forward_backward",
        partial(_prelu, with_dout=True),
        ex.prelu_forward,
        ex.prelu_backward,
        hint="prelu_backward (section 2): return (dx, dalpha); dalpha sums x * dout "
        "over the entries with x <= 0 that share the slope (all of them, or all "
        "axes but 1), with alpha's shape.",
    ),
    exercise(
        "elu_forward_test",
        "forward",
        _with_alpha(0.2, 2.0),
        ex.elu_forward,
        hint="elu_forward (section 3): x where x > 0, alpha * (exp(x) - 1) "
        "elsewhere; use the alpha argument (default 1.0).",
    ),
    exercise(
        "elu_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.elu_forward,
        ex.elu_backward,
        hint="elu_backward (section 3): dx = dout where x > 0, dout * alpha * exp(x) elsewhere.",
    ),
    exercise(
        "selu_forward_test",
        "forward",
        _elementwise,
        ex.selu_forward,
        hint="selu_forward (section 3): lambda * x for x > 0, lambda * alpha * "
        "(exp(x) - 1) otherwise, with alpha = 1.67326324... and lambda = "
        "1.05070098... exactly as printed.",
    ),
    exercise(
        "selu_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.selu_forward,
        ex.selu_backward,
        hint="selu_backward (section 3): dx = dout * lambda for x > 0, dout * lambda "
        "* alpha * exp(x) otherwise.",
    ),
    exercise(
        "gelu_forward_test",
        "forward",
        _elementwise,
        ex.gelu_forward,
        hint="gelu_forward (section 4): the exact x * Phi(x) with Phi(x) = (1 + "
        "erf(x / sqrt(2))) / 2, not the tanh approximation.",
    ),
    exercise(
        "gelu_backward_test",
        "forward_backward",
        _elementwise_dout,
        ex.gelu_forward,
        ex.gelu_backward,
        hint="gelu_backward (section 4): dx = dout * (Phi(x) + x * phi(x)), phi(x) = "
        "exp(-x**2 / 2) / sqrt(2 pi).",
    ),
    exercise(
        "maxout_forward_test",
        "forward",
        _maxout,
        ex.maxout_forward,
        hint="maxout_forward (section 5): pieces[n, j, m] = x[n] @ w[j][:, m] + b[j, "
        "m]; out is the max over the pieces (axis j), shape (N, M).",
    ),
    exercise(
        "maxout_backward_test",
        "forward_backward",
        partial(_maxout, with_dout=True),
        ex.maxout_forward,
        ex.maxout_backward,
        hint="maxout_backward (section 5): dout goes to the winning piece only; then "
        "dx = sum_j dpieces_j @ w[j].T, dw[j] = x.T @ dpieces_j, db[j] = "
        "dpieces_j.sum(axis=0).",
    ),
]
