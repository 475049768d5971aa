"""Learning-rate schedules: step, exponential, cosine, warm-up, cyclical, SGDR, plateau.

A :class:`Schedule` is pure: ``schedule.lr_at(epoch)`` gives the learning rate for an
epoch (0, 1, 2, ...; fractional epochs work too) and keeps no state, so a notebook can
plot ``schedule.lrs(100)`` before training anything. To drive an optimizer, wrap it:

    scheduler = LRScheduler(optimizer, CosineAnnealing(base_lr=0.1, t_max=50))
    for epoch in range(50):
        train_one_epoch(...)
        scheduler.step()          # sets optimizer.lr = schedule.lr_at(epoch + 1)

:class:`ReduceLROnPlateau` (the lectures' "divide the LR by 2 or by 10 when validation
accuracy stops improving") cannot be pure, because it reacts to measured values; it
drives the optimizer itself through ``step(metric)``. Both drivers accept
``step(metric)``, so a training loop can call either the same way.

Each schedule follows the ``torch.optim.lr_scheduler`` class named in its docstring:
the same formula, counted from the same epoch.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Literal, Protocol

import numpy as np


class HasLR(Protocol):
    """Anything with a writable learning rate, such as :class:`~dlcourse.optim.Optimizer`."""

    lr: float


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _nonnegative(value: float, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _decay_factor(gamma: float) -> float:
    gamma = float(gamma)
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must lie in (0, 1] so the learning rate decays, got {gamma}")
    return gamma


class Schedule(ABC):
    """A learning rate as a pure function of the epoch, starting from ``base_lr``."""

    def __init__(self, base_lr: float) -> None:
        self.base_lr = _nonnegative(base_lr, "base_lr")

    def lr_at(self, epoch: float) -> float:
        """The learning rate to use during ``epoch`` (>= 0; fractions allowed)."""
        epoch = float(epoch)
        if not (math.isfinite(epoch) and epoch >= 0):
            raise ValueError(f"epoch must be a finite number >= 0, got {epoch}")
        return float(self._lr(epoch))

    @abstractmethod
    def _lr(self, epoch: float) -> float:
        """The formula, for an already validated epoch."""

    def lrs(self, num_epochs: int) -> np.ndarray:
        """Learning rates of epochs ``0 .. num_epochs - 1``, shape (num_epochs,)."""
        return np.array([self.lr_at(e) for e in range(_positive_int(num_epochs, "num_epochs"))])

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs (``StepLR``).

    ``lr = base_lr * gamma ** floor(epoch / step_size)``: the "divide by 10 every 30
    epochs" recipe of the ImageNet-era networks.
    """

    def __init__(self, base_lr: float, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(base_lr)
        self.step_size = _positive_int(step_size, "step_size")
        self.gamma = _decay_factor(gamma)

    def _lr(self, epoch: float) -> float:
        return self.base_lr * self.gamma ** math.floor(epoch / self.step_size)


class ExponentialDecay(Schedule):
    """``lr = base_lr * gamma ** epoch``: a smooth version of step decay (``ExponentialLR``)."""

    def __init__(self, base_lr: float, gamma: float) -> None:
        super().__init__(base_lr)
        self.gamma = _decay_factor(gamma)

    def _lr(self, epoch: float) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealing(Schedule):
    """Half a cosine from ``base_lr`` down to ``min_lr`` over ``t_max`` epochs.

    ``lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / t_max)) / 2``
    (``CosineAnnealingLR``). Like torch, the formula is not clamped: past ``t_max`` the
    rate climbs back up, so set ``t_max`` to the length of training.
    """

    def __init__(self, base_lr: float, t_max: int, min_lr: float = 0.0) -> None:
        super().__init__(base_lr)
        self.t_max = _positive_int(t_max, "t_max")
        self.min_lr = _nonnegative(min_lr, "min_lr")

    def _lr(self, epoch: float) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.t_max)) / 2
        return self.min_lr + (self.base_lr - self.min_lr) * cosine


