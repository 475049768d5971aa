"""The optimizer race and the schedule explorer, checked without a browser."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.optimizer_race import (
    OPTIMIZERS,
    REFERENCE,
    REFERENCE_RULES,
    SURFACES,
    OptimizerRace,
    Rules,
    ScheduleExplorer,
    describe_runs,
    race,
    resolve_rules,
    resolve_schedules,
    run_optimizer,
    schedule_curve,
)

# --------------------------------------------------------------------------- surfaces


@pytest.mark.parametrize("key", sorted(SURFACES))
def test_each_gradient_matches_central_differences(key):
    surface = SURFACES[key]
    h = 1e-6
    for point in ([0.3, -0.7], [-1.1, 0.4], list(surface.start)):
        w = np.array(point)
        numeric = np.array(
            [(surface.loss(*(w + h * e)) - surface.loss(*(w - h * e))) / (2 * h) for e in np.eye(2)]
        )
        np.testing.assert_allclose(surface.grad(w), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("key", sorted(SURFACES))
def test_the_listed_minima_have_loss_zero_and_no_gradient(key):
    surface = SURFACES[key]
    for x, y in surface.minima:
        assert surface.loss(np.array(x), np.array(y)) == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(surface.grad(np.array([x, y])), 0.0, atol=1e-12)


# --------------------------------------------------------------------------- update rules


def test_reference_rules_take_the_notebook_signatures():
    w, dw, s = np.array([1.0, -2.0]), np.array([0.5, 4.0]), np.array([0.2, -0.1])
    np.testing.assert_allclose(REFERENCE_RULES["SGD"](w, dw, 0.1), [0.95, -2.4])
    # Classical momentum: v = 0.9 * s - 0.1 * dw; w + v.
    v = np.array([0.18 - 0.05, -0.09 - 0.4])
    new_w, new_v = REFERENCE_RULES["momentum"](w, dw, s, 0.1, 0.9)
    np.testing.assert_allclose(new_v, v)
    np.testing.assert_allclose(new_w, w + v)
    # Nesterov in look-ahead variables: w + 1.9 * v_new - 0.9 * v_old.
    new_w, _ = REFERENCE_RULES["Nesterov"](w, dw, s, 0.1, 0.9)
    np.testing.assert_allclose(new_w, w + 1.9 * v - 0.9 * s)
    # With mu = 0 (the slider's lowest value) Nesterov is plain SGD.
    new_w, new_v = REFERENCE_RULES["Nesterov"](w, dw, s, 0.1, 0.0)
    np.testing.assert_allclose(new_w, [0.95, -2.4])
    np.testing.assert_allclose(new_v, [-0.05, -0.4])


def test_reference_adam_on_the_first_step_moves_every_coordinate_by_about_lr():
    # With zero moments and t = 1 the corrected moments are g and g**2: a step of -lr*sign(g).
    w, dw = np.array([1.0, -2.0, 0.5]), np.array([3.0, -0.01, 200.0])
    new_w, m, v = REFERENCE_RULES["Adam"](w, dw, np.zeros(3), np.zeros(3), 1, 0.1, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(new_w, w - 0.1 * np.sign(dw), rtol=1e-5)
    np.testing.assert_allclose(m, 0.1 * dw)
    np.testing.assert_allclose(v, 0.001 * dw**2)


def test_a_working_student_function_is_used_and_a_broken_one_is_replaced():
    def sgd_step(w, dw, lr):
        return w - lr * dw

    def adam_step(*args):
        raise NotImplementedError

    rules = resolve_rules({"sgd_step": sgd_step, "adam_step": adam_step})
    assert rules.impls["SGD"] is sgd_step
    assert rules.from_student == frozenset({"SGD"})
    assert rules.impls["Adam"] is REFERENCE_RULES["Adam"]
    assert REFERENCE_PREFIX in rules.notice
    assert "adam_step is not implemented yet" in rules.notice
    assert "momentum_step is not defined yet" in rules.notice


def test_without_a_namespace_everything_is_the_reference_with_a_notice():
    rules = resolve_rules(None)
    assert rules.from_student == frozenset()
    assert all(rules.impls[name] is REFERENCE_RULES[name] for name in OPTIMIZERS)
    assert rules.notice.count(REFERENCE_PREFIX) == len(OPTIMIZERS)


# --------------------------------------------------------------------------- the race


def test_sgd_on_the_ravine_follows_the_closed_form():
    # Along each axis SGD multiplies the coordinate by (1 - lr * curvature) per step.
    run = run_optimizer("SGD", SURFACES["ravine"], REFERENCE_RULES["SGD"], 0.05, 0.9, 20)
    assert run.path.shape == (21, 2)
    np.testing.assert_allclose(run.path[-1], [-4.0 * 0.995**20, 1.0 * 0.5**20])
    expected = 0.05 * (4.0 * 0.995**20) ** 2 + 5.0 * 0.5**40
    assert run.final_loss == pytest.approx(expected)
    assert not run.diverged


def test_momentum_beats_sgd_on_the_ravine_and_adam_escapes_the_saddle():
    ravine = race("ravine", 0.05, 0.1, 0.9)
    assert ravine["momentum"].final_loss < 1e-2 < ravine["SGD"].final_loss
    saddle = race("saddle", 0.05, 0.1, 0.9)
    # The saddle point itself has loss 1/4; SGD has barely left it, Adam reached a minimum.
    assert saddle["SGD"].final_loss > 0.2
    assert saddle["Adam"].final_loss < 1e-2


def test_too_large_a_learning_rate_is_reported_as_diverged():
    runs = race("ravine", 0.5, 0.1, 0.0, num_steps=200)
    assert runs["SGD"].diverged and math.isinf(runs["SGD"].final_loss)
    assert len(runs["SGD"].path) < 201
    assert "SGD diverged" in describe_runs(runs, 200)


def test_rules_that_change_their_inputs_in_place_do_not_disturb_the_race():
    def sloppy_sgd(w, dw, lr):
        w -= lr * dw
        return w

    rules = Rules({**REFERENCE.impls, "SGD": sloppy_sgd})
    mine = race("rosenbrock", 0.02, 0.05, 0.5, num_steps=30, rules=rules)["SGD"]
    reference = race("rosenbrock", 0.02, 0.05, 0.5, num_steps=30)["SGD"]
    np.testing.assert_array_equal(mine.path, reference.path)
    assert SURFACES["rosenbrock"].start == (-1.2, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"surface": "bowl"}, "surface"), ({"lr": -1.0}, "lr"), ({"mu": 1.0}, "mu")],
)
def test_bad_settings_are_refused_by_name(kwargs, message):
    settings = {"surface": "ravine", "lr": 0.1, "adaptive_lr": 0.1, "mu": 0.9, **kwargs}
    with pytest.raises(ValueError, match=message):
        race(**settings)


def test_the_app_reports_the_final_losses_and_draws():
    app = OptimizerRace()
    app.num_steps = 20
    state = app.compute(surface="saddle", lr=0.05, adaptive_lr=0.1, mu=0.9)
    assert set(state.runs) == set(OPTIMIZERS)
    text = app.describe(state)
    assert text.startswith("final loss after 20 steps: SGD ")
    app.draw(state, Figure())
    app.update()
    assert "final loss after" in app.status_html.value
    assert app.image.value
    assert REFERENCE_PREFIX in app.notice_html.value


# --------------------------------------------------------------------------- schedules


def test_schedule_curves_follow_their_formulas():
    step = schedule_curve("step decay", 0.1)
    assert step.shape == (100,)
    np.testing.assert_allclose(step[[0, 29, 30, 59, 60, 99]], [0.1, 0.1, 0.01, 0.01, 1e-3, 1e-4])
    cosine = schedule_curve("cosine", 0.1)
    np.testing.assert_allclose(cosine[[0, 50]], [0.1, 0.05])
    warm = schedule_curve("warm-up", 0.1)
    np.testing.assert_allclose(warm[[0, 5, 10, 99]], [0.01, 0.055, 0.1, 0.1])
    both = schedule_curve("warm-up + cosine", 0.1)
    np.testing.assert_allclose(both[[0, 10, 55]], [0.01, 0.1, 0.05])


def test_the_schedule_explorer_uses_the_students_functions():
    def cosine_lr(epoch, base_lr, t_max, min_lr):
        return np.full(np.shape(epoch), 0.5 * base_lr)

    impls, notice = resolve_schedules({"cosine_lr": cosine_lr})
    assert impls["cosine_lr"] is cosine_lr
    assert "step_decay_lr is not defined yet" in notice and "cosine_lr" not in notice
    np.testing.assert_allclose(schedule_curve("cosine", 0.2, impls), 0.1)
    app = ScheduleExplorer({"cosine_lr": cosine_lr})
    state = app.compute(schedule="cosine", base_lr=0.2)
    assert app.describe(state) == ("learning rate at epoch 0: 0.1, epoch 50: 0.1, epoch 99: 0.1")
    app.update()
    assert app.image.value


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule"):
        schedule_curve("triangle", 0.1)
