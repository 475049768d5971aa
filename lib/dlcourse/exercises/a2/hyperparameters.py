"""``hyperparameters.ipynb``: the initial loss and the point sets of grid and random search.

Thin calls into :mod:`dlcourse.functional.losses` (the softmax loss of all-equal scores)
and :mod:`dlcourse.train.search` (``LogUniform`` maps a uniform number onto the log
scale; ``grid_search`` enumerates a grid in its own order).
"""

from __future__ import annotations

import numpy as np

from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.train.search import LogUniform, grid_search


def initial_softmax_loss(num_classes: np.ndarray | int) -> np.ndarray:
    """The softmax loss of all-zero scores over ``num_classes`` classes, for any label."""
    loss, _ = softmax_cross_entropy_loss(np.zeros((1, int(num_classes))), np.array([0]))
    return np.asarray(loss)


def log_uniform(u: np.ndarray, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
    """Uniform numbers ``u`` in [0, 1) mapped log-uniformly onto [low, high]; u's shape."""
    dist = LogUniform(float(low), float(high))
    return np.vectorize(dist.from_unit, otypes=[np.float64])(u)


def log_grid(
    low: float | np.ndarray, high: float | np.ndarray, num: int | np.ndarray
) -> np.ndarray:
    """``num`` values from low to high, evenly spaced on a log scale: shape (num,)."""
    dist = LogUniform(float(low), float(high))
    steps = np.linspace(0.0, 1.0, int(num))
    return np.array([dist.from_unit(float(step)) for step in steps])


def grid_points(lr_values: np.ndarray, reg_values: np.ndarray) -> np.ndarray:
    """Every ``(lr, reg)`` pair, lr changing slowest: shape (K * M, 2)."""
    grid = {"lr": list(lr_values), "reg": list(reg_values)}
    # Every trial scores the same, and sorting keeps ties in order: the grid's own order.
    trials = grid_search(lambda **params: 0.0, grid)
    return np.array([[trial.params["lr"], trial.params["reg"]] for trial in trials])


def random_points(u: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Column j of ``u (K, 2)`` log-uniform between ``low[j]`` and ``high[j]``: (K, 2)."""
    columns = []
    for j in range(2):
        dist = LogUniform(float(low[j]), float(high[j]))
        columns.append([dist.from_unit(float(value)) for value in u[:, j]])
    return np.array(columns).T
