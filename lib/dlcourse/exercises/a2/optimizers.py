"""``optimizers.ipynb``: one step of each update rule, and three learning-rate schedules.

The library's rules in :mod:`dlcourse.optim.optimizers` take ``(w, dw, state)`` and return
``(next_w, next_state)``; the notebook passes the state arrays as separate arguments and
gets them back in a tuple, so each reference here is a thin call that packs and unpacks
the state. Momentum and Nesterov use the lectures' "classical" form
``v <- mu * v - lr * dw; w <- w + v`` (Sutskever et al., 2013). The schedules are
:mod:`dlcourse.optim.schedules` evaluated at every epoch of an array.
"""

from __future__ import annotations

import numpy as np

from dlcourse.optim.optimizers import adagrad_step as _adagrad
from dlcourse.optim.optimizers import adam_step as _adam
from dlcourse.optim.optimizers import momentum_step as _momentum
from dlcourse.optim.optimizers import rmsprop_step as _rmsprop
from dlcourse.optim.optimizers import sgd_step as _sgd
from dlcourse.optim.schedules import CosineAnnealing, LinearWarmup, Schedule, StepDecay

Scalar = float | np.ndarray


def sgd_step(w: np.ndarray, dw: np.ndarray, lr: Scalar) -> np.ndarray:
    """``w - lr * dw``, w's shape."""
    return _sgd(w, dw, {}, lr=float(lr))[0]


def _classical(
    w: np.ndarray, dw: np.ndarray, v: np.ndarray, lr: Scalar, mu: Scalar, nesterov: bool
) -> tuple[np.ndarray, np.ndarray]:
    # With mu = 0 Nesterov is plain SGD, which the library wants asked for as such.
    next_w, state = _momentum(
        w, dw, {"velocity": v}, lr=float(lr), momentum=float(mu),
        nesterov=nesterov and float(mu) > 0, form="classical",
    )  # fmt: skip
    return next_w, state["velocity"]


def momentum_step(
    w: np.ndarray, dw: np.ndarray, v: np.ndarray, lr: Scalar, mu: Scalar
) -> tuple[np.ndarray, np.ndarray]:
    """``(w + v_new, v_new)`` with ``v_new = mu * v - lr * dw``."""
    return _classical(w, dw, v, lr, mu, nesterov=False)


def nesterov_step(
    w: np.ndarray, dw: np.ndarray, v: np.ndarray, lr: Scalar, mu: Scalar
) -> tuple[np.ndarray, np.ndarray]:
    """``(w + (1 + mu) * v_new - mu * v, v_new)``: the look-ahead in the shifted variables."""
    return _classical(w, dw, v, lr, mu, nesterov=True)


def adagrad_step(
    w: np.ndarray, dw: np.ndarray, cache: np.ndarray, lr: Scalar, eps: Scalar
) -> tuple[np.ndarray, np.ndarray]:
    """``(w - lr * dw / (sqrt(cache_new) + eps), cache_new)``, ``cache_new = cache + dw**2``."""
    next_w, state = _adagrad(w, dw, {"sum_sq": cache}, lr=float(lr), eps=float(eps))
    return next_w, state["sum_sq"]


def rmsprop_step(
    w: np.ndarray, dw: np.ndarray, cache: np.ndarray, lr: Scalar, decay_rate: Scalar, eps: Scalar
) -> tuple[np.ndarray, np.ndarray]:
    """AdaGrad's step with a decaying average of ``dw**2``: ``(w, cache_new)``."""
    next_w, state = _rmsprop(
        w, dw, {"sq_avg": cache}, lr=float(lr), alpha=float(decay_rate), eps=float(eps)
    )
    return next_w, state["sq_avg"]


def adam_step(
    w: np.ndarray,
    dw: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    t: int | np.ndarray,
    lr: Scalar,
    beta1: Scalar,
    beta2: Scalar,
    eps: Scalar,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step number ``t`` (from 1) of Adam (Kingma & Ba, 2015): ``(w, m, v)``, m and v
    without the bias correction."""
    # The library counts the steps already taken; the notebook's t is this step's number.
    next_w, state = _adam(
        w, dw, {"m": m, "v": v, "step": int(t) - 1},
        lr=float(lr), beta1=float(beta1), beta2=float(beta2), eps=float(eps),
    )  # fmt: skip
    return next_w, state["m"], state["v"]


def _rates(schedule: Schedule, epoch: np.ndarray) -> np.ndarray:
    return np.array([schedule.lr_at(float(e)) for e in np.asarray(epoch)])


def step_decay_lr(
    epoch: np.ndarray, base_lr: Scalar, step_size: int | np.ndarray, gamma: Scalar
) -> np.ndarray:
    """``base_lr * gamma ** (epoch // step_size)`` for every epoch."""
    return _rates(StepDecay(float(base_lr), int(step_size), float(gamma)), epoch)


def cosine_lr(
    epoch: np.ndarray, base_lr: Scalar, t_max: int | np.ndarray, min_lr: Scalar
) -> np.ndarray:
    """Cosine annealing from ``base_lr`` at 0 to ``min_lr`` at ``t_max`` (Loshchilov &
    Hutter, 2017)."""
    return _rates(CosineAnnealing(float(base_lr), int(t_max), float(min_lr)), epoch)


def warmup_lr(
    epoch: np.ndarray, base_lr: Scalar, warmup_epochs: int | np.ndarray, start_factor: Scalar
) -> np.ndarray:
    """Linear warm-up from ``start_factor * base_lr`` to ``base_lr`` over warmup_epochs."""
    return _rates(LinearWarmup(float(base_lr), int(warmup_epochs), float(start_factor)), epoch)
