"""Claims of regularization.ipynb, section 6, proved with the explorer's default settings.

The notebook (and its written answer's rubric) says: without regularization the network
overfits with a large train/val gap; enough L2 shrinks the gap and raises validation
accuracy; too much L2 closes the gap by underfitting; dropout also shrinks the gap.
"""

from __future__ import annotations

import pytest

from dlcourse.widgets.regularization import RegularizationExplorer, train_curves


@pytest.fixture(scope="module")
def runs():
    settings = [(0.0, 0.0), (0.03, 0.0), (0.1, 0.0), (0.0, 0.5)]
    return {setting: train_curves(*setting) for setting in settings}


def test_without_regularization_the_gap_is_large(runs):
    curves = runs[0.0, 0.0]
    assert curves.train_acc[-1] >= 0.95
    assert curves.gap >= 0.2


def test_the_default_view_shows_the_overfitting_label(runs):
    state = RegularizationExplorer().compute(reg=0.0, p=0.0)
    assert state.diagnosis.startswith("overfitting: large train/val gap")


def test_enough_l2_shrinks_the_gap_and_improves_validation_accuracy(runs):
    plain, l2 = runs[0.0, 0.0], runs[0.03, 0.0]
    assert l2.gap < 0.1 < plain.gap
    assert l2.val_acc[-1] > plain.val_acc[-1] + 0.03


def test_too_much_l2_closes_the_gap_by_underfitting(runs):
    strong, good = runs[0.1, 0.0], runs[0.03, 0.0]
    assert abs(strong.gap) < 0.04
    assert strong.train_acc[-1] < good.train_acc[-1]
    assert strong.val_acc[-1] < good.val_acc[-1]


def test_dropout_shrinks_the_gap(runs):
    plain, dropped = runs[0.0, 0.0], runs[0.0, 0.5]
    assert dropped.gap < plain.gap - 0.05
    assert dropped.val_acc[-1] >= plain.val_acc[-1]
