"""Loss functions: ``xxx_loss(prediction, target) -> (loss, dprediction)``.

``loss`` is a NumPy scalar in the prediction's dtype, averaged over the batch;
``dprediction`` is the gradient of that mean with respect to the prediction, with the
prediction's shape and dtype. Targets are converted to the prediction's dtype, so
float32 predictions give float32 results even with integer or float64 targets.

Classification losses take raw class scores (logits) ``scores`` of shape (N, C) and
integer labels ``y`` of shape (N,). Regression and binary losses take arrays of shape
(N,) or (N, ...) and average over every entry, as torch's ``reduction="mean"`` does;
with one output per example that is exactly the mean over the batch.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array, check_labels, check_ndim, check_same_shape
from dlcourse.functional.activations import sigmoid

# ------------------------------------------------------------------------- helpers


def _prediction(values: object, name: str) -> np.ndarray:
    """Validate a prediction of shape (N,) or (N, ...) holding at least one entry."""
    values = as_float_array(values, name)
    if values.ndim == 0 or values.size == 0:
        raise ValueError(
            f"{name} must have shape (N,) or (N, ...) with at least one entry, "
            f"got shape {values.shape}"
        )
    return values


def _target(y: object, prediction: np.ndarray, name: str) -> np.ndarray:
    """Validate a target with the prediction's shape; return it in the prediction's dtype."""
    y = as_float_array(y, "y")
    check_same_shape(prediction, y, name, "y")
    return y.astype(prediction.dtype, copy=False)


def _check_unit_interval(values: np.ndarray, name: str, hint: str = "") -> None:
    """Raise ``ValueError`` unless every entry lies in [0, 1] (NaN fails too)."""
    if not np.all((values >= 0) & (values <= 1)):
        raise ValueError(
            f"{name} must lie in [0, 1], got values from {np.min(values)} to {np.max(values)}"
            + hint
        )


def _class_scores(scores: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate scores (N, C) with N, C >= 1 and labels (N,) in [0, C)."""
    scores = as_float_array(scores, "scores")
    check_ndim(scores, 2, "scores", "(N, C)")
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(
            f"scores must have shape (N, C) with N >= 1 examples and C >= 1 classes, "
            f"got {scores.shape}"
        )
    labels = check_labels(y, scores.shape[0], scores.shape[1])
    return scores, labels


def _last_axis_scores(scores: object) -> np.ndarray:
    """Validate scores of shape (..., C) with C >= 1 for the softmax helpers."""
    scores = as_float_array(scores, "scores")
    if scores.ndim == 0 or scores.shape[-1] == 0:
        raise ValueError(
            f"scores must have shape (..., C) with C >= 1 classes, got shape {scores.shape}"
        )
    return scores


# ------------------------------------------------------------------------- softmax


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Log-probabilities ``s_j - log(sum_k exp(s_k))`` over the last axis.

    scores: (..., C), e.g. (N, C). Returns the same shape and dtype. Subtracting the
    row maximum first (the log-sum-exp trick) changes nothing mathematically but makes
    every exponent <= 0, so ``exp`` cannot overflow and the largest term is exactly 1.
    """
    scores = _last_axis_scores(scores)
    shifted = scores - np.max(scores, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities ``exp(s_j) / sum_k exp(s_k)`` over the last axis.

    scores: (..., C). Returns the same shape and dtype; each row sums to 1. Shifted by
    the row maximum like :func:`log_softmax`, so logits of any size are fine.
    """
    scores = _last_axis_scores(scores)
    exps = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    return exps / np.sum(exps, axis=-1, keepdims=True)


# ------------------------------------------------------------------- classification


