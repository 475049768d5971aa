"""Check specs of ``backprop.ipynb``: a graph by hand, layers, and a two-layer network.

Shapes are drawn per case; half the fully connected cases give every example extra axes.
The references are ``dlcourse.exercises.a1.backprop``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a1 import backprop as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(size) for size in rng.integers(2, 6, size=int(rng.integers(1, 3))))


def _graph_inputs(rng: np.random.Generator) -> Inputs:
    shape = _shape(rng)
    return {name: 3.0 * rng.standard_normal(shape) for name in ("x", "y", "z")}


def _neuron_inputs(rng: np.random.Generator) -> Inputs:
    d = int(rng.integers(2, 8))
    return {
        "w": rng.standard_normal(d),
        "x": rng.standard_normal(d),
        "b": np.array(rng.uniform(-1.0, 1.0)),
    }


def _fc_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    n, m = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    # Half of the cases give every example extra axes, as a conv layer's output has.
    feature_shape = _shape(rng) if rng.random() < 0.5 else (int(rng.integers(2, 7)),)
    d = int(np.prod(feature_shape))
    inputs = {
        "x": rng.standard_normal((n, *feature_shape)),
        "w": rng.standard_normal((d, m)),
        "b": rng.standard_normal(m),
    }
    if with_dout:
        inputs["dout"] = rng.standard_normal((n, m))
    return inputs


def _relu_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    shape = (int(rng.integers(2, 7)), *_shape(rng))
    x = rng.standard_normal(shape)
    # Both signs in every case, so a ReLU that lets every gradient through fails.
    x.flat[0], x.flat[1] = abs(x.flat[0]) + 0.1, -abs(x.flat[1]) - 0.1
    inputs = {"x": x}
    if with_dout:
        inputs["dout"] = rng.standard_normal(shape)
    return inputs


def _net_inputs(rng: np.random.Generator, with_labels: bool = True) -> Inputs:
    n, d = int(rng.integers(3, 9)), int(rng.integers(2, 7))
    h, c = int(rng.integers(3, 9)), int(rng.integers(2, 6))
    inputs = {"x": rng.standard_normal((n, d))}
    if with_labels:
        inputs["y"] = rng.integers(0, c, size=n)
    inputs.update(
        w1=rng.standard_normal((d, h)) / np.sqrt(d),
        b1=0.5 * rng.standard_normal(h),
        w2=rng.standard_normal((h, c)) / np.sqrt(h),
        b2=0.5 * rng.standard_normal(c),
    )
    return inputs


SPECS = [
    exercise(
        "graph_add_multiply_test",
        "call",
        _graph_inputs,
        ex.graph_add_multiply,
        hint="graph_add_multiply (section 1): q = x + y, f = q * z; df/dz = q, and "
        "the add gate passes df/dq = z unchanged to x and y. Return (q, f, dx, "
        "dy, dz).",
    ),
    exercise(
        "graph_sigmoid_neuron_test",
        "call",
        _neuron_inputs,
        ex.graph_sigmoid_neuron,
        hint="graph_sigmoid_neuron (section 1): f = sigmoid(w . x + b); with s = f * "
        "(1 - f) the gradients are dw = s * x, dx = s * w, db = s. Return (f, "
        "dw, dx, db).",
    ),
    exercise(
        "fc_forward_test",
        "forward",
        _fc_inputs,
        ex.fc_forward,
        hint="fc_forward (section 2a): flatten x to (N, D) with x.reshape(N, -1), "
        "then out = x2d @ w + b.",
    ),
    exercise(
        "fc_backward_test",
        "forward_backward",
        partial(_fc_inputs, with_dout=True),
        ex.fc_forward,
        ex.fc_backward,
        hint="fc_backward (section 2a): dx = dout @ w.T reshaped to x's shape, dw = "
        "x2d.T @ dout, db = dout summed over the batch (axis 0).",
    ),
    exercise(
        "relu_layer_forward_test",
        "forward",
        _relu_inputs,
        ex.relu_layer_forward,
        hint="relu_layer_forward (section 2b): out = np.maximum(x, 0) for x of any shape.",
    ),
    exercise(
        "relu_layer_backward_test",
        "forward_backward",
        partial(_relu_inputs, with_dout=True),
        ex.relu_layer_forward,
        ex.relu_layer_backward,
        hint="relu_layer_backward (section 2b): dx = dout where the cached input x > 0, else 0.",
    ),
    exercise(
        "two_layer_loss_test",
        "call",
        _net_inputs,
        ex.two_layer_loss,
        hint="two_layer_loss (section 4): fc -> relu -> fc -> softmax_loss forward, "
        "then fc_backward, relu_layer_backward, fc_backward in reverse; return "
        "(loss, dw1, db1, dw2, db2). Check fc_backward and relu_layer_backward "
        "first.",
    ),
    exercise(
        "two_layer_predict_test",
        "call",
        partial(_net_inputs, with_labels=False),
        ex.two_layer_predict,
        hint="two_layer_predict (section 4): the forward pass to the scores, then "
        "np.argmax(scores, axis=1).",
    ),
]
