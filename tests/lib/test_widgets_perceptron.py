"""The perceptron explorer's datasets, epoch stepping and fallback, checked without a browser."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.perceptron import (
    DATASETS,
    MAX_EPOCHS,
    PerceptronExplorer,
    epoch_weights,
    make_dataset,
    reference_train,
    resolve_training,
    training_errors,
)


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_two_dimensional_with_both_labels(name):
    x, y = make_dataset(name)
    assert x.ndim == 2 and x.shape[1] == 2 and y.shape == (x.shape[0],)
    assert set(np.unique(y)) == {-1.0, 1.0}


def test_xor_is_the_four_corners_labelled_by_exclusive_or():
    x, y = make_dataset("XOR")
    expected = np.array([1.0 if a != b else -1.0 for a, b in x])
    np.testing.assert_array_equal(y, expected)


def test_unknown_dataset_is_refused_by_name():
    with pytest.raises(ValueError, match="name"):
        make_dataset("spiral")


def test_weights_after_each_epoch_repeat_the_rule_by_hand_on_and():
    x, y = make_dataset("AND")
    weights, mistakes = epoch_weights(reference_train, x, y, 3)
    # Epoch 0 (lr 1) from w = 0, bias last; ties predict +1. Worked out by hand:
    # (0,0,1): score 0 -> +1, wrong, w = -2 * (0, 0, 1) = (0, 0, -2)
    # (0,1,1): score -2 -> -1, right; (1,0,1): -2, right; (1,1,1): -2 -> -1, wrong:
    # w = (0, 0, -2) + 2 * (1, 1, 1) = (2, 2, 0)
    np.testing.assert_allclose(weights[0], [2.0, 2.0, 0.0])
    assert mistakes[0] == 2
    assert weights.shape == (len(mistakes), 3)


def test_stepping_stops_at_convergence_on_separable_blobs_but_not_on_xor():
    x, y = make_dataset("separable blobs")
    weights, mistakes = epoch_weights(reference_train, x, y, MAX_EPOCHS)
    assert mistakes[-1] == 0 and len(mistakes) < MAX_EPOCHS
    assert not training_errors(weights[-1], x, y).any()
    x, y = make_dataset("XOR")
    weights, mistakes = epoch_weights(reference_train, x, y, MAX_EPOCHS)
    assert len(mistakes) == MAX_EPOCHS and np.all(mistakes > 0)
    assert all(training_errors(w, x, y).any() for w in weights)


def test_training_errors_counts_ties_as_positive():
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    # w = (1, 0), b = 0: the origin scores exactly 0, which is +1.
    np.testing.assert_array_equal(
        training_errors(np.array([1.0, 0.0, 0.0]), x, np.array([-1.0, 1.0])), [True, False]
    )


def test_missing_or_broken_student_training_falls_back_with_a_notice():
    resolved = resolve_training({})
    assert resolved.impl is reference_train and resolved.notice.startswith(REFERENCE_PREFIX)

    def train_perceptron(x, y, num_epochs):
        raise NotImplementedError

    resolved = resolve_training({"train_perceptron": train_perceptron})
    assert not resolved.is_student and "not implemented yet" in resolved.notice


def test_a_working_student_training_function_is_used():
    calls = []

    def train_perceptron(x, y, num_epochs):
        calls.append(num_epochs)
        return reference_train(x, y, num_epochs)

    app = PerceptronExplorer(namespace={"train_perceptron": train_perceptron})
    assert app.resolved.is_student and app.resolved.notice == ""
    state = app.compute(dataset="XOR", epoch=5)
    assert state.shown_epoch == 5 and MAX_EPOCHS in calls
    assert state.notice == ""


def test_explorer_state_draws_and_describes_the_epoch():
    app = PerceptronExplorer()
    state = app.compute(dataset="XOR", epoch=7)
    assert state.shown_epoch == 7 and not state.converged
    assert "mistakes in the last epoch" in app.describe(state)
    assert app.notice(state).startswith(REFERENCE_PREFIX)
    fig = Figure()
    app.draw(state, fig)
    assert len(fig.axes) == 2
    # Beyond convergence the last trained epoch is shown.
    late = app.compute(dataset="AND", epoch=MAX_EPOCHS)
    assert late.converged and late.shown_epoch == late.mistakes.size
    assert app.values() == {"dataset": DATASETS[0], "epoch": 1}
