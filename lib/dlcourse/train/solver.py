"""A mini-batch training loop for classifiers built from :class:`~dlcourse.nn.module.Module`.

One epoch of :meth:`Solver.train` shuffles the training set with a seeded generator,
and for every mini-batch runs ``forward -> loss -> backward -> optimizer.step``. After
each epoch it measures training and validation accuracy, steps the learning-rate
schedule, and keeps a copy of the weights that reached the best validation accuracy so
far. With ``patience`` set, training stops once that many epochs in a row have not
improved on the best; in every case the best weights are loaded back at the end (the
lectures' "keep track of the model snapshot that worked best on val").

The contract with the other pieces:

* ``model.forward(x) -> scores`` (N, C); ``model.backward(dscores)`` fills ``param.grad``;
  ``model.train()`` / ``model.eval()``; ``state_dict()`` / ``load_state_dict()``;
* ``loss_fn(scores, y) -> (loss, dscores)``, the loss being the mean over the batch;
* ``optimizer.zero_grad()``, ``optimizer.step()`` and an ``lr`` attribute;
* ``schedule``: a pure :class:`~dlcourse.optim.schedules.Schedule` (wrapped in an
  :class:`~dlcourse.optim.schedules.LRScheduler`) or any object with ``step(metric)``,
  such as :class:`~dlcourse.optim.schedules.ReduceLROnPlateau`, which receives the
  epoch's validation accuracy (training accuracy when there is no validation set), so
  build it with ``mode="max"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dlcourse._validate import as_float_array
from dlcourse.nn.module import Module
from dlcourse.optim.schedules import LRScheduler, Schedule

LossFn = Callable[[np.ndarray, np.ndarray], tuple[Any, np.ndarray]]


class Stepper(Protocol):
    """A learning-rate driver stepped once per epoch with the epoch's accuracy."""

    def step(self, metric: float | None = None) -> float: ...


@dataclass
class History:
    """What happened during :meth:`Solver.train`.

    ``loss`` has one entry per iteration (mini-batch); ``train_acc``, ``val_acc`` and
    ``lr`` (the rate used during the epoch) one per epoch. ``best_epoch`` (0-based) is
    the epoch whose weights were restored; ``stopped_early`` says that patience ran out,
    ``diverged`` that the loss became inf or NaN (training stops there).
    """

    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_acc: float | None = None
    stopped_early: bool = False
    diverged: bool = False

    @property
    def num_epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_acc)


