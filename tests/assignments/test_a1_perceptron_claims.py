"""Claims of perceptron.ipynb, proved with the notebook's data and the course reference.

Separable clouds: training stops on its own with every point classified correctly.
XOR: no weights classify all four corners, and 1000 epochs never make an epoch without
a mistake (training never stops). The hidden-layer construction of the written answer
computes XOR. The data are the notebook's own (its data lines are run here) and the
numbers are read from its text.
"""

from __future__ import annotations

import itertools

import numpy as np

from dlcourse.optim.perceptron import Perceptron, sign

from .notebook_text import claim, code_cells, number

NAME = "a1/perceptron"


def _notebook_data(*names: str) -> dict[str, np.ndarray]:
    """Run the notebook's lines that build ``names`` (and the lines before them in their
    cell), stopping before the cell trains anything."""
    (cell,) = [source for source in code_cells(NAME) if f"{names[-1]} = " in source]
    lines = cell.splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith(tuple(f"{n} =" for n in names)))
    namespace: dict[str, object] = {"np": np}
    exec("\n".join(lines[: last + 1]), namespace)  # noqa: S102
    return {name: namespace[name] for name in names}


XOR = _notebook_data("x_xor", "y_xor")
X_XOR, Y_XOR = XOR["x_xor"], XOR["y_xor"]


def test_the_notebooks_separable_clouds_converge_with_no_training_error():
    # "two clouds of points that a line can separate: training stops on its own"
    claim(NAME, r"two clouds of points that a line can separate: training stops on its own")
    blobs = _notebook_data("x_blobs", "y_blobs")
    x, y = blobs["x_blobs"], blobs["y_blobs"]
    budget = int(
        number(NAME, r"train_perceptron\(x_blobs, y_blobs, num_epochs={num}\)", in_code=True)
    )
    model = Perceptron(2).fit(x, y, num_epochs=budget)
    assert model.converged() and len(model.history) < budget
    assert np.all(model.predict(x) == y)


def test_xor_training_never_has_an_epoch_without_mistakes():
    # "The cell below trains for 1000 epochs. Watch the mistakes column: it never reaches 0"
    epochs = int(number(NAME, r"The cell below trains for {num} epochs"))
    claim(NAME, r"it never reaches 0, so training never stops on its own")
    np.testing.assert_array_equal(X_XOR, [[0, 0], [0, 1], [1, 0], [1, 1]])  # the unit square
    model = Perceptron(2).fit(X_XOR, Y_XOR, num_epochs=epochs)
    assert len(model.history) == epochs
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
    claim(NAME, r"two hidden units \(e\.g\. OR and AND")
    h1 = sign(X_XOR @ [1.0, 1.0] - 0.5)  # OR
    h2 = sign(X_XOR @ [1.0, 1.0] - 1.5)  # AND
    np.testing.assert_array_equal(sign(h1 - h2 - 1.0), Y_XOR)
