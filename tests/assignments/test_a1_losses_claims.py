"""Claims of losses.ipynb, proved with the notebook's demonstration code and the references.

Section 2b: ``exp`` overflows in float64 just above 709. Section 3: on logits of size 1000
the naive softmax returns NaN in both rows (inf / inf and 0 / 0) while the shifted one
gives ordinary probabilities, equal to the naive softmax of the re-centred logits.
Written answer: past a margin of 1 the hinge loss and its gradient are exactly 0, while
cross-entropy stays positive with a non-zero gradient.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse.functional.losses import multiclass_svm_loss, softmax_cross_entropy_loss

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "a1" / "losses.ipynb"


@pytest.fixture(scope="module")
def demo():
    """The namespace after the notebook's naive-versus-shifted softmax cell."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [cell for cell in nb.cells if "def naive_softmax" in cell.source]
    namespace: dict[str, object] = {"np": np}
    exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    return namespace


def test_exp_overflows_just_above_709():
    assert math.isfinite(np.exp(709.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(np.exp(710.0))


def test_naive_softmax_is_nan_in_both_rows_of_the_big_logits(demo):
    with np.errstate(all="ignore"):
        probs = demo["naive_softmax"](demo["big_logits"])
    assert np.all(np.isnan(probs))


def test_shifted_softmax_gives_ordinary_probabilities(demo):
    probs = demo["shifted_softmax"](demo["big_logits"])
    row = np.exp([0.0, -1.0, -10.0]) / np.exp([0.0, -1.0, -10.0]).sum()
    np.testing.assert_allclose(probs[0], row)
    np.testing.assert_allclose(
        probs[1], np.exp([0.0, -1.0, -20.0]) / np.exp([0.0, -1.0, -20.0]).sum()
    )
    recentred = demo["big_logits"] + np.array([[-1000.0], [1000.0]])
    np.testing.assert_allclose(demo["naive_softmax"](recentred), probs)


def test_stable_sigmoid_of_the_notebook_is_finite_at_1000():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [cell for cell in nb.cells if "def stable_sigmoid" in cell.source]
    namespace: dict[str, object] = {"np": np}
    exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = namespace["stable_sigmoid"](np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("s0", [2.0, 2.5, 4.0, 6.0])
def test_hinge_is_zero_past_the_margin_and_cross_entropy_is_not(s0):
    row, label = np.array([[s0, 1.0, 0.0]]), np.array([0])
    svm_loss, svm_grad = multiclass_svm_loss(row, label)
    ce_loss, ce_grad = softmax_cross_entropy_loss(row, label)
    assert svm_loss == 0 and not np.any(svm_grad)
    assert ce_loss > 0 and ce_grad[0, 0] < 0