def _whole(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _dataset(x: object, y: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate inputs ``x`` (N, ...) and integer labels ``y`` (N,) of one split."""
    x = as_float_array(x, f"x_{name}")
    y = np.asarray(y)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"x_{name} must have shape (N, ...) with N >= 1, got {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"y_{name} must have shape (N,), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"y_{name} must hold integer class labels, got dtype {y.dtype}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x_{name} and y_{name} must have the same number of examples, "
            f"got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


class Solver:
    """Train ``model`` with ``optimizer`` on ``(x_train, y_train)``; see the module docstring.

    Accuracy on the training set is measured on at most ``max_train_eval`` examples (a
    fixed, seeded subset) to keep epochs cheap on large sets. ``on_epoch_end(epoch,
    solver)``, if given, runs after each epoch's measurements and before any restoring,
    which lets a notebook plot live or save snapshots.
    """

    def __init__(
        self,
        model: Module,
        loss_fn: LossFn,
        optimizer: Any,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        *,
        num_epochs: int = 10,
        batch_size: int = 32,
        schedule: Schedule | Stepper | None = None,
        patience: int | None = None,
        restore_best: bool = True,
        seed: int = 0,
        progress: bool = False,
        eval_batch_size: int = 512,
        max_train_eval: int = 1000,
        on_epoch_end: Callable[[int, Solver], None] | None = None,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.x_train, self.y_train = _dataset(x_train, y_train, "train")
        if (x_val is None) != (y_val is None):
            raise ValueError("give both x_val and y_val, or neither")
        self.has_val = x_val is not None
        if self.has_val:
            self.x_val, self.y_val = _dataset(x_val, y_val, "val")
        self.num_epochs = _whole(num_epochs, "num_epochs")
        self.batch_size = _whole(batch_size, "batch_size")
        self.eval_batch_size = _whole(eval_batch_size, "eval_batch_size")
        self.max_train_eval = _whole(max_train_eval, "max_train_eval")
        if patience is not None:
            patience = _whole(patience, "patience")
            if not self.has_val:
                raise ValueError("early stopping (patience) needs a validation set")
        self.patience = patience
        self.restore_best = restore_best
        if isinstance(schedule, Schedule):
            schedule = LRScheduler(optimizer, schedule)
        self.schedule = schedule
        self.rng = np.random.default_rng(seed)
        self.progress = progress
        self.on_epoch_end = on_epoch_end
        n = len(self.y_train)
        # A separate generator keeps the evaluation subset from shifting the shuffles.
        eval_rng = np.random.default_rng([seed, 1])
        self.train_eval_idx = (
            np.sort(eval_rng.choice(n, self.max_train_eval, replace=False))
            if n > self.max_train_eval
            else np.arange(n)
        )
        self.history = History()

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows of ``x`` whose highest score is at the label in ``y`` (N,).

        Runs the model in eval mode (dropout off, batch-norm running statistics) in
        batches, and puts it back in the mode it was in.
        """
        x, y = _dataset(x, y, "eval")
        was_training = self.model.training
        self.model.eval()
        try:
            correct = 0
            for start in range(0, len(y), self.eval_batch_size):
                scores = self.model.forward(x[start : start + self.eval_batch_size])
                correct += int(np.sum(np.argmax(scores, axis=1) == y[start : start + len(scores)]))
        finally:
            self.model.train(was_training)
        return correct / len(y)

    def _train_step(self, idx: np.ndarray) -> float:
        """Forward, loss, backward and update on the examples ``idx``; return the loss."""
        self.optimizer.zero_grad()
        scores = self.model.forward(self.x_train[idx])
        loss, dscores = self.loss_fn(scores, self.y_train[idx])
        if np.shape(dscores) != np.shape(scores):
            raise ValueError(
                f"loss_fn returned dscores of shape {np.shape(dscores)} "
                f"for scores of shape {np.shape(scores)}"
            )
        loss = float(loss)
        if math.isfinite(loss):
            self.model.backward(dscores)
            self.optimizer.step()
        return loss

    def train(self) -> History:
        """Run ``num_epochs`` epochs (fewer if stopped early); return their :class:`History`.

        Each call starts a fresh history (also kept in ``self.history``) from the model's
        current weights, and the generator continues, so a second call sees new shuffles.
        """
        from tqdm.auto import tqdm  # imported here: only needed when training

        hist = self.history = History()
        n = len(self.y_train)
        iters_per_epoch = math.ceil(n / self.batch_size)
        best_state: dict[str, np.ndarray] | None = None
        epochs_without_improvement = 0
        bar = tqdm(total=self.num_epochs * iters_per_epoch, disable=not self.progress)
        self.model.train()
        try:
            for epoch in range(self.num_epochs):
                hist.lr.append(float(getattr(self.optimizer, "lr", math.nan)))
                order = self.rng.permutation(n)
                for start in range(0, n, self.batch_size):
                    loss = self._train_step(order[start : start + self.batch_size])
                    hist.loss.append(loss)
                    bar.update()
                    if not math.isfinite(loss):
                        hist.diverged = True
                        break
                if hist.diverged:
                    break

                idx = self.train_eval_idx
                hist.train_acc.append(self.accuracy(self.x_train[idx], self.y_train[idx]))
                if self.has_val:
                    hist.val_acc.append(self.accuracy(self.x_val, self.y_val))
                    # Only a strict improvement counts, so ties keep the earlier weights.
                    if hist.best_val_acc is None or hist.val_acc[-1] > hist.best_val_acc:
                        hist.best_val_acc = hist.val_acc[-1]
                        hist.best_epoch = epoch
                        best_state = self.model.state_dict()
                        epochs_without_improvement = 0
                    else:
                        epochs_without_improvement += 1
                bar.set_postfix(
                    loss=f"{hist.loss[-1]:.4f}",
                    train_acc=f"{hist.train_acc[-1]:.3f}",
                    val_acc=f"{hist.val_acc[-1]:.3f}" if self.has_val else "-",
                )
                if self.on_epoch_end is not None:
                    self.on_epoch_end(epoch, self)
                if self.schedule is not None:
                    metric = hist.val_acc[-1] if self.has_val else hist.train_acc[-1]
                    self.schedule.step(metric)
                if self.patience is not None and epochs_without_improvement >= self.patience:
                    hist.stopped_early = True
                    break
        finally:
            bar.close()
        if self.restore_best and best_state is not None:
            self.model.load_state_dict(best_state)
        return hist
