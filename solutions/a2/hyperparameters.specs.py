"""Check specs of ``hyperparameters.ipynb``: the initial loss and the search point sets.

The references are ``dlcourse.exercises.a2.hyperparameters``. Ranges span 1 to 6
decades, so interpolating the values instead of the exponents always shows.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a2 import hyperparameters as ex

Inputs = dict[str, np.ndarray]


def _bounds(rng: np.random.Generator) -> tuple[float, float]:
    """A range spanning 1 to 6 decades somewhere between 1e-7 and 1e2."""
    low = 10.0 ** rng.uniform(-7, 0)
    return low, low * 10.0 ** rng.uniform(1, 6)


def _num_classes(rng: np.random.Generator) -> Inputs:
    return {"num_classes": np.array(int(rng.integers(2, 1001)))}


def _log_uniform_inputs(rng: np.random.Generator) -> Inputs:
    low, high = _bounds(rng)
    shape = tuple(int(size) for size in rng.integers(1, 6, size=int(rng.integers(1, 3))))
    return {"u": rng.random(shape), "low": np.array(low), "high": np.array(high)}


def _log_grid_inputs(rng: np.random.Generator) -> Inputs:
    low, high = _bounds(rng)
    return {"low": np.array(low), "high": np.array(high), "num": np.array(int(rng.integers(2, 9)))}


def _grid_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "lr_values": np.sort(10.0 ** rng.uniform(-5, 0, size=int(rng.integers(1, 6)))),
        "reg_values": np.sort(10.0 ** rng.uniform(-6, -1, size=int(rng.integers(1, 6)))),
    }


def _random_inputs(rng: np.random.Generator) -> Inputs:
    bounds = np.array([_bounds(rng), _bounds(rng)])  # (2, 2): one (low, high) row per column
    return {
        "u": rng.random((int(rng.integers(2, 12)), 2)),
        "low": bounds[:, 0],
        "high": bounds[:, 1],
    }


SPECS = [
    exercise(
        "initial_softmax_loss_test",
        "call",
        _num_classes,
        ex.initial_softmax_loss,
        hint="initial_softmax_loss (step 1): with all scores equal every class gets "
        "probability 1/C, so the loss is -log(1/C) = log(C), the natural "
        "logarithm.",
    ),
    exercise(
        "log_uniform_test",
        "call",
        _log_uniform_inputs,
        ex.log_uniform,
        hint="log_uniform (steps 4-5): interpolate the exponents, not the values: "
        "low * (high / low) ** u, elementwise, same shape as u.",
    ),
    exercise(
        "log_grid_test",
        "call",
        _log_grid_inputs,
        ex.log_grid,
        hint="log_grid (steps 4-5): num values from low to high (both included), "
        "evenly spaced on a log scale; np.geomspace or log_uniform of "
        "np.linspace(0, 1, num).",
    ),
    exercise(
        "grid_points_test",
        "call",
        _grid_inputs,
        ex.grid_points,
        hint="grid_points (steps 4-5): every (lr, reg) pair, shape (K * M, 2), lr "
        "changing slowest: [[lr0, reg0], [lr0, reg1], ..., [lr1, reg0], ...].",
    ),
    exercise(
        "random_points_test",
        "call",
        _random_inputs,
        ex.random_points,
        hint="random_points (steps 4-5): column j of u becomes log-uniform between "
        "low[j] and high[j]; the result has u's shape (K, 2).",
    ),
]
