"""Claims of losses.ipynb, proved with the notebook's demonstration code and the references.

Section 2b: ``exp`` overflows in float64 just above 709. Section 3: on logits of size 1000
the naive softmax returns NaN in both rows (inf / inf and 0 / 0) while the shifted one
gives ordinary probabilities, equal to the naive softmax of the re-centred logits.
Written answer: past a margin of 1 the hinge loss and its gradient are exactly 0, while
cross-entropy stays positive with a non-zero gradient. Each claim is read from the
notebook's text.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse.functional.losses import multiclass_svm_loss, softmax_cross_entropy_loss

from .notebook_text import claim, number, numbers

NAME = "a1/losses"

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
    # "$e^{s}$ is `inf` in float64 once $s > 709$"
    limit = number(NAME, r"\$e\^\{s\}\$ is `inf` in float64 once \$s > {num}\$")
    assert math.isfinite(np.exp(limit))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(np.exp(limit + 1))


def test_naive_softmax_is_nan_in_both_rows_of_the_big_logits(demo):
    # "breaks for logits around 1000"; "The naive version returns `nan` in the first row
    # ($\infty/\infty$) and divides $0/0$ in the second"
    size = number(NAME, r"naive formula breaks for logits around {num}")
    np.testing.assert_allclose(np.abs(demo["big_logits"]).min(), size, rtol=0.05)
    claim(NAME, r"naive version returns `nan` in the first row .{0,40}and divides \$0/0\$")
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


def test_stable_sigmoid_of_the_notebook_is_finite_at_the_stated_logit_size():
    # "a sigmoid that does not overflow either; one is given below. **The checks include
    # logits of size about 1000**"
    size = number(NAME, r"The checks include logits of size about {num}")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [cell for cell in nb.cells if "def stable_sigmoid" in cell.source]
    namespace: dict[str, object] = {"np": np}
    exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = namespace["stable_sigmoid"](np.array([-size, 0.0, size]))
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])


# "Once the correct score is 2 or more (a margin of at least 1 over the best other class)"
CORRECT_SCORE, MARGIN = numbers(
    NAME, r"Once the correct score is {num} or more \(a margin of at least {num} over"
)


@pytest.mark.parametrize("beyond", [0.0, 0.5, 2.0, 4.0])
def test_hinge_is_zero_past_the_margin_and_cross_entropy_is_not(beyond):
    # The best other class scores 1, so the stated correct score leaves the stated margin.
    stated = number(NAME, r"Beyond a margin of {num} the hinge loss is exactly 0 and so is its")
    assert stated == MARGIN == CORRECT_SCORE - 1.0
    row, label = np.array([[CORRECT_SCORE + beyond, 1.0, 0.0]]), np.array([0])
    svm_loss, svm_grad = multiclass_svm_loss(row, label, delta=MARGIN)
    ce_loss, ce_grad = softmax_cross_entropy_loss(row, label)
    assert svm_loss == 0 and not np.any(svm_grad)
    assert ce_loss > 0 and ce_grad[0, 0] < 0
