"""Claims of regularization.ipynb, section 6, proved with the explorer's default settings.

The notebook (and its written answer's rubric) says: without regularization the network
overfits with a large train/val gap; enough L2 shrinks the gap and raises validation
accuracy; too much L2 closes the gap by underfitting; dropout also shrinks the gap. The
written answer quotes the accuracies of each setting; they are read from its text and
checked against the explorer's training runs.
"""

from __future__ import annotations

import re

import pytest

from dlcourse.widgets.regularization import RegularizationExplorer, train_curves

from .notebook_text import claim, number, numbers

NAME = "a2/regularization"
# "About N%" in the answer: the explorer's figure, to within 2 percentage points.
ABOUT = 0.02


def _answer() -> dict[tuple[float, float], dict[str, float]]:
    """The answer's figures per (reg, p): train and val accuracy, gap, as fractions."""
    plain = numbers(
        NAME,
        r"`reg = {num}` reaches about {num}% train and {num}% validation accuracy "
        r"\(gap about {num} points, \"overfitting\"\)",
    )
    some = numbers(NAME, r"`reg = {num}` about {num}% / {num}% \(gap about {num} points")
    none = numbers(NAME, r"`reg = {num}` about {num}% / {num}% \(no gap\)")
    drop = numbers(
        NAME,
        r"Dropout `p = {num}` \(reg 0\) lowers the gap to about {num} points and raises the "
        r"validation accuracy \(about {num}%\)",
    )
    return {
        (plain[0], 0.0): {"train": plain[1], "val": plain[2], "gap": plain[3]},
        (some[0], 0.0): {"train": some[1], "val": some[2], "gap": some[3]},
        (none[0], 0.0): {"train": none[1], "val": none[2], "gap": 0.0},
        (0.0, drop[0]): {"val": drop[2], "gap": drop[1]},
    }


ANSWER = {
    setting: {k: v / 100 for k, v in figures.items()} for setting, figures in _answer().items()
}
PLAIN, GOOD, STRONG, DROPOUT = ANSWER


@pytest.fixture(scope="module")
def runs():
    return {setting: train_curves(*setting) for setting in ANSWER}


@pytest.mark.parametrize("setting", list(ANSWER), ids=lambda s: f"reg={s[0]:g},p={s[1]:g}")
def test_the_answers_figures_match_the_explorer(runs, setting):
    curves, quoted = runs[setting], ANSWER[setting]
    if "train" in quoted:
        assert curves.train_acc[-1] == pytest.approx(quoted["train"], abs=ABOUT)
    assert curves.val_acc[-1] == pytest.approx(quoted["val"], abs=ABOUT)
    assert curves.gap == pytest.approx(quoted["gap"], abs=ABOUT)


def test_without_regularization_the_gap_is_large(runs):
    curves = runs[PLAIN]
    assert curves.train_acc[-1] >= 0.95
    assert curves.gap >= 0.2


def test_the_default_view_shows_the_overfitting_label(runs):
    label = claim(NAME, r"gap about \d+ points, \"(overfitting)\"").group(1)
    state = RegularizationExplorer().compute(reg=PLAIN[0], p=PLAIN[1])
    assert state.diagnosis.startswith(f"{label}: large train/val gap")


def test_enough_l2_shrinks_the_gap_and_improves_validation_accuracy(runs):
    kept = number(NAME, r"I would keep `reg = {num}`: it has the best validation accuracy")
    assert kept == GOOD[0]
    plain, l2 = runs[PLAIN], runs[GOOD]
    assert l2.gap < 0.1 < plain.gap
    assert l2.val_acc[-1] == max(curves.val_acc[-1] for curves in runs.values())


def test_too_much_l2_closes_the_gap_by_underfitting(runs):
    claim(NAME, re.escape("both accuracies are low, which is underfitting"))
    strong, good = runs[STRONG], runs[GOOD]
    assert abs(strong.gap) < 0.04
    assert strong.train_acc[-1] < good.train_acc[-1]
    assert strong.val_acc[-1] < good.val_acc[-1]


def test_dropout_shrinks_the_gap(runs):
    plain, dropped = runs[PLAIN], runs[DROPOUT]
    assert dropped.gap < plain.gap - 0.05
    assert dropped.val_acc[-1] >= plain.val_acc[-1]
