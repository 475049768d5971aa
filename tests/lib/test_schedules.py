"""Learning-rate schedules against torch.optim.lr_scheduler and against closed forms."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from dlcourse.nn.module import Parameter
from dlcourse.optim.optimizers import SGD
from dlcourse.optim.schedules import (
    CosineAnnealing,
    CosineWarmRestarts,
    CyclicTriangular,
    ExponentialDecay,
    LinearWarmup,
    LRScheduler,
    ReduceLROnPlateau,
    Schedule,
    StepDecay,
)

BASE_LR = 0.1
NUM_EPOCHS = 60


def torch_lrs(make: Callable[[torch.optim.Optimizer], object], num_epochs: int) -> np.ndarray:
    """The learning rate torch uses in each epoch, stepping its scheduler after each."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=BASE_LR)
    scheduler = make(opt)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes about call order are not our concern
        for _ in range(num_epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
    return np.array(lrs)


def driven_lrs(schedule: Schedule, num_epochs: int) -> np.ndarray:
    """The learning rate our optimizer holds in each epoch under an LRScheduler."""
    opt = SGD([Parameter(np.zeros(1))], lr=123.0)  # overwritten by the scheduler
    scheduler = LRScheduler(opt, schedule)
    lrs = []
    for _ in range(num_epochs):
        lrs.append(opt.lr)
        scheduler.step()
    return np.array(lrs)


TORCH_CASES = {
    "step": (
        StepDecay(BASE_LR, step_size=7, gamma=0.5),
        lambda o: tls.StepLR(o, step_size=7, gamma=0.5),
    ),
    "exponential": (ExponentialDecay(BASE_LR, gamma=0.93), lambda o: tls.ExponentialLR(o, 0.93)),
    "cosine": (
        CosineAnnealing(BASE_LR, t_max=25, min_lr=0.002),
        lambda o: tls.CosineAnnealingLR(o, T_max=25, eta_min=0.002),
    ),
    "cosine_to_zero": (
        CosineAnnealing(BASE_LR, t_max=NUM_EPOCHS),
        lambda o: tls.CosineAnnealingLR(o, T_max=NUM_EPOCHS),
    ),
    "linear_warmup": (
        LinearWarmup(BASE_LR, warmup_epochs=8, start_factor=0.25),
        lambda o: tls.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8),
    ),
    "warmup_then_cosine": (
        LinearWarmup(BASE_LR, 5, start_factor=0.1, then=CosineAnnealing(BASE_LR, t_max=40)),
        lambda o: tls.SequentialLR(
            o,
            [tls.LinearLR(o, 0.1, total_iters=5), tls.CosineAnnealingLR(o, T_max=40)],
            milestones=[5],
        ),
    ),
    "cyclic_triangular": (
        CyclicTriangular(0.01, BASE_LR, step_size_up=6),
        lambda o: tls.CyclicLR(o, 0.01, BASE_LR, step_size_up=6, cycle_momentum=False),
    ),
    "cyclic_asymmetric": (
        CyclicTriangular(0.01, BASE_LR, step_size_up=3, step_size_down=7),
        lambda o: tls.CyclicLR(
            o, 0.01, BASE_LR, step_size_up=3, step_size_down=7, cycle_momentum=False
        ),
    ),
    "cyclic_triangular2": (
        CyclicTriangular(0.01, BASE_LR, step_size_up=4, step_size_down=5, mode="triangular2"),
        lambda o: tls.CyclicLR(o, 0.01, BASE_LR, 4, 5, mode="triangular2", cycle_momentum=False),
    ),
    "warm_restarts": (
        CosineWarmRestarts(BASE_LR, t_0=9, min_lr=0.001),
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=9, eta_min=0.001),
    ),
    "warm_restarts_growing": (
        CosineWarmRestarts(BASE_LR, t_0=3, t_mult=2),
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    ),
}


