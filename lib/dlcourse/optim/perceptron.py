"""The perceptron and its training rule, as in the lecture notes.

The perceptron outputs ``sgn(w . x + b)``, a label in {-1, +1}. The bias is handled as
the lectures suggest, as one more weight whose input is always 1, so the weight vector
has ``D + 1`` entries and the bias is the last. Training cycles through the examples in
epochs; every misclassified example moves the weights by

    w <- w + lr(t) * (y - y_hat) * x

where ``y - y_hat`` is +2 or -2 for a mistake (and 0 otherwise, so correct examples leave
the weights alone), and the learning rate decays with the epoch ``t`` as
``lr(t) = 1000 / (1000 + t)``. On linearly separable data the rule stops making mistakes
after finitely many updates (the perceptron convergence theorem); on data that is not
separable, such as XOR, it never does.

:class:`Perceptron` records the weights and error counts after every epoch, so a widget
can step through training and draw each epoch's decision boundary with
:func:`decision_boundary`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import SupportsFloat

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_shape


def perceptron_lr(epoch: int | np.ndarray) -> float | np.ndarray:
    """The lectures' decaying learning rate ``1000 / (1000 + epoch)``; 1 at epoch 0.

    It decays slowly enough that the steps still add up to infinity (so the weights can
    travel as far as needed) while later epochs disturb a good solution less.
    """
    epoch_arr = np.asarray(epoch, dtype=np.float64)
    if np.any(epoch_arr < 0):
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    lr = 1000.0 / (1000.0 + epoch_arr)
    return float(lr) if lr.ndim == 0 else lr


def sign(z: np.ndarray) -> np.ndarray:
    """The perceptron's activation: +1 where ``z >= 0``, -1 elsewhere (same shape as z).

    ``np.sign`` would return 0 on the boundary, which is not a label; sending ties to +1
    also means an all-zero weight vector predicts +1, so training starts by fixing the
    negative examples.
    """
    return np.where(np.asarray(z) >= 0, 1.0, -1.0)


def add_bias_column(x: np.ndarray) -> np.ndarray:
    """Append a constant-1 feature: (N, D) -> (N, D + 1), so the bias becomes a weight."""
    return np.hstack([x, np.ones((x.shape[0], 1), dtype=x.dtype)])


def perceptron_update(w: np.ndarray, x: np.ndarray, y: float, lr: float) -> tuple[np.ndarray, bool]:
    """One step of the training rule on one example.

    ``w`` has shape (D + 1,) and ``x`` shape (D + 1,) (already holding its constant 1);
    ``y`` is -1 or +1. Returns the new weights and whether the example was misclassified.
    """
    y_hat = float(sign(w @ x))
    if y_hat == y:
        return w, False
    return w + lr * (y - y_hat) * x, True


def _check_data(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(x, "x")
    check_ndim(x, 2, "x", "(N, D)")
    y = np.asarray(y)
    check_shape(y, (x.shape[0],), "y", "(N,)")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(
            f"y must hold the labels -1 and +1, got the values {np.unique(y)[:5]}; "
            "labels 0/1 become -1/+1 with 2 * y - 1"
        )
    return x, y.astype(np.float64)


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of perceptron training did.

    ``weights`` (shape (D + 1,), bias last) are the weights at the end of the epoch;
    ``mistakes`` counts the updates made during the epoch; ``errors`` counts the training
    examples the end-of-epoch weights misclassify.
    """

    epoch: int
    lr: float
    weights: np.ndarray
    mistakes: int
    errors: int


