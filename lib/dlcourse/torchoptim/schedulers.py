"""Learning-rate schedules as ``torch.optim.lr_scheduler.LRScheduler`` subclasses.

The formulas live once, in the pure NumPy schedules of :mod:`dlcourse.optim.schedules`;
each scheduler here only says which of them to build for a parameter group's initial
learning rate (:meth:`ScheduleLR._schedule`), and :meth:`ScheduleLR.get_lr` evaluates it
at ``last_epoch``. So ``scheduler.step()`` after each epoch gives the group the rate that
``Schedule.lr_at(epoch)`` gives, and the torch schedulers named in each docstring give
the same sequence (torch's recursive updates agree with the closed forms to rounding).

Only plain numbers are kept on the scheduler (the schedule object is rebuilt when asked
for), so ``state_dict()`` loads with ``torch.load(..., weights_only=True)``. The one
exception is ``then`` of :class:`LinearWarmupLR`, a function, which like torch's
``LambdaLR`` lambdas is left out of the state dict: rebuild the scheduler with the same
``then`` and load the state into it.

:class:`ReduceLROnPlateau` reacts to a measured metric, so it is not a schedule; it
drives one NumPy :class:`~dlcourse.optim.schedules.ReduceLROnPlateau` per parameter
group through a view of that group's ``"lr"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch.optim.lr_scheduler import LRScheduler

from dlcourse.optim import schedules as np_schedules
from dlcourse.optim.schedules import Schedule


class ScheduleLR(LRScheduler):
    """Base class: each group's rate is a NumPy :class:`Schedule` of its initial rate.

    Subclasses set their hyperparameters (plain numbers) *before* calling
    ``super().__init__``, because torch's constructor already asks for epoch 0's rate.
    """

    def _schedule(self, base_lr: float) -> Schedule:
        """The NumPy schedule for a group whose initial learning rate is ``base_lr``."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The rate of every parameter group for epoch ``last_epoch``."""
        return [self._schedule(float(b)).lr_at(self.last_epoch) for b in self.base_lrs]

    def _get_closed_form_lr(self) -> list[float]:
        # torch calls this for step(epoch); our rates are closed forms already.
        return self.get_lr()


class StepDecayLR(ScheduleLR):
    """``lr = base_lr * gamma ** (epoch // step_size)`` (torch's ``StepLR``)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, base_lr: float) -> Schedule:
        return np_schedules.StepDecay(base_lr, self.step_size, self.gamma)


class ExponentialDecayLR(ScheduleLR):
    """``lr = base_lr * gamma ** epoch`` (torch's ``ExponentialLR``)."""

    def __init__(self, optimizer: torch.optim.Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, base_lr: float) -> Schedule:
        return np_schedules.ExponentialDecay(base_lr, self.gamma)


class CosineAnnealingLR(ScheduleLR):
    """Half a cosine from ``base_lr`` to ``min_lr`` over ``t_max`` epochs (``CosineAnnealingLR``,
    whose ``T_max`` and ``eta_min`` these are; Loshchilov & Hutter, "SGDR", ICLR 2017)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        t_max: int,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.t_max, self.min_lr = t_max, min_lr
        super().__init__(optimizer, last_epoch)

    def _schedule(self, base_lr: float) -> Schedule:
        return np_schedules.CosineAnnealing(base_lr, self.t_max, self.min_lr)


class LinearWarmupLR(ScheduleLR):
    """Linear warm-up from ``start_factor * base_lr`` to ``base_lr`` over ``warmup_epochs``.

    Torch's ``LinearLR(start_factor, end_factor=1, total_iters=warmup_epochs)``. With
    ``then``, a function from a base rate to a NumPy :class:`Schedule` (for example
    ``functools.partial(CosineAnnealing, t_max=45)``), the rate afterwards follows that
    schedule from its own epoch 0, as torch's ``SequentialLR`` with the milestone
    ``warmup_epochs`` does. ``then`` is not part of :meth:`state_dict`.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        warmup_epochs: int,
        start_factor: float = 0.1,
        then: Callable[[float], Schedule] | None = None,
        last_epoch: int = -1,
    ) -> None:
        if then is not None and not callable(then):
            raise ValueError(
                f"then must be a function base_lr -> Schedule or None, got {type(then).__name__}"
            )
        self.warmup_epochs, self.start_factor, self.then = warmup_epochs, start_factor, then
        super().__init__(optimizer, last_epoch)

    def _schedule(self, base_lr: float) -> Schedule:
        then = None if self.then is None else self.then(base_lr)
        return np_schedules.LinearWarmup(base_lr, self.warmup_epochs, self.start_factor, then)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state without ``then`` (a function cannot be saved safely)."""
        return {k: v for k, v in super().state_dict().items() if k != "then"}


class CyclicTriangularLR(ScheduleLR):
    """Triangular cyclical rate between ``base_lr`` and ``max_lr`` (``CyclicLR`` with
    ``cycle_momentum=False``; Smith, "Cyclical Learning Rates for Training Neural
    Networks", WACV 2017). ``base_lr`` is the group's initial rate; step once per
    iteration or per epoch, as ``step_size_up`` counts."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        max_lr: float,
        step_size_up: int,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2"] = "triangular",
        last_epoch: int = -1,
    ) -> None:
        self.max_lr, self.step_size_up = max_lr, step_size_up
        self.step_size_down, self.mode = step_size_down, mode
        super().__init__(optimizer, last_epoch)

    def _schedule(self, base_lr: float) -> Schedule:
        return np_schedules.CyclicTriangular(
            base_lr, self.max_lr, self.step_size_up, self.step_size_down, self.mode
        )


