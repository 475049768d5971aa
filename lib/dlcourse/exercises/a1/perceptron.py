"""``perceptron.ipynb``: prediction, the update rule, one epoch, training with its schedule.

Thin calls into :mod:`dlcourse.optim.perceptron`: ``sign`` (ties go to +1),
``perceptron_lr``, ``perceptron_update`` and the ``Perceptron`` class, whose ``fit``
runs the notebook's epochs and stops after the first epoch without a mistake. Weights
are ``(D + 1,)`` with the bias last.
"""

from __future__ import annotations

import numpy as np

from dlcourse.optim import perceptron as ref


def perceptron_predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """+1 or -1 for every row of ``x (N, D)``; a score of exactly 0 gives +1."""
    return ref.sign(ref.add_bias_column(x) @ w)


def perceptron_lr(epoch: np.ndarray) -> np.ndarray:
    """``1000 / (1000 + epoch)``, elementwise, as floats."""
    return np.asarray(ref.perceptron_lr(epoch))


def perceptron_update(
    w: np.ndarray, x: np.ndarray, y: np.ndarray, lr: np.ndarray
) -> tuple[np.ndarray, bool]:
    """One example ``x (D + 1,)``: ``(new w, whether it was a mistake)``."""
    return ref.perceptron_update(w, x, float(y), float(lr))


def perceptron_epoch(
    w: np.ndarray, x: np.ndarray, y: np.ndarray, lr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the rows of ``x (N, D)`` in order: ``(w, number of mistakes)``."""
    mistakes = 0
    for x_i, y_i in zip(ref.add_bias_column(x), y, strict=True):
        w, wrong = ref.perceptron_update(w, x_i, float(y_i), float(lr))
        mistakes += int(wrong)
    return w, np.asarray(mistakes)


def train_perceptron(
    x: np.ndarray, y: np.ndarray, num_epochs: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray]:
    """From zero weights: ``(w (D + 1,), mistakes per epoch (E,))``, E <= num_epochs."""
    model = ref.Perceptron(x.shape[1]).fit(x, y, num_epochs=int(num_epochs))
    return model.weights, np.array([record.mistakes for record in model.history], dtype=np.int64)
