"""Check specs of ``perceptron.ipynb``: prediction, the training rule and its schedule.

The references are ``dlcourse.exercises.a1.perceptron``. Sizes are drawn per case;
prediction cases put a point exactly on the boundary, where ties go to +1.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a1 import perceptron as ex

Inputs = dict[str, np.ndarray]


def _labels(rng: np.random.Generator, x: np.ndarray, separable: bool) -> np.ndarray:
    """Labels of a random hyperplane (separable) or random labels; both classes occur.

    The hyperplane's offset lies halfway between the two middle projections, so it splits
    the points into two non-empty groups with a margin.
    """
    if separable:
        scores = x @ rng.standard_normal(x.shape[1])
        middle = np.sort(scores)[len(scores) // 2 - 1 : len(scores) // 2 + 1]
        return np.where(scores > middle.mean(), 1.0, -1.0)
    y = rng.choice([-1.0, 1.0], size=len(x))
    y[0], y[1] = 1.0, -1.0
    return y


def _predict_inputs(rng: np.random.Generator) -> Inputs:
    """Small whole numbers, so scores are exact and ties (score 0) occur in every case."""
    n, d = int(rng.integers(3, 10)), int(rng.integers(1, 4))
    x = rng.integers(-3, 4, size=(n, d)).astype(np.float64)
    w = rng.integers(-2, 3, size=d + 1).astype(np.float64)
    w[0] = rng.choice([-1.0, 1.0])
    # Row 0 lies exactly on the boundary: solve for its first feature.
    x[0, 0] = -(w[-1] + x[0, 1:] @ w[1:d]) / w[0]
    return {"w": w, "x": x}


def _lr_inputs(rng: np.random.Generator) -> Inputs:
    epochs = rng.integers(1, 5000, size=int(rng.integers(2, 8)))
    epochs[0] = 0 if rng.random() < 0.5 else epochs[0]
    return {"epoch": epochs}


def _update_inputs(rng: np.random.Generator) -> Inputs:
    d = int(rng.integers(1, 5))
    x = np.append(rng.standard_normal(d), 1.0)
    return {
        "w": rng.standard_normal(d + 1),
        "x": x,
        "y": np.array(rng.choice([-1.0, 1.0])),
        "lr": np.array(rng.uniform(0.1, 1.0)),
    }


def _epoch_inputs(rng: np.random.Generator) -> Inputs:
    n, d = int(rng.integers(3, 12)), int(rng.integers(1, 4))
    x = rng.standard_normal((n, d))
    return {
        "w": rng.standard_normal(d + 1),
        "x": x,
        "y": _labels(rng, x, separable=bool(rng.random() < 0.5)),
        "lr": np.array(rng.uniform(0.2, 1.0)),
    }


def _train_inputs(rng: np.random.Generator) -> Inputs:
    n, d = int(rng.integers(4, 16)), int(rng.integers(1, 4))
    x = rng.standard_normal((n, d)) + rng.normal(0.0, 1.0, size=d)
    return {
        "x": x,
        "y": _labels(rng, x, separable=bool(rng.random() < 0.6)),
        "num_epochs": np.array(int(rng.integers(2, 30))),
    }


SPECS = [
    exercise(
        "perceptron_predict_test",
        "call",
        _predict_inputs,
        ex.perceptron_predict,
        hint="perceptron_predict (section 1): score = x @ w[:-1] + w[-1] (bias "
        "last); +1 where score >= 0, -1 elsewhere. np.sign gives 0 on the "
        "boundary, which is wrong.",
    ),
    exercise(
        "perceptron_lr_test",
        "call",
        _lr_inputs,
        ex.perceptron_lr,
        hint="perceptron_lr (section 2): 1000 / (1000 + epoch), elementwise for an "
        "array of epochs, as floats (beware of integer division).",
    ),
    exercise(
        "perceptron_update_test",
        "call",
        _update_inputs,
        ex.perceptron_update,
        num_visible=3,
        num_hidden=4,
        hint="perceptron_update (section 2): y_hat = +1 if w @ x >= 0 else -1; "
        "return (w + lr * (y - y_hat) * x, y_hat != y). A correct example "
        "leaves w unchanged.",
    ),
    exercise(
        "perceptron_epoch_test",
        "call",
        _epoch_inputs,
        ex.perceptron_epoch,
        hint="perceptron_epoch (section 2): append a column of ones to x, then apply "
        "perceptron_update to rows 0, 1, ... in order, each from the previous "
        "weights; return (w, number of mistakes).",
    ),
    exercise(
        "train_perceptron_test",
        "call",
        _train_inputs,
        ex.train_perceptron,
        hint="train_perceptron (section 3): start from zeros of shape (D + 1,); "
        "epoch t uses perceptron_lr(t) with t from 0; record each epoch's "
        "mistakes and stop right after an epoch with 0 mistakes.",
    ),
]
