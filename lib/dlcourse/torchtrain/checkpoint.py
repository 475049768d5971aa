"""Checkpoints: model, optimizer, scheduler, epoch and history in one file, read safely.

A checkpoint is a dict of tensors and plain values saved with ``torch.save`` and read
with ``torch.load(..., weights_only=True)``, which unpickles only tensors, numbers,
strings and containers: a checkpoint from someone else cannot run code on load. For that
reason everything that goes in must be plain (the optimizers, schedulers and history of
:mod:`dlcourse.torchoptim` and :mod:`dlcourse.torchtrain` are).

Files are written to a temporary name beside the target and renamed over it, so a run
killed while saving leaves the previous checkpoint intact rather than half a file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

FORMAT = "dlcourse-checkpoint"
VERSION = 1
_REQUIRED = ("format", "version", "model", "epoch")


class CheckpointError(ValueError):
    """A checkpoint file exists but is damaged, not a checkpoint, or does not fit the model."""


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    epoch: int,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    history: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save a training state to ``path`` (atomically); return the path.

    Args:
        path: the file to write; its folder must exist.
        model: its ``state_dict()`` is saved.
        epoch: the number of completed epochs.
        optimizer, scheduler: saved through their ``state_dict()`` when given.
        history: a plain dict, such as :meth:`History.to_dict`'s output.
        extra: further plain values or tensors (RNG states, a best-weights snapshot).
    """
    if isinstance(epoch, bool) or int(epoch) != epoch or epoch < 0:
        raise ValueError(f"epoch must be a whole number >= 0, got {epoch!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save a checkpoint to {path}: {path.parent} is no folder")
    state = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.state_dict(),
        "epoch": int(epoch),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "history": history,
        "extra": extra or {},
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check that it is one.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated or corrupt, holds objects other than
            tensors and plain values, or is not a dlcourse checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(
            f"{path} is damaged or not a checkpoint (torch.load with weights_only=True "
            f"refused it: {type(err).__name__}: {err})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} file (see save_checkpoint)")
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"{path} lacks the entries {missing}")
    if state["version"] != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {state['version']}, this code reads {VERSION}"
        )
    return state


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    map_location: str | torch.device | None = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint into ``model`` (and ``optimizer``, ``scheduler``); return it all.

    The returned dict holds ``"epoch"``, ``"history"`` and ``"extra"`` as saved. Build a
    scheduler *before* loading the optimizer's state into it (constructing a torch
    scheduler writes the groups' learning rates); this function loads the optimizer
    first and the scheduler after, which is the order that restores both.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`read_checkpoint`; CheckpointError
            also when the saved state does not fit the model, optimizer or scheduler.
    """
    state = read_checkpoint(path, map_location)
    targets = [("model", model), ("optimizer", optimizer), ("scheduler", scheduler)]
    for key, target in targets:
        if target is None:
            continue
        if state.get(key) is None:
            raise CheckpointError(f"{path} holds no {key} state, but a {key} was given")
        try:
            target.load_state_dict(state[key])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"the {key} state in {path} does not fit: {err}") from err
    return state
