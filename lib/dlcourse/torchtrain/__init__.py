"""Training torch models: the loop, seeding, checkpoints, test-time augmentation.

Build-up order: ``seeding`` (one call seeds everything), ``devices`` (the device argument
and what AMP and channels-last do on it), ``history``, ``checkpoint`` (safe save/load),
``tta`` (flip averaging), ``trainer`` (the loop that uses them all).
"""

from dlcourse.torchtrain.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from dlcourse.torchtrain.devices import resolve_amp, resolve_channels_last, resolve_device
from dlcourse.torchtrain.history import History
from dlcourse.torchtrain.seeding import seed_everything
from dlcourse.torchtrain.trainer import Trainer, fit
from dlcourse.torchtrain.tta import tta_predict

__all__ = [
    "CheckpointError",
    "History",
    "Trainer",
    "fit",
    "load_checkpoint",
    "read_checkpoint",
    "resolve_amp",
    "resolve_channels_last",
    "resolve_device",
    "save_checkpoint",
    "seed_everything",
    "tta_predict",
]
