"""dlcourse.torchoptim schedulers against torch.optim.lr_scheduler and the NumPy schedules."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from dlcourse.optim import schedules as nps
from dlcourse.torchoptim import (
    SGD,
    CosineAnnealingLR,
    CosineWarmRestartsLR,
    CyclicTriangularLR,
    ExponentialDecayLR,
    LinearWarmupLR,
    ReduceLROnPlateau,
    StepDecayLR,
)

BASE_LR = 0.1
NUM_EPOCHS = 50
Make = Callable[[torch.optim.Optimizer], object]


def lr_sequence(opt: torch.optim.Optimizer, scheduler: object, num_epochs: int) -> np.ndarray:
    """The rate of group 0 in each epoch, stepping the optimizer and then the scheduler."""
    lrs = []
    for _ in range(num_epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(lrs)


def ours_lrs(make: Make, device: str, num_epochs: int = NUM_EPOCHS) -> np.ndarray:
    opt = SGD([torch.zeros(2, device=device, requires_grad=True)], lr=BASE_LR)
    return lr_sequence(opt, make(opt), num_epochs)


def torch_lrs(make: Make, device: str, num_epochs: int = NUM_EPOCHS) -> np.ndarray:
    opt = torch.optim.SGD([torch.zeros(2, device=device, requires_grad=True)], lr=BASE_LR)
    return lr_sequence(opt, make(opt), num_epochs)


# name: (our scheduler, torch's counterpart, the NumPy schedule with the same parameters)
CASES: dict[str, tuple[Make, Make, nps.Schedule]] = {
    "step": (
        lambda o: StepDecayLR(o, step_size=7, gamma=0.5),
        lambda o: tls.StepLR(o, step_size=7, gamma=0.5),
        nps.StepDecay(BASE_LR, step_size=7, gamma=0.5),
    ),
    "exponential": (
        lambda o: ExponentialDecayLR(o, gamma=0.93),
        lambda o: tls.ExponentialLR(o, gamma=0.93),
        nps.ExponentialDecay(BASE_LR, gamma=0.93),
    ),
    "cosine": (
        lambda o: CosineAnnealingLR(o, t_max=40, min_lr=1e-3),
        lambda o: tls.CosineAnnealingLR(o, T_max=40, eta_min=1e-3),
        nps.CosineAnnealing(BASE_LR, t_max=40, min_lr=1e-3),
    ),
    "warmup": (
        lambda o: LinearWarmupLR(o, warmup_epochs=6, start_factor=0.2),
        lambda o: tls.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=6),
        nps.LinearWarmup(BASE_LR, warmup_epochs=6, start_factor=0.2),
    ),
    "warmup-then-cosine": (
        lambda o: LinearWarmupLR(o, 5, 0.1, then=partial(nps.CosineAnnealing, t_max=45)),
        lambda o: tls.SequentialLR(
            o,
            [
                tls.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
                tls.CosineAnnealingLR(o, T_max=45),
            ],
            milestones=[5],
        ),
        nps.LinearWarmup(BASE_LR, 5, 0.1, then=nps.CosineAnnealing(BASE_LR, t_max=45)),
    ),
    "cyclic-triangular2": (
        lambda o: CyclicTriangularLR(o, 1.0, 4, step_size_down=6, mode="triangular2"),
        lambda o: tls.CyclicLR(
            o, BASE_LR, 1.0, 4, step_size_down=6, mode="triangular2", cycle_momentum=False
        ),
        nps.CyclicTriangular(BASE_LR, 1.0, 4, step_size_down=6, mode="triangular2"),
    ),
    "sgdr": (
        lambda o: CosineWarmRestartsLR(o, t_0=5, t_mult=2, min_lr=0.01),
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01),
        nps.CosineWarmRestarts(BASE_LR, t_0=5, t_mult=2, min_lr=0.01),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_scheduler_matches_torch_counterpart(case: str, device: str) -> None:
    ours, theirs, _ = CASES[case]
    np.testing.assert_allclose(ours_lrs(ours, device), torch_lrs(theirs, device), rtol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_scheduler_matches_numpy_schedule(case: str, device: str) -> None:
    ours, _, schedule = CASES[case]
    np.testing.assert_allclose(ours_lrs(ours, device), schedule.lrs(NUM_EPOCHS), rtol=1e-14)


def test_each_parameter_group_follows_its_own_initial_rate(device: str) -> None:
    opt = SGD(
        [
            {"params": [torch.zeros(1, device=device, requires_grad=True)], "lr": 0.5},
            {"params": [torch.zeros(1, device=device, requires_grad=True)]},
        ],
        lr=BASE_LR,
    )
    scheduler = CosineAnnealingLR(opt, t_max=10)
    for epoch in range(1, 12):
        opt.step()
        scheduler.step()
        got = scheduler.get_last_lr()
        want = [nps.CosineAnnealing(b, t_max=10).lr_at(epoch) for b in (0.5, BASE_LR)]
        np.testing.assert_allclose(got, want, rtol=1e-14)


METRICS = [1.0, 0.9, 0.85, 0.86, 0.87, 0.9, 0.84, 0.845, 0.85, 0.86, 0.9, 0.91, 0.92, 0.5]
METRICS = METRICS + [0.5] * 12


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "min", "factor": 0.5, "patience": 2},
        {"mode": "max", "factor": 0.1, "patience": 1, "cooldown": 2, "min_lr": 1e-3},
        {"mode": "min", "factor": 0.5, "patience": 0, "threshold": 0.05, "threshold_mode": "abs"},
    ],
)
def test_reduce_on_plateau_matches_torch(kwargs: dict, device: str) -> None:
    def run(make_opt: Callable, make_sched: Callable) -> list[float]:
        opt = make_opt([torch.zeros(1, device=device, requires_grad=True)], lr=BASE_LR)
        scheduler = make_sched(opt, **kwargs)
        lrs = []
        for metric in METRICS:
            opt.step()
            scheduler.step(metric)
            lrs.append(opt.param_groups[0]["lr"])
        return lrs

    ours = run(SGD, ReduceLROnPlateau)
    theirs = run(torch.optim.SGD, tls.ReduceLROnPlateau)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    assert min(ours) < BASE_LR  # the sequence really reduced the rate


def test_reduce_on_plateau_needs_a_metric(device: str) -> None:
    opt = SGD([torch.zeros(1, device=device, requires_grad=True)], lr=BASE_LR)
    with pytest.raises(ValueError, match="metric"):
        ReduceLROnPlateau(opt).step()


def _save_and_load(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("case", ["cosine", "warmup-then-cosine", "sgdr"])
def test_scheduler_state_dict_round_trip_resumes_identically(case: str, device: str) -> None:
    make, _, _ = CASES[case]
    uninterrupted = ours_lrs(make, device)

    opt = SGD([torch.zeros(2, device=device, requires_grad=True)], lr=BASE_LR)
    first = lr_sequence(opt, scheduler := make(opt), 20)
    saved = _save_and_load({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()})

    opt2 = SGD([torch.zeros(2, device=device, requires_grad=True)], lr=BASE_LR)
    scheduler2 = make(opt2)  # built first: building a scheduler writes the group's lr
    opt2.load_state_dict(saved["optimizer"])
    scheduler2.load_state_dict(saved["scheduler"])
    rest = lr_sequence(opt2, scheduler2, NUM_EPOCHS - 20)
    np.testing.assert_array_equal(np.concatenate([first, rest]), uninterrupted)


def test_plateau_state_dict_round_trip_resumes_identically(device: str) -> None:
    def fresh() -> tuple[SGD, ReduceLROnPlateau]:
        opt = SGD([torch.zeros(1, device=device, requires_grad=True)], lr=BASE_LR)
        return opt, ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)

    opt, scheduler = fresh()
    for metric in METRICS:
        scheduler.step(metric)
    opt_a, sched_a = fresh()
    for metric in METRICS[:7]:
        sched_a.step(metric)
    saved = _save_and_load({"optimizer": opt_a.state_dict(), "scheduler": sched_a.state_dict()})
    opt_b, sched_b = fresh()
    opt_b.load_state_dict(saved["optimizer"])
    sched_b.load_state_dict(saved["scheduler"])
    for metric in METRICS[7:]:
        sched_b.step(metric)
    assert opt_b.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert sched_b.get_last_lr() == scheduler.get_last_lr()
    assert opt.param_groups[0]["lr"] < BASE_LR


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda o: StepDecayLR(o, step_size=0), "step_size"),
        (lambda o: ExponentialDecayLR(o, gamma=1.5), "gamma"),
        (lambda o: CosineAnnealingLR(o, t_max=-3), "t_max"),
        (lambda o: LinearWarmupLR(o, warmup_epochs=3, then=0.5), "then"),
        (lambda o: CyclicTriangularLR(o, max_lr=0.01, step_size_up=2), "max_lr"),
        (lambda o: ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), "min_lr"),
        (lambda o: ReduceLROnPlateau(o, mode="up"), "mode"),
    ],
)
def test_bad_arguments_raise_a_value_error_naming_them(make: Make, match: str, device: str) -> None:
    opt = SGD([torch.zeros(1, device=device, requires_grad=True)], lr=BASE_LR)
    with pytest.raises(ValueError, match=match):
        make(opt)
