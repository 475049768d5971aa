"""The regularization explorer's training and diagnosis, checked without a browser."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcourse.data.datasets import load_digits
from dlcourse.gradcheck import rel_error
from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.regularization import (
    REFERENCE,
    Impls,
    RegularizationExplorer,
    Settings,
    _gradients,
    diagnose,
    digits_subset,
    resolve_regularizers,
    train_curves,
)

TINY = Settings(num_train=40, hidden=8, batch_size=10, num_epochs=3, lr=0.1)


# --------------------------------------------------------------------------- data


def test_subset_moves_exactly_the_requested_share_of_labels_to_other_classes():
    _, noisy, _, y_val = digits_subset(200, 0.2, 0)
    clean = load_digits(seed=0)
    changed = noisy != clean.y_train[:200]
    assert int(changed.sum()) == 40
    np.testing.assert_array_equal(y_val, clean.y_val)


def test_subset_is_standardized_with_the_training_statistics():
    x_train, _, x_val, _ = digits_subset(200, 0.2, 0)
    raw = load_digits(seed=0).X_train[:200].astype(np.float64)
    assert x_train.shape == (200, 64) and x_val.shape == (300, 64)
    assert abs(x_train.mean()) < 1e-12 and x_train.std() == pytest.approx(1.0)
    np.testing.assert_allclose(x_train[5], (raw[5].ravel() - raw.mean()) / raw.std())


# --------------------------------------------------------------------------- training


def _numeric_loss(params, x, y, reg):
    """data loss + reg * (sum w1**2 + sum w2**2), written out independently."""
    hidden = np.maximum(x @ params["w1"] + params["b1"], 0)
    scores = hidden @ params["w2"] + params["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data = -log_probs[np.arange(len(y)), y].mean()
    return data + reg * (np.sum(params["w1"] ** 2) + np.sum(params["w2"] ** 2))


def test_gradients_of_the_regularized_loss_match_central_differences():
    rng = np.random.default_rng(3)
    params = {
        "w1": rng.standard_normal((6, 5)),
        "b1": rng.standard_normal(5),
        "w2": rng.standard_normal((5, 4)),
        "b2": rng.standard_normal(4),
    }
    x, y, reg, h = rng.standard_normal((7, 6)), rng.integers(0, 4, size=7), 0.05, 1e-6
    grads = _gradients(params, x, y, reg, 0.0, 0, REFERENCE)
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            old = value[index]
            value[index] = old + h
            plus = _numeric_loss(params, x, y, reg)
            value[index] = old - h
            minus = _numeric_loss(params, x, y, reg)
            value[index] = old
            numeric[index] = (plus - minus) / (2 * h)
        assert rel_error(grads[name], numeric) < 1e-7, name


def test_curves_have_one_entry_per_epoch_and_repeat_exactly():
    first = train_curves(0.01, 0.5, settings=TINY)
    second = train_curves(0.01, 0.5, settings=TINY)
    for name in ("train_loss", "val_loss", "train_acc", "val_acc"):
        values = getattr(first, name)
        assert values.shape == (3,)
        np.testing.assert_array_equal(values, getattr(second, name))
    assert np.all((first.val_acc >= 0) & (first.val_acc <= 1))


def test_a_zero_learning_rate_leaves_every_epoch_identical():
    curves = train_curves(0.0, 0.0, settings=Settings(num_train=40, num_epochs=3, lr=0.0))
    assert np.all(curves.train_loss == curves.train_loss[0])
    assert np.all(curves.val_acc == curves.val_acc[0])


def test_the_penalty_and_dropout_come_from_the_given_implementations():
    plain = train_curves(0.0, 0.0, settings=TINY)
    # A penalty with zero gradient and a dropout that keeps everything change nothing.
    neutral = Impls(
        penalty=lambda w, reg: (0.0, np.zeros_like(w)),
        dropout=lambda x, p, seed, train: (x, None),
    )
    same = train_curves(0.1, 0.5, neutral, TINY)
    np.testing.assert_array_equal(plain.train_loss, same.train_loss)
    assert not np.array_equal(plain.train_loss, train_curves(0.1, 0.0, settings=TINY).train_loss)


@pytest.mark.parametrize(
    ("reg", "p", "argument"), [(-1.0, 0.0, "reg"), (float("nan"), 0.0, "reg"), (0.0, 1.0, "p")]
)
def test_bad_settings_are_refused_by_name(reg, p, argument):
    with pytest.raises(ValueError, match=argument):
        train_curves(reg, p, settings=TINY)


@pytest.mark.parametrize(("kwargs", "argument"), [({"num_train": 5}, "num_train"),
                                                  ({"num_train": 50, "label_noise": 1.0},
                                                   "label_noise")])  # fmt: skip
def test_bad_subsets_are_refused_by_name(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        digits_subset(**kwargs)


# --------------------------------------------------------------------------- diagnosis


@pytest.mark.parametrize(
    ("gap", "start"),
    [(0.3, "overfitting"), (0.1, "overfitting"), (0.06, "some gap"), (0.01, "no gap"),
     (-0.02, "no gap")],
)  # fmt: skip
def test_diagnosis_reads_the_gap_as_the_lecture_does(gap, start):
    assert diagnose(gap).startswith(start)


# --------------------------------------------------------------------------- student code


def test_missing_student_functions_fall_back_to_the_reference_with_a_notice():
    impls = resolve_regularizers({})
    assert impls.penalty is REFERENCE.penalty and impls.dropout is REFERENCE.dropout
    assert impls.notice.startswith(REFERENCE_PREFIX)
    assert "l2_penalty" in impls.notice and "inverted_dropout_forward" in impls.notice


def test_unfinished_student_function_is_reported_as_not_implemented():
    def l2_penalty(w, reg):
        raise NotImplementedError

    impls = resolve_regularizers({"l2_penalty": l2_penalty})
    assert not impls.penalty_is_student
    assert "l2_penalty is not implemented yet" in impls.notice


def test_working_student_functions_are_used_without_a_notice():
    def l2_penalty(w, reg):
        return reg * np.sum(w * w), 2 * reg * w

    def inverted_dropout_forward(x, p, seed, train):
        keep = np.random.default_rng(int(seed)).random(x.shape) >= p
        return (x * keep / (1 - p), None) if train else (x, None)

    namespace = {"l2_penalty": l2_penalty, "inverted_dropout_forward": inverted_dropout_forward}
    impls = resolve_regularizers(namespace)
    assert impls.penalty is l2_penalty and impls.dropout is inverted_dropout_forward
    assert impls.notice == ""
    # The student's dropout draws the reference's mask, so training is identical.
    mine = train_curves(0.01, 0.5, impls, TINY)
    np.testing.assert_allclose(mine.val_loss, train_curves(0.01, 0.5, settings=TINY).val_loss)


# --------------------------------------------------------------------------- widget


def test_explorer_state_caches_runs_and_describes_the_diagnosis():
    app = RegularizationExplorer(settings=TINY)
    state = app.compute(reg=0.0, p=0.0)
    assert app.compute(reg=0.0, p=0.0).curves is state.curves
    assert state.diagnosis == diagnose(state.gap)
    assert state.diagnosis in app.describe(state)
    assert app.notice(state).startswith(REFERENCE_PREFIX)
    fig = Figure()
    app.draw(state, fig)
    assert len(fig.axes) == 2


def test_explorer_controls_offer_zero_regularization_as_the_start():
    app = RegularizationExplorer(settings=TINY)
    assert app.values() == {"reg": 0.0, "p": 0.0}
