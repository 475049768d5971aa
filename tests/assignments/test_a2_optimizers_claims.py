"""Claims of optimizers.ipynb, section 7, proved with the reference update rules.

The written answer's rubric says: on the ravine with the explorer's defaults (lr 0.05,
adaptive lr 0.1, momentum 0.9, 100 steps) SGD ends with a loss of about 0.29 while
momentum and Nesterov end below 1e-4. The "things to try" say that raising SGD's learning
rate makes it diverge across the steep direction of the valley (``5 y^2``: any rate above
2 / 10 = 0.2), and that momentum falls back to SGD at momentum 0.
"""

from __future__ import annotations

import pytest

from dlcourse.widgets.optimizer_race import OptimizerRace, race

DEFAULTS = {"lr": 0.05, "adaptive_lr": 0.1, "mu": 0.9}


def test_the_explorer_opens_on_the_ravine_with_the_settings_the_rubric_quotes():
    app = OptimizerRace()
    values = {name: control.value for name, control in app.controls.items()}
    assert values == {"surface": "ravine", **DEFAULTS}
    assert app.num_steps == 100


def test_on_the_ravine_sgd_ends_near_029_and_both_momentum_forms_below_1e4():
    runs = race("ravine", **DEFAULTS, num_steps=100)
    assert runs["SGD"].final_loss == pytest.approx(0.29, abs=0.01)
    assert runs["momentum"].final_loss < 1e-4
    assert runs["Nesterov"].final_loss < 1e-4


def test_sgd_diverges_on_the_ravine_once_its_rate_passes_02():
    assert not race("ravine", 0.19, 0.1, 0.9)["SGD"].diverged
    assert race("ravine", 0.25, 0.1, 0.9)["SGD"].diverged


def test_momentum_zero_is_plain_sgd():
    runs = race("ravine", 0.05, 0.1, 0.0)
    assert runs["momentum"].final_loss == pytest.approx(runs["SGD"].final_loss, rel=1e-12)