class Perceptron:
    """A single perceptron trained with the lectures' rule.

    ``lr_fn`` maps the epoch to the learning rate (default :func:`perceptron_lr`).
    ``shuffle=True`` visits the examples in a new seeded order each epoch; by default
    they are visited in the given order, as in the lectures' algorithm.
    """

    def __init__(
        self,
        num_features: int,
        lr_fn: Callable[[int], SupportsFloat] = perceptron_lr,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        if isinstance(num_features, bool) or int(num_features) != num_features or num_features < 1:
            raise ValueError(f"num_features must be a whole number >= 1, got {num_features!r}")
        self.num_features = int(num_features)
        self.lr_fn = lr_fn
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.weights = np.zeros(self.num_features + 1)  # bias last
        self.history: list[EpochRecord] = []

    @property
    def w(self) -> np.ndarray:
        """The input weights, shape (D,)."""
        return self.weights[:-1]

    @property
    def b(self) -> float:
        """The bias."""
        return float(self.weights[-1])

    def fit(self, x: np.ndarray, y: np.ndarray, num_epochs: int = 100) -> Perceptron:
        """Train on ``x`` (N, D) with labels ``y`` (N,) in {-1, +1}.

        Stops early after the first epoch without a mistake (the weights can no longer
        change). Appends one :class:`EpochRecord` per epoch to ``history``; calling
        ``fit`` again continues from the current weights and epoch count.
        """
        x, y = _check_data(x, y)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} features, got {x.shape[1]}")
        if isinstance(num_epochs, bool) or int(num_epochs) != num_epochs or num_epochs < 1:
            raise ValueError(f"num_epochs must be a whole number >= 1, got {num_epochs!r}")
        xb = add_bias_column(x.astype(np.float64))
        w = self.weights.copy()
        first = len(self.history)
        for epoch in range(first, first + int(num_epochs)):
            lr = float(self.lr_fn(epoch))
            order = self.rng.permutation(len(y)) if self.shuffle else range(len(y))
            mistakes = 0
            for i in order:
                w, wrong = perceptron_update(w, xb[i], y[i], lr)
                mistakes += wrong
            errors = int(np.sum(sign(xb @ w) != y))
            self.history.append(EpochRecord(epoch, lr, w.copy(), mistakes, errors))
            if mistakes == 0:
                break
        self.weights = w
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """``w . x + b`` for each row of ``x`` (N, D); returns shape (N,)."""
        x = as_float_array(x, "x")
        check_shape(x, (None, self.num_features), "x", "(N, D)")
        return x @ self.w + self.b

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Labels in {-1, +1} for each row of ``x`` (N, D); returns shape (N,)."""
        return sign(self.decision_function(x))

    def converged(self) -> bool:
        """Whether the last epoch trained classified every example correctly."""
        return bool(self.history) and self.history[-1].mistakes == 0


def decision_boundary(
    weights: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float]
) -> np.ndarray | None:
    """The part of the 2-D decision boundary ``w1 x + w2 y + b = 0`` inside a box.

    ``weights`` is ``(w1, w2, b)``, e.g. ``record.weights`` of a 2-feature perceptron.
    Returns the two end points as an array of shape (2, 2) (rows are points), or
    ``None`` when the line misses the box or the input weights are both zero (no line).
    Clipping to the box, instead of solving for ``y``, also handles vertical lines.
    """
    weights = as_float_array(weights, "weights")
    check_shape(weights, (3,), "weights", "(w1, w2, b)")
    w1, w2, b = (float(v) for v in weights)
    (x0, x1), (y0, y1) = xlim, ylim
    points = []
    if w2 != 0:  # where the line crosses the left and right edges
        for x in (x0, x1):
            y = -(w1 * x + b) / w2
            if y0 <= y <= y1:
                points.append((x, y))
    if w1 != 0:  # and the bottom and top edges
        for y in (y0, y1):
            x = -(w2 * y + b) / w1
            if x0 <= x <= x1:
                points.append((x, y))
    unique = np.unique(np.array(points), axis=0) if points else np.empty((0, 2))
    if len(unique) < 2:
        return None
    # A line through a box corner can report the corner twice; keep the two farthest.
    far = np.argmax(np.linalg.norm(unique - unique[0], axis=1))
    return np.array([unique[0], unique[far]])
