"""Claims of perceptron.ipynb, proved with the notebook's data and the course reference.

Separable clouds: training stops on its own with every point classified correctly.
XOR: no weights classify all four corners, and 1000 epochs never make an epoch without
a mistake (training never stops). The hidden-layer construction of the written answer
computes XOR.
"""

from __future__ import annotations

import itertools

import numpy as np

from dlcourse.optim.perceptron import Perceptron, sign

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([-1.0, 1.0, 1.0, -1.0])


def test_the_notebooks_separable_clouds_converge_with_no_training_error():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal([-1.5, -1.0], 0.6, (20, 2)), rng.normal([1.5, 1.0], 0.6, (20, 2))])
    y = np.repeat([-1.0, 1.0], 20)
    model = Perceptron(2).fit(x, y, num_epochs=100)
    assert model.converged() and len(model.history) < 100
    assert np.all(model.predict(x) == y)


def test_xor_training_never_has_an_epoch_without_mistakes():
    model = Perceptron(2).fit(X_XOR, Y_XOR, num_epochs=1000)
    assert len(model.history) == 1000
    assert min(record.mistakes for record in model.history) >= 1
    assert min(record.errors for record in model.history) >= 1


def test_no_weights_on_a_dense_grid_classify_xor():
    # The proof is algebraic (the written answer); this is an independent sanity check
    # over 41**3 weight vectors including many exact ties.
    values = np.linspace(-2.0, 2.0, 41)
    xb = np.hstack([X_XOR, np.ones((4, 1))])
    for w in itertools.product(values, repeat=3):
        assert np.any(sign(xb @ np.array(w)) != Y_XOR)


def test_the_answers_hidden_layer_computes_xor():
    h1 = sign(X_XOR @ [1.0, 1.0] - 0.5)  # OR
    h2 = sign(X_XOR @ [1.0, 1.0] - 1.5)  # AND
    np.testing.assert_array_equal(sign(h1 - h2 - 1.0), Y_XOR)