@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_schedule_matches_torch_lr_scheduler_every_epoch(case: str) -> None:
    schedule, make = TORCH_CASES[case]
    expected = torch_lrs(make, NUM_EPOCHS)
    pure = np.array([schedule.lr_at(e) for e in range(NUM_EPOCHS)])
    np.testing.assert_allclose(pure, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(driven_lrs(schedule, NUM_EPOCHS), expected, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- closed forms


def test_step_decay_divides_by_ten_every_step_size_epochs() -> None:
    lrs = StepDecay(1.0, step_size=3).lrs(9)
    np.testing.assert_allclose(lrs, [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])


def test_cosine_hits_base_midpoint_and_minimum() -> None:
    schedule = CosineAnnealing(1.0, t_max=10, min_lr=0.2)
    assert schedule.lr_at(0) == pytest.approx(1.0)
    assert schedule.lr_at(5) == pytest.approx(0.6)
    assert schedule.lr_at(10) == pytest.approx(0.2)


def test_warmup_ramps_linearly_then_stays_constant() -> None:
    lrs = LinearWarmup(0.8, warmup_epochs=4, start_factor=0.25).lrs(7)
    np.testing.assert_allclose(lrs, [0.2, 0.35, 0.5, 0.65, 0.8, 0.8, 0.8])


def test_warmup_hands_over_to_a_step_schedule_at_its_epoch_zero() -> None:
    schedule = LinearWarmup(1.0, 2, start_factor=0.5, then=StepDecay(1.0, 2, gamma=0.5))
    np.testing.assert_allclose(schedule.lrs(8), [0.5, 0.75, 1, 1, 0.5, 0.5, 0.25, 0.25])


def test_triangular_cycle_rises_and_falls_linearly_between_bounds() -> None:
    lrs = CyclicTriangular(1.0, 3.0, step_size_up=2).lrs(9)
    np.testing.assert_allclose(lrs, [1, 2, 3, 2, 1, 2, 3, 2, 1])


def test_warm_restarts_restart_at_base_lr_after_doubling_periods() -> None:
    schedule = CosineWarmRestarts(1.0, t_0=2, t_mult=2)
    restarts = [0, 2, 6, 14, 30]  # periods of 2, 4, 8, 16
    for start in restarts:
        assert schedule.lr_at(start) == pytest.approx(1.0)
    # Half-way through the period of length 8 that starts at epoch 6.
    assert schedule.lr_at(10) == pytest.approx(0.5)
    # Fractional epochs inside a period follow the cosine too.
    assert schedule.lr_at(6 + 8 / 3) == pytest.approx((1 + math.cos(math.pi / 3)) / 2)


# --------------------------------------------------------------------------- plateau


def plateau_metrics(seed: int, n: int = 80) -> np.ndarray:
    """A noisy loss that improves in bursts and then stalls, so plateaus happen."""
    rng = np.random.default_rng(seed)
    trend = np.repeat(np.linspace(1.0, 0.2, 8), n // 8)
    return trend + 0.05 * rng.standard_normal(n)


PLATEAU_CONFIGS = [
    {"mode": "min", "factor": 0.5, "patience": 2},
    {"mode": "min", "factor": 0.1, "patience": 1, "cooldown": 3, "min_lr": 1e-4},
    {"mode": "max", "factor": 0.5, "patience": 3, "threshold": 0.02, "threshold_mode": "abs"},
    {"mode": "max", "factor": 0.3, "patience": 0, "threshold": 0.0, "cooldown": 1},
]


@pytest.mark.parametrize("config", PLATEAU_CONFIGS)
def test_reduce_on_plateau_matches_torch_on_a_noisy_metric(config: dict) -> None:
    metrics = plateau_metrics(seed=len(str(config)))
    if config["mode"] == "max":
        metrics = -metrics  # an accuracy-like metric that rises in bursts
    p = torch.zeros(1, requires_grad=True)
    torch_opt = torch.optim.SGD([p], lr=BASE_LR)
    theirs = tls.ReduceLROnPlateau(torch_opt, **config)
    ours_opt = SGD([Parameter(np.zeros(1))], lr=BASE_LR)
    ours = ReduceLROnPlateau(ours_opt, **config)
    reductions = 0
    for value in metrics:
        theirs.step(float(value))
        lr = ours.step(float(value))
        assert lr == pytest.approx(torch_opt.param_groups[0]["lr"], rel=1e-12)
        assert ours_opt.lr == lr
        reductions += lr < BASE_LR
    assert reductions > 0  # the metric really had plateaus


def test_plateau_halves_after_patience_epochs_without_improvement() -> None:
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=2)
    lrs = [scheduler.step(acc) for acc in [0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7]]
    # 0.6 is the best at epoch 1; epochs 2, 3 and 4 are bad; the third bad one reduces.
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]


def test_plateau_never_goes_below_min_lr() -> None:
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = ReduceLROnPlateau(opt, factor=0.1, patience=0, min_lr=0.05)
    lrs = [scheduler.step(1.0) for _ in range(6)]
    assert lrs[0] == 1.0
    assert lrs[-1] == pytest.approx(0.05)


# --------------------------------------------------------------------------- validation


def test_scheduler_sets_the_first_epochs_rate_on_construction() -> None:
    opt = SGD([Parameter(np.zeros(1))], lr=5.0)
    LRScheduler(opt, LinearWarmup(1.0, 4, start_factor=0.5))
    assert opt.lr == pytest.approx(0.5)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StepDecay(0.1, step_size=0), "step_size"),
        (lambda: ExponentialDecay(0.1, gamma=1.5), "gamma"),
        (lambda: CosineAnnealing(-0.1, t_max=5), "base_lr"),
        (lambda: LinearWarmup(0.1, 3, start_factor=0.0), "start_factor"),
        (lambda: LinearWarmup(0.1, 3, then=0.5), "then"),
        (lambda: CyclicTriangular(0.1, 0.01, 5), "max_lr"),
        (lambda: CyclicTriangular(0.01, 0.1, 5, mode="exp_range"), "mode"),
        (lambda: CosineWarmRestarts(0.1, t_0=4, t_mult=0), "t_mult"),
        (lambda: StepDecay(0.1, 2).lr_at(-1), "epoch"),
        (lambda: ReduceLROnPlateau(SGD([Parameter(np.zeros(1))], 0.1), factor=1.0), "factor"),
        (lambda: ReduceLROnPlateau(SGD([Parameter(np.zeros(1))], 0.1), mode="up"), "mode"),
        (lambda: ReduceLROnPlateau(SGD([Parameter(np.zeros(1))], 0.1)).step(), "metric"),
    ],
)
def test_invalid_schedule_arguments_raise_value_errors(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()
