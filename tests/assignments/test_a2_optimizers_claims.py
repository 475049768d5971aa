"""Claims of optimizers.ipynb, section 7, proved with the reference update rules.

The written answer says: on the ravine with the explorer's defaults (lr 0.05, momentum
0.9, 100 steps) SGD ends with a loss of about 0.29 while momentum and Nesterov end below
1e-4. The "things to try" say that raising SGD's learning rate makes it diverge across the
steep direction of the valley (``5 y^2``: the rubric's limit 2 / curvature = 2 / 10 =
0.2), and that momentum falls back to SGD at momentum 0. Every number is read from the
notebook's text.
"""

from __future__ import annotations

import pytest

from dlcourse.widgets.optimizer_race import OptimizerRace, race

from .notebook_text import claim, number, numbers

NAME = "a2/optimizers"
# "With the defaults (lr 0.05, μ = 0.9, 100 steps) SGD ends with a loss of about 0.29 while
# momentum and Nesterov are below 1e-4."
LR, MU, STEPS, SGD_LOSS, MOMENTUM_BELOW = numbers(
    NAME,
    r"With the defaults \(lr {num}, μ = {num}, {num} steps\) SGD ends with a loss of about "
    r"{num} while momentum and Nesterov are below {num}",
)


def _defaults() -> dict[str, object]:
    app = OptimizerRace()
    return {name: control.value for name, control in app.controls.items()}


def test_the_explorer_opens_on_the_ravine_with_the_settings_the_answer_quotes():
    values = _defaults()
    assert values["surface"] == "ravine"
    assert (values["lr"], values["mu"]) == (LR, MU)
    assert OptimizerRace().num_steps == STEPS


def test_on_the_ravine_sgd_ends_at_the_quoted_loss_and_both_momentum_forms_below():
    runs = race("ravine", LR, _defaults()["adaptive_lr"], MU, num_steps=int(STEPS))
    # "about 0.29": to the last quoted digit.
    assert runs["SGD"].final_loss == pytest.approx(SGD_LOSS, abs=0.01)
    assert runs["momentum"].final_loss < MOMENTUM_BELOW
    assert runs["Nesterov"].final_loss < MOMENTUM_BELOW


def test_sgd_diverges_on_the_ravine_once_its_rate_passes_two_over_the_curvature():
    # "**ravine**: $f(x, y) = 0.05\,x^2 + 5\,y^2$": the steep curvature is 2 * 5 = 10, and
    # the rubric puts the limit at "lr above about 2 / curvature".
    steep = number(NAME, r"\*\*ravine\*\*: \$f\(x, y\) = [\d.]+\\,x\^2 \+ {num}\\,y\^2\$")
    claim(NAME, r"lr above about 2 / curvature diverges")
    limit = 2 / (2 * steep)
    adaptive = _defaults()["adaptive_lr"]
    assert not race("ravine", 0.95 * limit, adaptive, MU)["SGD"].diverged
    assert race("ravine", 1.25 * limit, adaptive, MU)["SGD"].diverged


def test_momentum_zero_is_plain_sgd():
    claim(NAME, r"on the ravine, set the momentum to 0 and watch how far momentum and Nesterov")
    runs = race("ravine", LR, _defaults()["adaptive_lr"], 0.0)
    assert runs["momentum"].final_loss == pytest.approx(runs["SGD"].final_loss, rel=1e-12)
