"""The perceptron: its learning rate, its update rule, convergence and the XOR failure."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.optim.perceptron import (
    Perceptron,
    decision_boundary,
    perceptron_lr,
    perceptron_update,
    sign,
)

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([-1, 1, 1, -1])


def separable_blobs(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Points on both sides of the line x1 + 2 x2 = 1, none closer to it than 0.2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=(4 * n, 2))
    distance = (x[:, 0] + 2 * x[:, 1] - 1) / np.sqrt(5)
    keep = np.abs(distance) > 0.2
    x, distance = x[keep][:n], distance[keep][:n]
    return x, np.where(distance > 0, 1, -1)


def test_learning_rate_is_1000_over_1000_plus_t() -> None:
    assert perceptron_lr(0) == 1.0
    assert perceptron_lr(1000) == 0.5
    np.testing.assert_allclose(perceptron_lr(np.array([1, 3000])), [1000 / 1001, 0.25])
    with pytest.raises(ValueError, match="epoch"):
        perceptron_lr(-1)


def test_sign_sends_zero_to_plus_one() -> None:
    np.testing.assert_array_equal(sign(np.array([-2.0, 0.0, 3.0])), [-1.0, 1.0, 1.0])


def test_update_moves_by_twice_lr_times_x_on_a_mistake_only() -> None:
    w = np.array([0.5, -1.0, 0.0])
    x = np.array([2.0, 1.0, 1.0])  # w . x = 0 -> predicted +1
    new_w, wrong = perceptron_update(w, x, -1.0, lr=0.25)
    assert wrong
    np.testing.assert_allclose(new_w, w + 0.25 * (-2.0) * x)
    same_w, wrong = perceptron_update(w, x, 1.0, lr=0.25)
    assert not wrong
    np.testing.assert_array_equal(same_w, w)


def test_first_epoch_by_hand() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([-1, 1])
    model = Perceptron(2).fit(x, y, num_epochs=1)
    # Example 1: w = 0 predicts +1, wrong: w = 0 - 2 * (1, 0, 1) = (-2, 0, -2).
    # Example 2: w . (0, 1, 1) = -2 predicts -1, wrong: w += 2 * (0, 1, 1) -> (-2, 2, 0).
    record = model.history[0]
    np.testing.assert_allclose(record.weights, [-2.0, 2.0, 0.0])
    assert record.mistakes == 2
    assert record.errors == 0
    assert record.lr == 1.0


def test_converges_to_zero_errors_on_linearly_separable_data() -> None:
    x, y = separable_blobs(seed=0)
    model = Perceptron(2).fit(x, y, num_epochs=200)
    assert model.converged()
    assert model.history[-1].errors == 0
    np.testing.assert_array_equal(model.predict(x), y)
    assert len(model.history) < 200  # stopped once an epoch made no mistake


def test_never_reaches_zero_errors_on_xor() -> None:
    model = Perceptron(2).fit(XOR_X, XOR_Y, num_epochs=300)
    assert len(model.history) == 300
    assert not model.converged()
    assert min(record.errors for record in model.history) >= 1
    assert min(record.mistakes for record in model.history) >= 1


def test_history_records_the_decaying_rate_per_epoch_and_continues_across_fits() -> None:
    model = Perceptron(2, shuffle=True, seed=1)
    model.fit(XOR_X, XOR_Y, num_epochs=3).fit(XOR_X, XOR_Y, num_epochs=2)
    assert [r.epoch for r in model.history] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([r.lr for r in model.history], 1000 / (1000 + np.arange(5)))
    np.testing.assert_array_equal(model.history[-1].weights, model.weights)


def test_shuffled_training_is_reproducible_from_the_seed() -> None:
    x, y = separable_blobs(seed=2)
    a = Perceptron(2, shuffle=True, seed=7).fit(x, y, 50)
    b = Perceptron(2, shuffle=True, seed=7).fit(x, y, 50)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_labels_other_than_plus_minus_one_are_refused() -> None:
    with pytest.raises(ValueError, match="2 \\* y - 1"):
        Perceptron(2).fit(XOR_X, np.array([0, 1, 1, 0]))
    with pytest.raises(ValueError, match="y must have shape"):
        Perceptron(2).fit(XOR_X, np.array([1, -1]))
    with pytest.raises(ValueError, match="3 features"):
        Perceptron(3).fit(XOR_X, XOR_Y)


def test_decision_boundary_of_a_vertical_line() -> None:
    segment = decision_boundary(np.array([2.0, 0.0, -1.0]), (0.0, 1.0), (-1.0, 1.0))
    np.testing.assert_allclose(sorted(segment.tolist()), [[0.5, -1.0], [0.5, 1.0]])


def test_decision_boundary_points_lie_on_the_line_and_in_the_box() -> None:
    weights = np.array([1.0, 2.0, -1.0])
    segment = decision_boundary(weights, (-3.0, 3.0), (-3.0, 3.0))
    assert segment.shape == (2, 2)
    np.testing.assert_allclose(segment @ weights[:2] + weights[2], 0.0, atol=1e-12)
    assert np.all(np.abs(segment) <= 3.0)
    # The segment spans the box: from the left edge (x = -3) to the right edge (x = 3).
    np.testing.assert_allclose(sorted(segment[:, 0]), [-3.0, 3.0])


def test_decision_boundary_is_none_when_the_line_misses_the_box_or_does_not_exist() -> None:
    assert decision_boundary(np.array([1.0, 0.0, -5.0]), (0.0, 1.0), (0.0, 1.0)) is None
    assert decision_boundary(np.array([0.0, 0.0, 1.0]), (0.0, 1.0), (0.0, 1.0)) is None
