"""The early-stopping rule on hand-made validation histories."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.train.early_stopping import early_stopping


def test_stops_patience_epochs_after_the_best_loss():
    history = [1.0, 0.8, 0.6, 0.7, 0.65, 0.9, 0.5]
    # Best at epoch 2; epochs 3, 4 and 5 do not improve, so patience 3 stops after 5.
    assert early_stopping(np.array(history), patience=3) == (5, 2)


def test_runs_to_the_end_when_patience_is_never_used_up():
    history = np.array([1.0, 0.9, 0.95, 0.8, 0.85])
    assert early_stopping(history, patience=2) == (4, 3)


def test_a_tie_is_not_an_improvement_and_keeps_the_earlier_epoch():
    history = np.array([0.5, 0.5, 0.5])
    assert early_stopping(history, patience=2) == (2, 0)


def test_patience_one_stops_at_the_first_epoch_that_does_not_improve():
    assert early_stopping(np.array([3.0, 2.0, 2.5, 1.0]), patience=1) == (2, 1)


def test_maximize_reads_the_history_as_an_accuracy():
    accuracy = np.array([0.5, 0.7, 0.65, 0.69, 0.9])
    assert early_stopping(accuracy, patience=2, maximize=True) == (3, 1)
    assert early_stopping(accuracy, patience=3, maximize=True) == (4, 4)


def test_a_single_epoch_is_both_the_stop_and_the_best():
    assert early_stopping(np.array([0.3]), patience=5) == (0, 0)


@pytest.mark.parametrize(
    ("history", "patience", "argument"),
    [
        (np.array([]), 1, "val_history"),
        (np.array([[1.0, 2.0]]), 1, "val_history"),
        (np.array([1.0, np.nan]), 1, "val_history"),
        (np.array([1.0, 2.0]), 0, "patience"),
        (np.array([1.0, 2.0]), 1.5, "patience"),
    ],
)
def test_bad_arguments_are_refused_by_name(history, patience, argument):
    with pytest.raises(ValueError, match=argument):
        early_stopping(history, patience)