class LinearWarmup(Schedule):
    """Ramp linearly from ``start_factor * base_lr`` up to ``base_lr``, then hand over.

    For ``epoch < warmup_epochs``:
    ``lr = base_lr * (start_factor + (1 - start_factor) * epoch / warmup_epochs)``
    (``LinearLR`` with ``end_factor=1``). Afterwards the rate stays at ``base_lr``, or, if
    ``then`` is given, follows ``then.lr_at(epoch - warmup_epochs)``: the second schedule
    starts from its own epoch 0 when the warm-up ends (torch's ``SequentialLR``). A warm-up
    keeps the first, large and badly-aimed gradients of a fresh network from throwing the
    weights far away, which matters most for large batches and adaptive optimizers.
    """

    def __init__(
        self,
        base_lr: float,
        warmup_epochs: int,
        start_factor: float = 0.1,
        then: Schedule | None = None,
    ) -> None:
        super().__init__(base_lr)
        self.warmup_epochs = _positive_int(warmup_epochs, "warmup_epochs")
        self.start_factor = float(start_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"start_factor must lie in (0, 1], got {start_factor}")
        if then is not None and not isinstance(then, Schedule):
            raise ValueError(f"then must be a Schedule or None, got {type(then).__name__}")
        self.then = then

    def _lr(self, epoch: float) -> float:
        if epoch < self.warmup_epochs:
            progress = epoch / self.warmup_epochs
            return self.base_lr * (self.start_factor + (1 - self.start_factor) * progress)
        if self.then is None:
            return self.base_lr
        return self.then.lr_at(epoch - self.warmup_epochs)


