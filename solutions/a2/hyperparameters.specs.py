"""Check specs of ``hyperparameters.ipynb``: the initial loss and the search point sets.

The references are the course library's: the softmax loss of all-zero scores
(``dlcourse.functional.losses``) and the search tools of ``dlcourse.train.search``
(``LogUniform`` maps a uniform number onto the log scale; ``grid_search`` enumerates a grid).
"""

from __future__ import annotations

import numpy as np

from autograder.specs import CheckSpec
from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.train.search import LogUniform, grid_search

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


def _initial_loss(inputs: Inputs) -> Inputs:
    # Near-zero scores give uniform probabilities: the loss of all-zero scores, any label.
    num_classes = int(inputs["num_classes"])
    loss, _ = softmax_cross_entropy_loss(np.zeros((1, num_classes)), np.array([0]))
    return {"out": np.asarray(loss)}


def _log_uniform(inputs: Inputs) -> Inputs:
    dist = LogUniform(float(inputs["low"]), float(inputs["high"]))
    return {"out": np.vectorize(dist.from_unit, otypes=[np.float64])(inputs["u"])}


def _log_grid(inputs: Inputs) -> Inputs:
    dist = LogUniform(float(inputs["low"]), float(inputs["high"]))
    steps = np.linspace(0.0, 1.0, int(inputs["num"]))
    return {"out": np.array([dist.from_unit(float(step)) for step in steps])}


def _grid_points(inputs: Inputs) -> Inputs:
    grid = {"lr": list(inputs["lr_values"]), "reg": list(inputs["reg_values"])}
    # Every trial scores the same, and sorting keeps ties in order: the grid's own order.
    trials = grid_search(lambda **params: 0.0, grid)
    return {"out": np.array([[trial.params["lr"], trial.params["reg"]] for trial in trials])}


def _random_points(inputs: Inputs) -> Inputs:
    columns = []
    for j in range(2):
        dist = LogUniform(float(inputs["low"][j]), float(inputs["high"][j]))
        columns.append([dist.from_unit(float(u)) for u in inputs["u"][:, j]])
    return {"out": np.array(columns).T}


SPECS = [
    CheckSpec(
        "initial_softmax_loss_test",
        "call",
        _num_classes,
        _initial_loss,
        hint="initial_softmax_loss (step 1): with all scores equal every class gets "
        "probability 1/C, so the loss is -log(1/C) = log(C), the natural logarithm.",
    ),
    CheckSpec(
        "log_uniform_test",
        "call",
        _log_uniform_inputs,
        _log_uniform,
        hint="log_uniform (steps 4-5): interpolate the exponents, not the values: "
        "low * (high / low) ** u, elementwise, same shape as u.",
    ),
    CheckSpec(
        "log_grid_test",
        "call",
        _log_grid_inputs,
        _log_grid,
        hint="log_grid (steps 4-5): num values from low to high (both included), evenly "
        "spaced on a log scale; np.geomspace or log_uniform of np.linspace(0, 1, num).",
    ),
    CheckSpec(
        "grid_points_test",
        "call",
        _grid_inputs,
        _grid_points,
        hint="grid_points (steps 4-5): every (lr, reg) pair, shape (K * M, 2), lr changing "
        "slowest: [[lr0, reg0], [lr0, reg1], ..., [lr1, reg0], ...].",
    ),
    CheckSpec(
        "random_points_test",
        "call",
        _random_inputs,
        _random_points,
        hint="random_points (steps 4-5): column j of u becomes log-uniform between low[j] "
        "and high[j]; the result has u's shape (K, 2).",
    ),
]
