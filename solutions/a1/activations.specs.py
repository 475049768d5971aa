"""Check specs of ``activations.ipynb``: forward and backward of every activation.

Shapes are drawn per case, so a solution that hard-codes a shape fails. Every input holds
an exact 0 (the kink of the rectifiers, where the convention "gradient only for x > 0"
is tested) and a positive and a negative entry. The references are the course library's
``dlcourse.functional.activations``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import CheckSpec
from dlcourse.functional import activations as act

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


# --------------------------------------------------------------------------- references


def _forward(forward):
    def reference(inputs: Inputs) -> Inputs:
        out, _ = forward(**inputs)
        return {"out": out}

    return reference


def _forward_backward(forward, backward):
    def reference(inputs: Inputs) -> Inputs:
        forward_inputs = {name: value for name, value in inputs.items() if name != "dout"}
        out, cache = forward(**forward_inputs)
        grads = backward(inputs["dout"], cache)
        if not isinstance(grads, tuple):
            grads = (grads,)
        outputs = {"out": out}
        for name, grad in zip(forward_inputs, grads, strict=True):
            outputs[f"d{name}"] = np.asarray(grad)
        return outputs

    return reference


def _pair_specs(
    name: str, forward_inputs, backward_inputs, hint_forward: str, hint_backward: str
) -> list[CheckSpec]:
    forward = getattr(act, f"{name}_forward")
    backward = getattr(act, f"{name}_backward")
    return [
        CheckSpec(
            f"{name}_forward_test", "forward", forward_inputs, _forward(forward),
            hint=hint_forward,
        ),
        CheckSpec(
            f"{name}_backward_test", "forward_backward", backward_inputs,
            _forward_backward(forward, backward), hint=hint_backward,
        ),
    ]  # fmt: skip


SPECS = [
    *_pair_specs(
        "sigmoid",
        _elementwise,
        _elementwise_dout,
        "sigmoid_forward (section 1): out = 1 / (1 + exp(-x)) elementwise, returned with a cache.",
        "sigmoid_backward (section 1): dx = dout * out * (1 - out) with out = sigmoid(x).",
    ),
    *_pair_specs(
        "tanh",
        _elementwise,
        _elementwise_dout,
        "tanh_forward (section 1): out = np.tanh(x), returned with a cache.",
        "tanh_backward (section 1): dx = dout * (1 - tanh(x)**2).",
    ),
    *_pair_specs(
        "relu",
        _elementwise,
        _elementwise_dout,
        "relu_forward (section 2): out = max(0, x) elementwise (np.maximum, not np.max).",
        "relu_backward (section 2): dx = dout where x > 0 and 0 elsewhere; at x == 0 "
        "exactly the gradient is 0.",
    ),
    *_pair_specs(
        "leaky_relu",
        _with_alpha(0.01, 0.5),
        _elementwise_dout,
        "leaky_relu_forward (section 2): x where x > 0, alpha * x elsewhere; use the alpha "
        "argument (default 0.01).",
        "leaky_relu_backward (section 2): dx = dout where x > 0, alpha * dout elsewhere "
        "(also at x == 0); take alpha from the cache.",
    ),
    *_pair_specs(
        "prelu",
        _prelu,
        lambda rng: _prelu(rng, with_dout=True),
        "prelu_forward (section 2): like leaky ReLU with slope alpha; a per-channel alpha "
        "(shape (C,)) applies alpha[c] along axis 1 of x.",
        "prelu_backward (section 2): return (dx, dalpha); dalpha sums x * dout over the "
        "entries with x <= 0 that share the slope (all of them, or all axes but 1), with "
        "alpha's shape.",
    ),
    *_pair_specs(
        "elu",
        _with_alpha(0.2, 2.0),
        _elementwise_dout,
        "elu_forward (section 3): x where x > 0, alpha * (exp(x) - 1) elsewhere; use the "
        "alpha argument (default 1.0).",
        "elu_backward (section 3): dx = dout where x > 0, dout * alpha * exp(x) elsewhere.",
    ),
    *_pair_specs(
        "selu",
        _elementwise,
        _elementwise_dout,
        "selu_forward (section 3): lambda * x for x > 0, lambda * alpha * (exp(x) - 1) "
        "otherwise, with alpha = 1.67326324... and lambda = 1.05070098... exactly as printed.",
        "selu_backward (section 3): dx = dout * lambda for x > 0, dout * lambda * alpha * "
        "exp(x) otherwise.",
    ),
    *_pair_specs(
        "gelu",
        _elementwise,
        _elementwise_dout,
        "gelu_forward (section 4): the exact x * Phi(x) with Phi(x) = (1 + erf(x / sqrt(2)))"
        " / 2, not the tanh approximation.",
        "gelu_backward (section 4): dx = dout * (Phi(x) + x * phi(x)), phi(x) = "
        "exp(-x**2 / 2) / sqrt(2 pi).",
    ),
    *_pair_specs(
        "maxout",
        _maxout,
        lambda rng: _maxout(rng, with_dout=True),
        "maxout_forward (section 5): pieces[n, j, m] = x[n] @ w[j][:, m] + b[j, m]; out is "
        "the max over the pieces (axis j), shape (N, M).",
        "maxout_backward (section 5): dout goes to the winning piece only; then dx = sum_j "
        "dpieces_j @ w[j].T, dw[j] = x.T @ dpieces_j, db[j] = dpieces_j.sum(axis=0).",
    ),
]