class CyclicTriangular(Schedule):
    """Cyclical learning rate: up from ``base_lr`` to ``max_lr`` and back, repeatedly.

    The rate rises linearly for ``step_size_up`` epochs (or iterations), falls for
    ``step_size_down`` (default: the same), and starts over (``CyclicLR`` in mode
    ``"triangular"``). In mode ``"triangular2"`` each cycle's height is half the previous
    one's. Periods of large rates help leave sharp minima and saddle points; the small
    ones let the loss settle.
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size_up: int,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2"] = "triangular",
    ) -> None:
        super().__init__(base_lr)
        self.max_lr = _nonnegative(max_lr, "max_lr")
        if self.max_lr < self.base_lr:
            raise ValueError(f"max_lr ({max_lr}) must be at least base_lr ({base_lr})")
        self.step_size_up = _positive_int(step_size_up, "step_size_up")
        down = step_size_up if step_size_down is None else step_size_down
        self.step_size_down = _positive_int(down, "step_size_down")
        if mode not in ("triangular", "triangular2"):
            raise ValueError(f"mode must be 'triangular' or 'triangular2', got {mode!r}")
        self.mode = mode

    def _lr(self, epoch: float) -> float:
        period = self.step_size_up + self.step_size_down
        cycle = math.floor(epoch / period)
        position = epoch - cycle * period
        if position <= self.step_size_up:
            height = position / self.step_size_up
        else:
            height = (period - position) / self.step_size_down
        if self.mode == "triangular2":
            height *= 0.5**cycle
        return self.base_lr + (self.max_lr - self.base_lr) * height


class CosineWarmRestarts(Schedule):
    """SGDR: cosine annealing that restarts at ``base_lr``; each period ``t_mult`` times longer.

    The first period lasts ``t_0`` epochs, the next ``t_0 * t_mult``, and so on. Inside a
    period of length ``T`` that began ``t`` epochs ago,
    ``lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / T)) / 2``
    (``CosineAnnealingWarmRestarts``).
    """

    def __init__(self, base_lr: float, t_0: int, t_mult: int = 1, min_lr: float = 0.0) -> None:
        super().__init__(base_lr)
        self.t_0 = _positive_int(t_0, "t_0")
        self.t_mult = _positive_int(t_mult, "t_mult")
        self.min_lr = _nonnegative(min_lr, "min_lr")

    def _lr(self, epoch: float) -> float:
        # Walking through the periods avoids the rounding of a closed-form logarithm
        # exactly at a restart; the number of periods grows only like log(epoch).
        since_restart, period = epoch, self.t_0
        if self.t_mult == 1:
            since_restart = epoch % period
        while since_restart >= period:
            since_restart -= period
            period *= self.t_mult
        cosine = (1 + math.cos(math.pi * since_restart / period)) / 2
        return self.min_lr + (self.base_lr - self.min_lr) * cosine


# --------------------------------------------------------------------------- drivers


class LRScheduler:
    """Drive an optimizer's ``lr`` with a pure :class:`Schedule`, one call per epoch.

    On construction the optimizer gets ``schedule.lr_at(0)``; each :meth:`step` moves to
    the next epoch and sets its rate, like a ``torch.optim.lr_scheduler`` object.
    """

    def __init__(self, optimizer: HasLR, schedule: Schedule) -> None:
        if not isinstance(schedule, Schedule):
            raise ValueError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        self.optimizer = optimizer
        self.schedule = schedule
        self.epoch = 0
        optimizer.lr = schedule.lr_at(0)

    def step(self, metric: float | None = None) -> float:
        """Advance one epoch and return the new rate; ``metric`` is accepted and ignored."""
        self.epoch += 1
        self.optimizer.lr = self.schedule.lr_at(self.epoch)
        return self.optimizer.lr


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` when a metric has stopped improving (``ReduceLROnPlateau``).

    Call :meth:`step` once per epoch with the validation metric. ``mode="min"`` is for a
    loss, ``mode="max"`` for an accuracy. A value counts as an improvement when it beats
    the best so far by more than ``threshold`` (relative to the best, or absolute, per
    ``threshold_mode``). After more than ``patience`` epochs in a row without one, the
    rate is multiplied by ``factor`` (never below ``min_lr``), and the next ``cooldown``
    epochs are not counted, giving the lower rate time to show its effect. Changes smaller
    than ``eps`` are skipped, so the rate does not creep once it sits near ``min_lr``.
    """

    def __init__(
        self,
        optimizer: HasLR,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' (a loss) or 'max' (an accuracy), got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.factor = float(factor)
        if not 0 < self.factor < 1:
            raise ValueError(f"factor must lie in (0, 1) to reduce the rate, got {factor}")
        if isinstance(patience, bool) or int(patience) != patience or patience < 0:
            raise ValueError(f"patience must be a whole number >= 0, got {patience!r}")
        if isinstance(cooldown, bool) or int(cooldown) != cooldown or cooldown < 0:
            raise ValueError(f"cooldown must be a whole number >= 0, got {cooldown!r}")
        self.optimizer = optimizer
        self.mode = mode
        self.patience = int(patience)
        self.threshold = _nonnegative(threshold, "threshold")
        self.threshold_mode = threshold_mode
        self.cooldown = int(cooldown)
        self.min_lr = _nonnegative(min_lr, "min_lr")
        self.eps = _nonnegative(eps, "eps")
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_left = 0

    def _improves(self, value: float) -> bool:
        sign = 1.0 if self.mode == "max" else -1.0
        if self.threshold_mode == "rel":
            # Relative to the best value: "by 0.01%", whatever the metric's scale.
            target = self.best * (1 + sign * self.threshold)
        else:
            target = self.best + sign * self.threshold
        return value > target if self.mode == "max" else value < target

    def step(self, metric: float | None = None) -> float:
        """Record this epoch's metric; reduce the rate if the plateau is long enough."""
        if metric is None:
            raise ValueError("ReduceLROnPlateau.step needs the epoch's metric, got None")
        value = float(metric)
        if self._improves(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            reduced = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - reduced > self.eps:
                self.optimizer.lr = reduced
            self.cooldown_left = self.cooldown
            self.num_bad_epochs = 0
        return self.optimizer.lr
