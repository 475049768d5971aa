"""Check specs of ``losses.ipynb``: regression, binary and multiclass losses.

Shapes are drawn per case. The references are ``dlcourse.exercises.a1.losses``. The
logit-based checks put some logits near +-1000 in every case, so a formula that calls
``exp`` on a large positive number (naive softmax, ``log(1 + exp(s))``) fails them.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a1 import losses as ex

Inputs = dict[str, np.ndarray]


def _regression(rng: np.random.Generator) -> Inputs:
    n = int(rng.integers(2, 9))
    shape = (n,) if rng.random() < 0.5 else (n, int(rng.integers(2, 5)))
    return {"y_hat": 2.0 * rng.standard_normal(shape), "y": 2.0 * rng.standard_normal(shape)}


def _probabilities(rng: np.random.Generator) -> Inputs:
    """Probabilities well inside (0, 1), where clipping changes nothing; soft targets too."""
    n = int(rng.integers(2, 9))
    shape = (n,) if rng.random() < 0.5 else (n, int(rng.integers(2, 4)))
    y = (rng.random(shape) < 0.5).astype(np.float64)
    if rng.random() < 0.3:
        y = rng.uniform(0.0, 1.0, shape)
    return {"probs": rng.uniform(0.02, 0.98, shape), "y": y}


def _binary_logits(rng: np.random.Generator) -> Inputs:
    """Logits of ordinary size, plus at least one near +1000 and one near -1000."""
    n = int(rng.integers(4, 10))
    scores = 3.0 * rng.standard_normal(n)
    big = rng.choice(n, 2, replace=False)
    scores[big[0]] = rng.uniform(750.0, 1200.0)
    scores[big[1]] = -rng.uniform(750.0, 1200.0)
    y = (rng.random(n) < 0.5).astype(np.float64)
    # A wrong confident prediction in each direction, so the loss itself is large there.
    y[big[0]], y[big[1]] = 0.0, 1.0
    return {"scores": scores, "y": y}


def _class_scores(rng: np.random.Generator, large: bool) -> Inputs:
    n, c = int(rng.integers(3, 9)), int(rng.integers(3, 7))
    scores = 2.0 * rng.standard_normal((n, c))
    if large:
        # One row of huge positive logits and one of huge negative ones in every case.
        rows = rng.choice(n, 2, replace=False)
        scores[rows[0]] = rng.uniform(900.0, 1100.0) + 5.0 * rng.standard_normal(c)
        scores[rows[1]] = -rng.uniform(900.0, 1100.0) + 5.0 * rng.standard_normal(c)
    return {"scores": scores, "y": rng.integers(0, c, size=n)}


SPECS = [
    exercise(
        "mse_loss_test",
        "loss",
        _regression,
        ex.mse_loss,
        hint="mse_loss (section 1): loss = mean((y_hat - y)**2), gradient 2 * (y_hat "
        "- y) / y_hat.size (no factor 1/2; divide by the number of entries).",
    ),
    exercise(
        "bce_loss_test",
        "loss",
        _probabilities,
        ex.bce_loss,
        hint="bce_loss (section 2a): -mean(y log p + (1 - y) log(1 - p)); gradient "
        "(p - y) / (p (1 - p)) / probs.size. Targets may be soft (between 0 and "
        "1).",
    ),
    exercise(
        "bce_with_logits_loss_test",
        "loss",
        _binary_logits,
        ex.bce_with_logits_loss,
        hint="bce_with_logits_loss (section 2b): per entry max(s, 0) - y s + "
        "log1p(exp(-|s|)), averaged; gradient (sigmoid(s) - y) / scores.size. "
        "Some logits are near +-1000: never call exp on a large positive "
        "number.",
    ),
    exercise(
        "softmax_cross_entropy_loss_test",
        "loss",
        partial(_class_scores, large=True),
        ex.softmax_cross_entropy_loss,
        hint="softmax_cross_entropy_loss (section 3): subtract each row's maximum "
        "before exp (some rows hold logits near +-1000), compute "
        "log-probabilities, average -log p[i, y_i]; gradient (softmax - "
        "onehot(y)) / N.",
    ),
    exercise(
        "multiclass_svm_loss_test",
        "loss",
        partial(_class_scores, large=False),
        ex.multiclass_svm_loss,
        hint="multiclass_svm_loss (section 4): sum over j != y_i of max(0, s_ij - "
        "s_iy_i + 1), divided by N; +1/N for each violated class, minus the "
        "count of violations / N for the true class.",
    ),
]