class CosineWarmRestartsLR(ScheduleLR):
    """SGDR: cosine annealing restarting every ``t_0``, ``t_0 * t_mult``, ... epochs
    (``CosineAnnealingWarmRestarts``; Loshchilov & Hutter, "SGDR", ICLR 2017)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        t_0: int,
        t_mult: int = 1,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.t_0, self.t_mult, self.min_lr = t_0, t_mult, min_lr
        super().__init__(optimizer, last_epoch)

    def _schedule(self, base_lr: float) -> Schedule:
        return np_schedules.CosineWarmRestarts(base_lr, self.t_0, self.t_mult, self.min_lr)


class _GroupLR:
    """The ``lr`` of one parameter group, seen as the attribute the NumPy drivers write.

    It looks the group up on every access: ``optimizer.load_state_dict`` replaces the
    group dicts, and a reference to the old dict would go on writing into nothing.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, index: int) -> None:
        self.optimizer, self.index = optimizer, index

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[self.index]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.param_groups[self.index]["lr"] = value


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` once a metric stops improving (``ReduceLROnPlateau``).

    Call ``step(metric)`` once per epoch with the validation metric (``mode="min"`` for a
    loss, ``"max"`` for an accuracy). The arguments and the rule are those of the NumPy
    :class:`dlcourse.optim.schedules.ReduceLROnPlateau`, which does the work for every
    parameter group; ``min_lr`` may be one number or one per group.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        groups = optimizer.param_groups
        min_lrs = list(min_lr) if isinstance(min_lr, list | tuple) else [min_lr] * len(groups)
        if len(min_lrs) != len(groups):
            raise ValueError(
                f"min_lr must be one number or one per parameter group ({len(groups)}), "
                f"got {len(min_lrs)} values"
            )
        self._trackers = [
            np_schedules.ReduceLROnPlateau(
                _GroupLR(optimizer, i),
                mode,
                factor,
                patience,
                threshold,
                threshold_mode,
                cooldown,
                m,
                eps,
            )
            for i, m in enumerate(min_lrs)
        ]
        super().__init__(optimizer, last_epoch=-1)

    def _initial_step(self) -> None:
        # There is no metric before the first epoch: record the rates and count nothing.
        self._step_count = 0
        self.last_epoch = 0
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]

    def step(self, metric: float | None = None) -> None:
        """Record this epoch's ``metric``; reduce the rates if the plateau is long enough."""
        if metric is None:
            raise ValueError("ReduceLROnPlateau.step needs the epoch's metric, got None")
        self._step_count += 1
        self.last_epoch += 1
        for tracker in self._trackers:
            tracker.step(float(metric))
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Plain numbers only: the epoch count and every group's plateau bookkeeping."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_trackers")}
        state["trackers"] = [
            {k: v for k, v in vars(t).items() if k != "optimizer"} for t in self._trackers
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same parameter groups."""
        state = dict(state_dict)
        trackers = state.pop("trackers")
        if len(trackers) != len(self._trackers):
            raise ValueError(
                f"the saved state holds {len(trackers)} parameter groups, "
                f"this scheduler has {len(self._trackers)}"
            )
        self.__dict__.update(state)
        for tracker, saved in zip(self._trackers, trackers, strict=True):
            vars(tracker).update(saved)
