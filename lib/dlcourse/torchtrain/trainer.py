"""A training loop for torch classifiers in the shape of the NumPy solver.

:class:`Trainer` is :class:`dlcourse.train.solver.Solver` for torch models, with the same
vocabulary (``num_epochs``, ``batch_size``, ``patience``, ``seed``, ``progress``,
``on_epoch_end``; a :class:`~dlcourse.torchtrain.history.History` with ``loss``,
``train_acc``, ``val_acc``, ``lr``, ``best_epoch``, ``stopped_early``, ``diverged``) and
the same rules: each epoch shuffles the training set with a seeded generator, runs
``forward -> loss -> backward -> optimizer.step`` per mini-batch, measures the epoch, steps
the scheduler, and keeps a copy of the weights with the best monitored validation
metric; with ``patience`` it stops after that many epochs without a strict improvement,
and at the end the best weights are loaded back.

What torch adds:

* ``device`` is one argument (``"cpu"``, ``"cuda"``, a ``torch.device``); the model is
  moved there, each batch is moved there, and predictions come back on the CPU, so the
  same code runs on either;
* mixed precision and channels-last, on by default on CUDA only (the rules are in
  :mod:`dlcourse.torchtrain.devices`);
* ``checkpoint_path``: after every epoch the whole state (model, optimizer, scheduler,
  GradScaler, history, best weights, the shuffling generator and torch's RNGs) is saved
  there, and :meth:`Trainer.load_checkpoint` resumes so that the finished run equals an
  uninterrupted one;
* :meth:`Trainer.predict` with test-time augmentation (:mod:`dlcourse.torchtrain.tta`).

Inputs are tensors or NumPy arrays, ``x`` (N, ...) and integer labels ``y`` (N,), kept
on the CPU and moved batch by batch; ``x`` takes the dtype of the model's parameters.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dlcourse.torchoptim.schedulers import ReduceLROnPlateau
from dlcourse.torchtrain.checkpoint import load_checkpoint, save_checkpoint
from dlcourse.torchtrain.devices import resolve_amp, resolve_channels_last, resolve_device
from dlcourse.torchtrain.history import MONITORS, History
from dlcourse.torchtrain.tta import Flip, tta_predict

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ArrayLike = torch.Tensor | np.ndarray


def _whole(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _needs_metric(scheduler: Any) -> bool:
    """Whether ``scheduler.step`` takes the epoch's metric (a plateau scheduler)."""
    plateaus = (torch.optim.lr_scheduler.ReduceLROnPlateau, ReduceLROnPlateau)
    return isinstance(scheduler, plateaus)


