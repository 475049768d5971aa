"""Early stopping as a pure function of a validation history.

The lectures' rule: stop once the validation metric has not improved for a while, and
keep the snapshot that was best on the validation set. :class:`~dlcourse.train.solver.
Solver` applies it while training; :func:`early_stopping` applies the same rule to a
finished history, which is what a notebook exercise can check on given numbers:

* an epoch *improves* when its value is strictly better than every earlier one (ties
  keep the earlier snapshot, as in the solver);
* training stops after the epoch that makes ``patience`` epochs in a row without an
  improvement; if that never happens, the last epoch of the history is the stop.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validate import as_float_array, check_ndim


def early_stopping(
    val_history: np.ndarray, patience: int, maximize: bool = False
) -> tuple[int, int]:
    """Return ``(stop_epoch, best_epoch)`` for a validation history, epochs counted from 0.

    Args:
        val_history: the validation metric after each epoch, shape ``(E,)`` with E >= 1;
            a loss by default, an accuracy with ``maximize=True``.
        patience: how many epochs in a row without improvement end the training (>= 1).
        maximize: whether larger values are better.

    Returns:
        ``stop_epoch``, the last epoch that runs, and ``best_epoch``, the epoch whose
        weights are kept: the best value among epochs ``0 .. stop_epoch`` (the first one
        on a tie).
    """
    values = as_float_array(val_history, "val_history")
    check_ndim(values, 1, "val_history", "(E,)")
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("val_history must hold at least one value, all finite")
    if isinstance(patience, bool) or int(patience) != patience or patience < 1:
        raise ValueError(f"patience must be a whole number >= 1, got {patience!r}")
    sign = -1.0 if maximize else 1.0  # compare "lower is better" in both cases
    best_epoch, best_value = 0, math.inf
    for epoch, value in enumerate(values):
        if sign * float(value) < best_value:
            best_epoch, best_value = epoch, sign * float(value)
        elif epoch - best_epoch >= int(patience):
            return epoch, best_epoch
    return int(values.size - 1), best_epoch
