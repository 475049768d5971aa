"""What happened during :meth:`~dlcourse.torchtrain.trainer.Trainer.fit`, epoch by epoch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

MONITORS = ("val_acc", "val_loss")


@dataclass
class History:
    """The record of a training run, in the vocabulary of the NumPy solver's history.

    ``loss`` has one entry per iteration (mini-batch, in train mode); the other lists one
    per completed epoch: ``train_loss`` (the mean of that epoch's mini-batch losses,
    weighted by batch size), ``train_acc`` (eval mode, on a fixed subset of the training
    set), ``val_loss`` and ``val_acc`` (empty without a validation set) and ``lr`` (the
    first parameter group's rate during the epoch). ``best_epoch`` (0-based) and
    ``best_value`` belong to the ``monitor``-ed metric; ``stopped_early`` says that
    patience ran out, ``diverged`` that the loss became inf or NaN.

    Everything is a plain number, list or string, so a history travels in a checkpoint
    read with ``torch.load(..., weights_only=True)``.
    """

    monitor: str = "val_acc"
    loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    diverged: bool = False

    @property
    def num_epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)

    def improves(self, value: float) -> bool:
        """Whether ``value`` of the monitored metric strictly beats the best so far.

        Ties keep the earlier epoch, as in the NumPy solver and
        :func:`dlcourse.train.early_stopping.early_stopping`.
        """
        if self.best_value is None:
            return True
        return value > self.best_value if self.monitor == "val_acc" else value < self.best_value

    def to_dict(self) -> dict[str, Any]:
        """The history as a dict of plain values (lists are copies)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`to_dict`'s output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(saved) - known)
        if unknown:
            raise ValueError(
                f"a saved history has unknown keys {unknown}; expected {sorted(known)}"
            )
        kwargs: dict[str, Any] = {
            k: list(v) if isinstance(v, list) else v for k, v in saved.items()
        }
        return cls(**kwargs)
