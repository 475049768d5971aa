"""Check specs of ``optimizers.ipynb``: one-step update rules and learning-rate schedules.

The references are ``dlcourse.exercises.a2.optimizers`` (the notebook's signatures, with
the state arrays as separate arguments). Momentum and Nesterov use the lectures'
"classical" form ``v <- mu * v - lr * g; w <- w + v``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a2 import optimizers as ex

Inputs = dict[str, np.ndarray]


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    """One or two axes of 2 to 5 entries (at least 2 entries in all)."""
    return tuple(int(size) for size in rng.integers(2, 6, size=int(rng.integers(1, 3))))


def _lr(rng: np.random.Generator, low: float = -3.0, high: float = -0.5) -> np.ndarray:
    return np.array(10.0 ** rng.uniform(low, high))


def _weights(rng: np.random.Generator) -> tuple[tuple[int, ...], Inputs]:
    shape = _shape(rng)
    return shape, {"w": rng.standard_normal(shape), "dw": rng.standard_normal(shape)}


def _sgd_inputs(rng: np.random.Generator) -> Inputs:
    _, arrays = _weights(rng)
    return {**arrays, "lr": _lr(rng)}


def _momentum_inputs(rng: np.random.Generator) -> Inputs:
    shape, arrays = _weights(rng)
    return {
        **arrays,
        "v": 0.1 * rng.standard_normal(shape),
        "lr": _lr(rng),
        "mu": np.array(rng.uniform(0.5, 0.99)),
    }


def _adagrad_inputs(rng: np.random.Generator) -> Inputs:
    shape, arrays = _weights(rng)
    return {
        **arrays,
        "cache": rng.uniform(0.0, 5.0, size=shape),
        "lr": _lr(rng),
        "eps": np.array(10.0 ** rng.uniform(-10, -6)),
    }


def _rmsprop_inputs(rng: np.random.Generator) -> Inputs:
    shape, arrays = _weights(rng)
    return {
        **arrays,
        "cache": rng.uniform(0.0, 2.0, size=shape),
        "lr": _lr(rng),
        "decay_rate": np.array(rng.uniform(0.8, 0.999)),
        "eps": np.array(10.0 ** rng.uniform(-10, -6)),
    }


def _adam_inputs(rng: np.random.Generator) -> Inputs:
    # Early steps (t <= 10) and beta2 close to 1: the range where the bias correction
    # changes the step a lot, so forgetting it never passes by coincidence.
    shape, arrays = _weights(rng)
    return {
        **arrays,
        "m": 0.1 * rng.standard_normal(shape),
        "v": rng.uniform(0.0, 0.01, size=shape),
        "t": np.array(int(rng.integers(1, 11))),
        "lr": _lr(rng),
        "beta1": np.array(rng.uniform(0.8, 0.95)),
        "beta2": np.array(rng.uniform(0.999, 0.9999)),
        "eps": np.array(1e-8),
    }


def _epochs(rng: np.random.Generator, high: int) -> np.ndarray:
    """Between 3 and 12 distinct whole epochs in [0, high], in increasing order."""
    num = int(rng.integers(3, 13))
    return np.sort(rng.choice(high + 1, size=min(num, high + 1), replace=False))


def _step_decay_inputs(rng: np.random.Generator) -> Inputs:
    step_size = int(rng.integers(2, 31))
    return {
        "epoch": _epochs(rng, 4 * step_size),
        "base_lr": _lr(rng, -3.0, 0.0),
        "step_size": np.array(step_size),
        "gamma": np.array(rng.uniform(0.1, 0.9)),
    }


def _cosine_inputs(rng: np.random.Generator) -> Inputs:
    t_max = int(rng.integers(5, 201))
    base_lr = float(_lr(rng, -3.0, 0.0))
    return {
        "epoch": _epochs(rng, t_max),
        "base_lr": np.array(base_lr),
        "t_max": np.array(t_max),
        "min_lr": np.array(base_lr * rng.uniform(0.0, 0.2)),
    }


def _warmup_inputs(rng: np.random.Generator) -> Inputs:
    warmup_epochs = int(rng.integers(2, 21))
    return {
        "epoch": _epochs(rng, 2 * warmup_epochs),
        "base_lr": _lr(rng, -3.0, 0.0),
        "warmup_epochs": np.array(warmup_epochs),
        "start_factor": np.array(rng.uniform(0.01, 0.5)),
    }


SPECS = [
    exercise(
        "sgd_step_test",
        "call",
        _sgd_inputs,
        ex.sgd_step,
        hint="sgd_step: one step against the gradient, w - lr * dw; return the new w only.",
    ),
    exercise(
        "momentum_step_test",
        "call",
        _momentum_inputs,
        ex.momentum_step,
        hint="momentum_step: first the velocity v = mu * v - lr * dw, then w + v "
        "(the new velocity); return (w, v).",
    ),
    exercise(
        "nesterov_step_test",
        "call",
        _momentum_inputs,
        ex.nesterov_step,
        hint="nesterov_step: the same new velocity as momentum, but the weights move "
        "by (1 + mu) * v_new - mu * v_old; return (w, v_new).",
    ),
    exercise(
        "adagrad_step_test",
        "call",
        _adagrad_inputs,
        ex.adagrad_step,
        hint="adagrad_step: cache + dw**2 (summed, never decayed), then w - lr * dw "
        "/ (sqrt(new cache) + eps); eps outside the square root.",
    ),
    exercise(
        "rmsprop_step_test",
        "call",
        _rmsprop_inputs,
        ex.rmsprop_step,
        hint="rmsprop_step: cache = decay_rate * cache + (1 - decay_rate) * dw**2, "
        "then the AdaGrad step with the new cache.",
    ),
    exercise(
        "adam_step_test",
        "call",
        _adam_inputs,
        ex.adam_step,
        hint="adam_step: update m and v first, divide copies of them by (1 - "
        "beta1**t) and (1 - beta2**t), step with m_hat / (sqrt(v_hat) + eps); "
        "return the uncorrected m, v.",
    ),
    exercise(
        "step_decay_lr_test",
        "call",
        _step_decay_inputs,
        ex.step_decay_lr,
        hint="step_decay_lr: base_lr * gamma ** (number of whole step_size blocks "
        "before epoch), i.e. epoch // step_size; one rate per epoch.",
    ),
    exercise(
        "cosine_lr_test",
        "call",
        _cosine_inputs,
        ex.cosine_lr,
        hint="cosine_lr: min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / t_max)) "
        "/ 2; base_lr at epoch 0, min_lr at t_max.",
    ),
    exercise(
        "warmup_lr_test",
        "call",
        _warmup_inputs,
        ex.warmup_lr,
        hint="warmup_lr: base_lr * (start_factor + (1 - start_factor) * epoch / "
        "warmup_epochs) before warmup_epochs, base_lr from then on.",
    ),
]
