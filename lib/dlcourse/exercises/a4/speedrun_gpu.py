"""``speedrun_gpu.ipynb``: the speed-run network on a GPU. Its graded parts are the
network of ``speedrun_net.ipynb`` run on the grader's device (the same classes) and a
trace of the dynamic loss scale over a run of steps, as ``torch.amp.GradScaler`` keeps it.
"""

from __future__ import annotations

import numpy as np

from dlcourse.exercises.a4.speedrun_net import ConvBN, Residual, SpeedrunNet, update_loss_scale

__all__ = ["ConvBN", "Residual", "SpeedrunNet", "loss_scale_trace"]


def loss_scale_trace(
    found_inf: np.ndarray,
    init_scale: float = 65536.0,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[np.ndarray, np.ndarray]:
    """The loss scale and the count of good steps after each of ``T`` steps.

    ``found_inf``: bool ``(T,)``, whether step ``t``'s gradients overflowed. Starts from
    ``init_scale`` and 0 good steps and applies :func:`update_loss_scale` once per step.
    Returns ``(scales (T,) float64, good_steps (T,) int64)``.
    """
    scale, good = float(init_scale), 0
    scales, counts = [], []
    for flag in np.asarray(found_inf, dtype=bool).reshape(-1):
        scale, good = update_loss_scale(
            scale, bool(flag), good, growth_factor, backoff_factor, growth_interval
        )
        scales.append(scale)
        counts.append(good)
    return np.asarray(scales, dtype=np.float64), np.asarray(counts, dtype=np.int64)