def softmax_cross_entropy_loss(scores: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Mean cross-entropy ``-log softmax(scores)[i, y_i]`` over the batch.

    scores: (N, C) logits; y: (N,) integer labels in [0, C). Returns the loss and
    dscores (N, C) = ``(softmax(scores) - onehot(y)) / N``. Working with log-softmax
    keeps the loss finite and exact even for logits like 1e4, where ``softmax`` alone
    would round probabilities to 0 and ``log`` would return -inf.
    """
    scores, labels = _class_scores(scores, y)
    n = scores.shape[0]
    rows = np.arange(n)
    log_probs = log_softmax(scores)
    loss = -np.mean(log_probs[rows, labels])
    dscores = np.exp(log_probs)
    dscores[rows, labels] -= 1
    return loss, dscores / n


def soft_cross_entropy_loss(
    scores: np.ndarray, targets: np.ndarray
) -> tuple[np.floating, np.ndarray]:
    """Mean cross-entropy ``-sum_j t_ij log softmax(scores)_ij`` against soft labels.

    The loss to train on mixup's targets (:func:`dlcourse.data.augment.mixup`) or on
    label-smoothed ones; torch's ``cross_entropy`` computes the same with probability
    targets. A one-hot ``targets`` gives :func:`softmax_cross_entropy_loss`.

    scores: (N, C) logits; targets: (N, C) class probabilities, each row non-negative and
    summing to 1. Returns the loss and dscores (N, C) = ``(softmax(scores) - targets) / N``
    (that form needs the rows to sum to 1, which is why they are checked).
    """
    scores = as_float_array(scores, "scores")
    check_ndim(scores, 2, "scores", "(N, C)")
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(
            f"scores must have shape (N, C) with N >= 1 examples and C >= 1 classes, "
            f"got {scores.shape}"
        )
    targets = as_float_array(targets, "targets")
    check_same_shape(scores, targets, "scores", "targets")
    targets = targets.astype(scores.dtype, copy=False)
    _check_unit_interval(targets, "targets", " (class probabilities)")
    row_sums = targets.sum(axis=1)
    # float32 targets such as mixup's carry rounding of a few ulps in each row's sum.
    tol = 1e-4 if targets.dtype == np.float32 else 1e-8
    if not np.allclose(row_sums, 1.0, rtol=0.0, atol=tol):
        worst = int(np.argmax(np.abs(row_sums - 1.0)))
        raise ValueError(
            f"targets must hold one probability distribution per row (each row summing "
            f"to 1), got row {worst} summing to {row_sums[worst]}"
        )
    n = scores.shape[0]
    log_probs = log_softmax(scores)
    loss = -np.sum(targets * log_probs) / n
    return loss, (np.exp(log_probs) - targets) / n


def multiclass_svm_loss(
    scores: np.ndarray, y: np.ndarray, delta: float = 1.0
) -> tuple[np.floating, np.ndarray]:
    """Multiclass hinge loss ``(1/N) sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + delta)``.

    scores: (N, C); y: (N,) integer labels; delta >= 0 is the required margin (1 in
    the lecture). Returns the loss and dscores (N, C): +1/N for every class whose margin
    is violated (positive), and -1/N times the number of violations for the true class.
    A margin of exactly 0 counts as not violated (subgradient 0 at the kink).
    """
    scores, labels = _class_scores(scores, y)
    delta = float(delta)
    if not delta >= 0:
        raise ValueError(f"delta must be a non-negative margin, got {delta}")
    n = scores.shape[0]
    rows = np.arange(n)
    correct = scores[rows, labels][:, None]  # (N, 1)
    margins = np.maximum(scores - correct + delta, 0)
    margins[rows, labels] = 0  # the true class is not compared with itself
    loss = np.sum(margins) / n
    violated = (margins > 0).astype(scores.dtype)
    violated[rows, labels] = -np.sum(violated, axis=1)
    return loss, violated / n


# ------------------------------------------------------------------ regression, binary


def mse_loss(y_hat: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Mean squared error ``mean((y_hat - y)**2)`` over every entry.

    y_hat, y: same shape, (N,) or (N, ...). Returns the loss and dy_hat (y_hat's shape)
    = ``2 (y_hat - y) / y_hat.size``.
    """
    y_hat = _prediction(y_hat, "y_hat")
    y = _target(y, y_hat, "y_hat")
    diff = y_hat - y
    return np.mean(diff * diff), 2 * diff / diff.size


def bce_loss(probs: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))`` from probabilities.

    probs: (N,) or (N, ...) in [0, 1], e.g. a sigmoid output; y: same shape, targets in
    [0, 1]. Returns the loss and dprobs = ``(p - y) / (p (1 - p)) / probs.size``.

    Probabilities are clipped to [eps, 1 - eps] (eps = machine epsilon of the dtype)
    before use. A saturated sigmoid easily returns exactly 0 or 1; unclipped, a wrong
    confident prediction would give ``log(0) = -inf`` and a division by zero in the
    gradient, and a single such entry would turn the whole batch loss into inf or NaN.
    With the clip that entry costs at most ``-log(eps)`` (about 16 in float32, 36 in
    float64), which still dominates the loss, and its gradient stays finite. Prefer
    :func:`bce_with_logits_loss` when the logits are available: it needs no clipping.
    """
    probs = _prediction(probs, "probs")
    y = _target(y, probs, "probs")
    _check_unit_interval(probs, "probs", "; for raw scores use bce_with_logits_loss")
    _check_unit_interval(y, "y")
    eps = np.finfo(probs.dtype).eps
    p = np.clip(probs, eps, 1 - eps)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    return loss, (p - y) / (p * (1 - p)) / p.size


def bce_with_logits_loss(scores: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Binary cross-entropy of ``sigmoid(scores)``, computed from the logits directly.

    scores: (N,) or (N, ...); y: same shape, targets in [0, 1]. Returns the loss and
    dscores = ``(sigmoid(scores) - y) / scores.size``.

    Per entry the loss is ``log(1 + exp(s)) - y s``, evaluated as
    ``max(s, 0) - y s + log1p(exp(-|s|))``: the same value, but ``exp`` only sees
    non-positive numbers, so no overflow and no ``log(0)`` for any logit.
    """
    scores = _prediction(scores, "scores")
    y = _target(y, scores, "scores")
    _check_unit_interval(y, "y")
    per_entry = np.maximum(scores, 0) - y * scores + np.log1p(np.exp(-np.abs(scores)))
    return np.mean(per_entry), (sigmoid(scores) - y) / scores.size