class Trainer:
    """Train ``model`` with ``optimizer`` on ``device``; see the module docstring.

    ``loss_fn(scores, y) -> loss`` must return the mean over the batch (the default is
    cross-entropy). ``monitor`` is ``"val_acc"`` or ``"val_loss"``: the metric that picks
    the best weights, runs out ``patience`` and is handed to a plateau scheduler (which
    gets ``train_acc`` / ``train_loss`` instead when there is no validation set, so
    build it with ``mode="max"`` for an accuracy). A scheduler is stepped once per epoch.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: LossFn = F.cross_entropy,
        *,
        device: str | torch.device = "cpu",
        scheduler: Any = None,
        num_epochs: int = 10,
        batch_size: int = 32,
        patience: int | None = None,
        monitor: str = "val_acc",
        restore_best: bool = True,
        seed: int = 0,
        progress: bool = True,
        amp: bool | None = None,
        channels_last: bool | None = None,
        eval_batch_size: int = 512,
        max_train_eval: int = 1000,
        checkpoint_path: str | os.PathLike[str] | None = None,
        on_epoch_end: Callable[[int, Trainer], None] | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.amp = resolve_amp(amp, self.device, model)
        self.channels_last = resolve_channels_last(channels_last, self.device)
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.num_epochs = _whole(num_epochs, "num_epochs")
        self.batch_size = _whole(batch_size, "batch_size")
        self.eval_batch_size = _whole(eval_batch_size, "eval_batch_size")
        self.max_train_eval = _whole(max_train_eval, "max_train_eval")
        self.patience = None if patience is None else _whole(patience, "patience")
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
        self.monitor = monitor
        self.restore_best = restore_best
        self.seed = _whole(seed, "seed", minimum=0)
        self.progress = progress
        self.checkpoint_path = checkpoint_path
        self.on_epoch_end = on_epoch_end
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.history = History(monitor=monitor)
        self.epoch = 0  # completed epochs
        self.best_state: dict[str, torch.Tensor] | None = None
        self.epochs_without_improvement = 0
        dtypes = [p.dtype for p in model.parameters() if p.is_floating_point()]
        self.dtype = dtypes[0] if dtypes else torch.get_default_dtype()
        # Moved last, once every argument is known to be valid. .to() swaps each
        # parameter's data in place, so the optimizer's references still hold.
        self.model = model.to(self.device)
        if self.channels_last:
            # Module.to accepts memory_format (torch's stubs do not list it).
            self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    # ------------------------------------------------------------------ data

    def _split(self, x: ArrayLike, y: ArrayLike, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate one split: ``x`` (N, ...) as the model's dtype, ``y`` (N,) as int64."""
        x = torch.as_tensor(x)
        y = torch.as_tensor(y)
        if x.ndim < 1 or x.shape[0] == 0:
            raise ValueError(f"x_{name} must have shape (N, ...) with N >= 1, got {tuple(x.shape)}")
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise ValueError(
                f"y_{name} must have shape (N,) with N = {x.shape[0]} (the rows of x_{name}), "
                f"got {tuple(y.shape)}"
            )
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ValueError(f"y_{name} must hold integer class labels, got dtype {y.dtype}")
        return x.to("cpu", self.dtype), y.to("cpu", torch.int64)

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.ndim == 4:
            return x.to(self.device, memory_format=torch.channels_last)
        return x.to(self.device)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp)

    # ------------------------------------------------------------------ measuring

    @torch.no_grad()
    def evaluate(self, x: ArrayLike, y: ArrayLike) -> tuple[float, float]:
        """Return ``(loss, accuracy)`` of the model on ``x`` (N, ...), ``y`` (N,), in eval mode.

        The loss is the mean over the N examples; the model goes back to the mode it was in.
        """
        x, y = self._split(x, y, "eval")
        was_training = self.model.training
        self.model.eval()
        try:
            total_loss, correct = 0.0, 0
            for start in range(0, len(y), self.eval_batch_size):
                xb = self._to_device(x[start : start + self.eval_batch_size])
                yb = y[start : start + self.eval_batch_size].to(self.device)
                with self._autocast():
                    scores = self.model(xb)
                    loss = self.loss_fn(scores, yb)
                total_loss += float(loss) * len(yb)
                correct += int((scores.argmax(dim=1) == yb).sum())
        finally:
            self.model.train(was_training)
        return total_loss / len(y), correct / len(y)

    @torch.no_grad()
    def predict(
        self, x: ArrayLike, tta: bool = False, flips: tuple[Flip, ...] = ("horizontal",)
    ) -> torch.Tensor:
        """Class probabilities for ``x`` (N, ...), shape (N, K), on the CPU, in eval mode.

        ``tta=True`` averages over ``x`` and its ``flips`` (4-D inputs only; see
        :func:`~dlcourse.torchtrain.tta.tta_predict`).
        """
        x = torch.as_tensor(x).to("cpu", self.dtype)
        if x.ndim < 1 or x.shape[0] == 0:
            raise ValueError(f"x must have shape (N, ...) with N >= 1, got {tuple(x.shape)}")
        was_training = self.model.training
        self.model.eval()
        try:
            out = []
            for start in range(0, len(x), self.eval_batch_size):
                xb = self._to_device(x[start : start + self.eval_batch_size])
                with self._autocast():
                    probs = (
                        tta_predict(self.model, xb, flips)
                        if tta
                        else torch.softmax(self.model(xb), dim=1)
                    )
                out.append(probs.float().cpu() if self.amp else probs.cpu())
        finally:
            self.model.train(was_training)
        return torch.cat(out)

    # ------------------------------------------------------------------ training

    def _train_epoch(self, x: torch.Tensor, y: torch.Tensor, bar: Any) -> bool:
        """One pass over shuffled mini-batches; return False if the loss diverged."""
        hist = self.history
        self.model.train()
        order = torch.randperm(len(y), generator=self.generator)
        total, seen = 0.0, 0
        for start in range(0, len(y), self.batch_size):
            idx = order[start : start + self.batch_size]
            xb, yb = self._to_device(x[idx]), y[idx].to(self.device)
            self.optimizer.zero_grad(set_to_none=True)
            with self._autocast():
                loss = self.loss_fn(self.model(xb), yb)
            loss_value = float(loss.detach())
            hist.loss.append(loss_value)
            bar.update()
            if not math.isfinite(loss_value):
                hist.diverged = True
                return False
            # With AMP off the scaler is a pass-through: backward, then optimizer.step().
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss_value * len(idx)
            seen += len(idx)
        hist.train_loss.append(total / seen)
        return True

    def fit(
        self,
        x_train: ArrayLike,
        y_train: ArrayLike,
        x_val: ArrayLike | None = None,
        y_val: ArrayLike | None = None,
    ) -> History:
        """Train until ``num_epochs`` epochs are complete (fewer if stopped); return the history.

        A fresh trainer starts at epoch 0; after :meth:`load_checkpoint` it continues from
        the saved epoch, so the same call finishes an interrupted run.
        """
        from tqdm.auto import tqdm  # imported here: only needed when training

        x_train, y_train = self._split(x_train, y_train, "train")
        if (x_val is None) != (y_val is None):
            raise ValueError("give both x_val and y_val, or neither")
        val = None if x_val is None or y_val is None else self._split(x_val, y_val, "val")
        has_val = val is not None
        if self.patience is not None and not has_val:
            raise ValueError("early stopping (patience) needs a validation set")
        n = len(y_train)
        # A generator of its own keeps the evaluation subset from shifting the shuffles.
        eval_rng = np.random.default_rng([self.seed, 1])
        train_eval_idx = torch.as_tensor(
            np.sort(eval_rng.choice(n, self.max_train_eval, replace=False))
            if n > self.max_train_eval
            else np.arange(n)
        )
        hist = self.history
        remaining = 0 if hist.stopped_early or hist.diverged else self.num_epochs - self.epoch
        bar = tqdm(
            total=max(remaining, 0) * math.ceil(n / self.batch_size), disable=not self.progress
        )
        try:
            while self.epoch < self.num_epochs and not (hist.stopped_early or hist.diverged):
                hist.lr.append(float(self.optimizer.param_groups[0]["lr"]))
                if not self._train_epoch(x_train, y_train, bar):
                    break
                _, train_acc = self.evaluate(x_train[train_eval_idx], y_train[train_eval_idx])
                hist.train_acc.append(train_acc)
                metric = train_acc if self.monitor == "val_acc" else hist.train_loss[-1]
                if val is not None:
                    val_loss, val_acc = self.evaluate(*val)
                    hist.val_loss.append(val_loss)
                    hist.val_acc.append(val_acc)
                    metric = val_acc if self.monitor == "val_acc" else val_loss
                    if hist.improves(metric):
                        hist.best_value, hist.best_epoch = metric, self.epoch
                        self.best_state = {
                            k: v.detach().clone() for k, v in self.model.state_dict().items()
                        }
                        self.epochs_without_improvement = 0
                    else:
                        self.epochs_without_improvement += 1
                bar.set_postfix(
                    loss=f"{hist.train_loss[-1]:.4f}",
                    train_acc=f"{train_acc:.3f}",
                    val_acc=f"{hist.val_acc[-1]:.3f}" if has_val else "-",
                )
                if self.on_epoch_end is not None:
                    self.on_epoch_end(self.epoch, self)
                if self.scheduler is not None:
                    if _needs_metric(self.scheduler):
                        self.scheduler.step(metric)
                    else:
                        self.scheduler.step()
                if self.patience is not None and self.epochs_without_improvement >= self.patience:
                    hist.stopped_early = True
                self.epoch += 1
                if self.checkpoint_path is not None:
                    self.save_checkpoint(self.checkpoint_path)
        finally:
            bar.close()
        if self.restore_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return hist

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Save everything :meth:`load_checkpoint` needs to resume this run exactly."""
        extra: dict[str, Any] = {
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "best_state": self.best_state,
            "epochs_without_improvement": self.epochs_without_improvement,
        }
        save_checkpoint(
            path,
            model=self.model,
            epoch=self.epoch,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            history=self.history.to_dict(),
            extra=extra,
        )

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Restore a state saved by :meth:`save_checkpoint`; :meth:`fit` then resumes.

        Build the trainer as for the original run (same model class, optimizer,
        scheduler and hyperparameters; ``num_epochs`` may be larger) and load into it.
        """
        state = load_checkpoint(
            path,
            model=self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            map_location=self.device,
        )
        extra = state["extra"]
        self.epoch = state["epoch"]
        self.history = History.from_dict(state["history"])
        self.scaler.load_state_dict(extra["scaler"])
        # RNG states must be CPU byte tensors, wherever map_location put them.
        self.generator.set_state(extra["generator"].cpu())
        torch.set_rng_state(extra["torch_rng"].cpu())
        if extra["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in extra["cuda_rng"]])
        self.best_state = extra["best_state"]
        self.epochs_without_improvement = extra["epochs_without_improvement"]


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    **kwargs: Any,
) -> History:
    """Build a :class:`Trainer` with ``kwargs`` and run :meth:`Trainer.fit`; the one-call form."""
    return Trainer(model, optimizer, **kwargs).fit(x_train, y_train, x_val, y_val)
