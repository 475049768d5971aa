"""``regularization.ipynb``: penalties, dropout, early stopping, batch and layer norm.

Thin calls into :mod:`dlcourse.functional` (penalties, dropout, batch norm, layer norm)
and :mod:`dlcourse.train.early_stopping`. The notebook's forms differ from the library's
in small ways: a ``train`` flag instead of a mode string, batch norm's training and
evaluation passes and its running statistics as separate functions with separate
arrays instead of one ``bn_param`` dict.
"""

from __future__ import annotations

import numpy as np

from dlcourse.functional import penalties
from dlcourse.functional.batchnorm import batchnorm_backward
from dlcourse.functional.batchnorm import batchnorm_forward as _batchnorm
from dlcourse.functional.dropout import dropout_forward
from dlcourse.functional.norms import layernorm_backward, layernorm_forward
from dlcourse.train.early_stopping import early_stopping as _early_stopping

Scalar = float | np.ndarray

__all__ = [
    "batchnorm_backward",
    "batchnorm_eval_forward",
    "batchnorm_forward",
    "batchnorm_running_stats",
    "early_stopping",
    "elastic_net_penalty",
    "inverted_dropout_forward",
    "l1_penalty",
    "l2_penalty",
    "layernorm_backward",
    "layernorm_forward",
    "vanilla_dropout_forward",
]


def l2_penalty(w: np.ndarray, reg: Scalar) -> tuple[np.floating, np.ndarray]:
    """``(reg * sum(w**2), 2 * reg * w)``."""
    return penalties.l2_penalty(w, float(reg))


def l1_penalty(w: np.ndarray, reg: Scalar) -> tuple[np.floating, np.ndarray]:
    """``(reg * sum(|w|), reg * sign(w))``."""
    return penalties.l1_penalty(w, float(reg))


def elastic_net_penalty(w: np.ndarray, reg: Scalar, beta: Scalar) -> tuple[np.floating, np.ndarray]:
    """``reg * sum(beta * w**2 + |w|)`` and its gradient."""
    return penalties.elastic_net_penalty(w, float(reg), float(beta))


def _dropout(
    x: np.ndarray, p: Scalar, seed: int | np.ndarray, train: bool | np.ndarray, inverted: bool
) -> tuple[np.ndarray, tuple]:
    mode = "train" if bool(train) else "test"
    return dropout_forward(x, float(p), mode, inverted, int(seed))


def vanilla_dropout_forward(
    x: np.ndarray, p: Scalar, seed: int | np.ndarray, train: bool | np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Drop with probability ``p``; no scaling in training, ``(1 - p) * x`` at test time."""
    return _dropout(x, p, seed, train, inverted=False)


def inverted_dropout_forward(
    x: np.ndarray, p: Scalar, seed: int | np.ndarray, train: bool | np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Drop with probability ``p`` and scale the kept by ``1 / (1 - p)``; identity at test."""
    return _dropout(x, p, seed, train, inverted=True)


def early_stopping(val_loss: np.ndarray, patience: int | np.ndarray) -> tuple[int, int]:
    """``(stop_epoch, best_epoch)``, counted from 0, for a validation curve ``(E,)``."""
    return _early_stopping(val_loss, int(patience))


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, tuple]:
    """Training-mode batch norm of ``x (N, D)`` with the batch's statistics; (out, cache)."""
    return _batchnorm(x, gamma, beta, {"mode": "train", "eps": eps})


def batchnorm_running_stats(
    running_mean: np.ndarray, running_var: np.ndarray, x: np.ndarray, momentum: Scalar
) -> tuple[np.ndarray, np.ndarray]:
    """The running mean and (unbiased) variance after one batch ``x (N, D)``: new arrays."""
    d = x.shape[1]
    bn_param = {
        "mode": "train",
        "momentum": float(momentum),
        "running_mean": running_mean.copy(),
        "running_var": running_var.copy(),
    }
    _batchnorm(x, np.ones(d), np.zeros(d), bn_param)
    return np.asarray(bn_param["running_mean"]), np.asarray(bn_param["running_var"])


def batchnorm_eval_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> np.ndarray:
    """Evaluation-mode batch norm of ``x (N, D)`` with the running statistics: out only."""
    bn_param = {
        "mode": "test",
        "eps": eps,
        "running_mean": running_mean.copy(),
        "running_var": running_var.copy(),
    }
    out, _ = _batchnorm(x, gamma, beta, bn_param)
    return out
