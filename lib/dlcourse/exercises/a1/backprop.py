"""``backprop.ipynb``: a graph by hand, the fully connected and ReLU layers, a two-layer net.

The layers are :mod:`dlcourse.functional` under the notebook's names; the two graph
exercises are short enough to be written out, with the library's overflow-free sigmoid.
"""

from __future__ import annotations

import numpy as np

from dlcourse.functional.activations import relu_backward, relu_forward, sigmoid
from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.functional.losses import softmax_cross_entropy_loss

fc_forward = linear_forward
"""``fc_forward(x (N, d1, ...), w (D, M), b (M,)) -> (out (N, M), cache)``."""
fc_backward = linear_backward
"""``fc_backward(dout (N, M), cache) -> (dx, dw, db)``."""
relu_layer_forward = relu_forward
"""``relu_layer_forward(x) -> (out, cache)``, any shape."""
relu_layer_backward = relu_backward
"""``relu_layer_backward(dout, cache) -> dx``."""


def graph_add_multiply(
    x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``q = x + y``, ``f = q * z`` elementwise; returns ``(q, f, df/dx, df/dy, df/dz)``."""
    q = x + y
    return q, q * z, z, z, q


def graph_sigmoid_neuron(
    w: np.ndarray, x: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``f = sigmoid(w . x + b)`` for ``w, x`` of shape (D,); returns ``(f, dw, dx, db)``."""
    f = sigmoid(np.asarray(np.dot(w, x) + float(b)))
    local = f * (1.0 - f)
    return f, local * x, local * w, local


def _scores(
    x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray
) -> tuple[np.ndarray, tuple]:
    pre, cache1 = linear_forward(x, w1, b1)
    hidden, cache_relu = relu_forward(pre)
    scores, cache2 = linear_forward(hidden, w2, b2)
    return scores, (cache1, cache_relu, cache2)


def two_layer_loss(
    x: np.ndarray, y: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """fc -> ReLU -> fc -> softmax loss on ``x (N, D)``; ``(loss, dw1, db1, dw2, db2)``."""
    scores, (cache1, cache_relu, cache2) = _scores(x, w1, b1, w2, b2)
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    dhidden, dw2, db2 = linear_backward(dscores, cache2)
    _, dw1, db1 = linear_backward(relu_backward(dhidden, cache_relu), cache1)
    return np.asarray(loss), dw1, db1, dw2, db2


def two_layer_predict(
    x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray
) -> np.ndarray:
    """The predicted class of every row of ``x (N, D)``: shape (N,)."""
    scores, _ = _scores(x, w1, b1, w2, b2)
    return np.argmax(scores, axis=1)
