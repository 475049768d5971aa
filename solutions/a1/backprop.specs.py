"""Check specs of ``backprop.ipynb``: a graph by hand, layers, and a two-layer network.

Shapes are drawn per case. The layer references are the course library's
``dlcourse.functional`` (linear, ReLU, softmax cross-entropy); the two graph exercises
are short enough that their references are written out here, with the library's
overflow-free ``sigmoid``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import CheckSpec
from dlcourse.functional.activations import relu_backward, relu_forward, sigmoid
from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.functional.losses import softmax_cross_entropy_loss

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


# --------------------------------------------------------------------------- references


def _graph(inputs: Inputs) -> Inputs:
    x, y, z = inputs["x"], inputs["y"], inputs["z"]
    q = x + y
    return {"out0": q, "out1": q * z, "out2": z, "out3": z, "out4": q}


def _neuron(inputs: Inputs) -> Inputs:
    w, x = inputs["w"], inputs["x"]
    f = sigmoid(np.asarray(np.dot(w, x) + float(inputs["b"])))
    local = f * (1.0 - f)
    return {"out0": f, "out1": local * x, "out2": local * w, "out3": local}


def _fc_forward(inputs: Inputs) -> Inputs:
    out, _ = linear_forward(inputs["x"], inputs["w"], inputs["b"])
    return {"out": out}


def _fc_forward_backward(inputs: Inputs) -> Inputs:
    out, cache = linear_forward(inputs["x"], inputs["w"], inputs["b"])
    dx, dw, db = linear_backward(inputs["dout"], cache)
    return {"out": out, "dx": dx, "dw": dw, "db": db}


def _relu_forward(inputs: Inputs) -> Inputs:
    return {"out": relu_forward(inputs["x"])[0]}


def _relu_forward_backward(inputs: Inputs) -> Inputs:
    out, cache = relu_forward(inputs["x"])
    return {"out": out, "dx": relu_backward(inputs["dout"], cache)}


def _scores(inputs: Inputs) -> tuple[np.ndarray, tuple]:
    pre, cache1 = linear_forward(inputs["x"], inputs["w1"], inputs["b1"])
    hidden, cache_relu = relu_forward(pre)
    scores, cache2 = linear_forward(hidden, inputs["w2"], inputs["b2"])
    return scores, (cache1, cache_relu, cache2)


def _two_layer_loss(inputs: Inputs) -> Inputs:
    scores, (cache1, cache_relu, cache2) = _scores(inputs)
    loss, dscores = softmax_cross_entropy_loss(scores, inputs["y"])
    dhidden, dw2, db2 = linear_backward(dscores, cache2)
    _, dw1, db1 = linear_backward(relu_backward(dhidden, cache_relu), cache1)
    return {"out0": np.asarray(loss), "out1": dw1, "out2": db1, "out3": dw2, "out4": db2}


def _two_layer_predict(inputs: Inputs) -> Inputs:
    scores, _ = _scores(inputs)
    return {"out": np.argmax(scores, axis=1)}


SPECS = [
    CheckSpec(
        "graph_add_multiply_test",
        "call",
        _graph_inputs,
        _graph,
        hint="graph_add_multiply (section 1): q = x + y, f = q * z; df/dz = q, and the add "
        "gate passes df/dq = z unchanged to x and y. Return (q, f, dx, dy, dz).",
    ),
    CheckSpec(
        "graph_sigmoid_neuron_test",
        "call",
        _neuron_inputs,
        _neuron,
        hint="graph_sigmoid_neuron (section 1): f = sigmoid(w . x + b); with s = f * (1 - f) "
        "the gradients are dw = s * x, dx = s * w, db = s. Return (f, dw, dx, db).",
    ),
    CheckSpec(
        "fc_forward_test",
        "forward",
        _fc_inputs,
        _fc_forward,
        hint="fc_forward (section 2a): flatten x to (N, D) with x.reshape(N, -1), then "
        "out = x2d @ w + b.",
    ),
    CheckSpec(
        "fc_backward_test",
        "forward_backward",
        lambda rng: _fc_inputs(rng, with_dout=True),
        _fc_forward_backward,
        hint="fc_backward (section 2a): dx = dout @ w.T reshaped to x's shape, "
        "dw = x2d.T @ dout, db = dout summed over the batch (axis 0).",
    ),
    CheckSpec(
        "relu_layer_forward_test",
        "forward",
        _relu_inputs,
        _relu_forward,
        hint="relu_layer_forward (section 2b): out = np.maximum(x, 0) for x of any shape.",
    ),
    CheckSpec(
        "relu_layer_backward_test",
        "forward_backward",
        lambda rng: _relu_inputs(rng, with_dout=True),
        _relu_forward_backward,
        hint="relu_layer_backward (section 2b): dx = dout where the cached input x > 0, else 0.",
    ),
    CheckSpec(
        "two_layer_loss_test",
        "call",
        _net_inputs,
        _two_layer_loss,
        hint="two_layer_loss (section 4): fc -> relu -> fc -> softmax_loss forward, then "
        "fc_backward, relu_layer_backward, fc_backward in reverse; return (loss, dw1, db1, "
        "dw2, db2). Check fc_backward and relu_layer_backward first.",
    ),
    CheckSpec(
        "two_layer_predict_test",
        "call",
        lambda rng: _net_inputs(rng, with_labels=False),
        _two_layer_predict,
        hint="two_layer_predict (section 4): the forward pass to the scores, then "
        "np.argmax(scores, axis=1).",
    ),
]
