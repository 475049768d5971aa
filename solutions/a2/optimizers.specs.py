"""Check specs of ``optimizers.ipynb``: one-step update rules and learning-rate schedules.

The references are the course library's pure update rules in ``dlcourse.optim.optimizers``
(each takes ``(w, dw, state)`` and returns ``(next_w, next_state)``; the notebook's
functions take the state arrays as separate arguments) and the schedules of
``dlcourse.optim.schedules``. Momentum and Nesterov use the lectures' "classical" form
``v <- mu * v - lr * g; w <- w + v``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import CheckSpec
from dlcourse.optim.optimizers import (
    adagrad_step,
    adam_step,
    momentum_step,
    rmsprop_step,
    sgd_step,
)
from dlcourse.optim.schedules import CosineAnnealing, LinearWarmup, StepDecay

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


def _sgd(inputs: Inputs) -> Inputs:
    next_w, _ = sgd_step(inputs["w"], inputs["dw"], {}, lr=float(inputs["lr"]))
    return {"out": next_w}


def _momentum(nesterov: bool):
    def reference(inputs: Inputs) -> Inputs:
        next_w, state = momentum_step(
            inputs["w"],
            inputs["dw"],
            {"velocity": inputs["v"]},
            lr=float(inputs["lr"]),
            momentum=float(inputs["mu"]),
            nesterov=nesterov,
            form="classical",
        )
        return {"out0": next_w, "out1": state["velocity"]}

    return reference


def _adagrad(inputs: Inputs) -> Inputs:
    next_w, state = adagrad_step(
        inputs["w"],
        inputs["dw"],
        {"sum_sq": inputs["cache"]},
        lr=float(inputs["lr"]),
        eps=float(inputs["eps"]),
    )
    return {"out0": next_w, "out1": state["sum_sq"]}


def _rmsprop(inputs: Inputs) -> Inputs:
    next_w, state = rmsprop_step(
        inputs["w"],
        inputs["dw"],
        {"sq_avg": inputs["cache"]},
        lr=float(inputs["lr"]),
        alpha=float(inputs["decay_rate"]),
        eps=float(inputs["eps"]),
    )
    return {"out0": next_w, "out1": state["sq_avg"]}


def _adam(inputs: Inputs) -> Inputs:
    # The reference counts the steps already taken; the notebook's t is this step's number.
    state = {"m": inputs["m"], "v": inputs["v"], "step": int(inputs["t"]) - 1}
    next_w, state = adam_step(
        inputs["w"],
        inputs["dw"],
        state,
        lr=float(inputs["lr"]),
        beta1=float(inputs["beta1"]),
        beta2=float(inputs["beta2"]),
        eps=float(inputs["eps"]),
    )
    return {"out0": next_w, "out1": state["m"], "out2": state["v"]}


def _schedule_lrs(schedule, epochs: np.ndarray) -> Inputs:
    return {"out": np.array([schedule.lr_at(float(epoch)) for epoch in epochs])}


def _step_decay(inputs: Inputs) -> Inputs:
    schedule = StepDecay(float(inputs["base_lr"]), int(inputs["step_size"]), float(inputs["gamma"]))
    return _schedule_lrs(schedule, inputs["epoch"])


def _cosine(inputs: Inputs) -> Inputs:
    schedule = CosineAnnealing(
        float(inputs["base_lr"]), int(inputs["t_max"]), float(inputs["min_lr"])
    )
    return _schedule_lrs(schedule, inputs["epoch"])


def _warmup(inputs: Inputs) -> Inputs:
    schedule = LinearWarmup(
        float(inputs["base_lr"]), int(inputs["warmup_epochs"]), float(inputs["start_factor"])
    )
    return _schedule_lrs(schedule, inputs["epoch"])


SPECS = [
    CheckSpec(
        "sgd_step_test",
        "call",
        _sgd_inputs,
        _sgd,
        hint="sgd_step: one step against the gradient, w - lr * dw; return the new w only.",
    ),
    CheckSpec(
        "momentum_step_test",
        "call",
        _momentum_inputs,
        _momentum(nesterov=False),
        hint="momentum_step: first the velocity v = mu * v - lr * dw, then w + v (the new "
        "velocity); return (w, v).",
    ),
    CheckSpec(
        "nesterov_step_test",
        "call",
        _momentum_inputs,
        _momentum(nesterov=True),
        hint="nesterov_step: the same new velocity as momentum, but the weights move by "
        "(1 + mu) * v_new - mu * v_old; return (w, v_new).",
    ),
    CheckSpec(
        "adagrad_step_test",
        "call",
        _adagrad_inputs,
        _adagrad,
        hint="adagrad_step: cache + dw**2 (summed, never decayed), then "
        "w - lr * dw / (sqrt(new cache) + eps); eps outside the square root.",
    ),
    CheckSpec(
        "rmsprop_step_test",
        "call",
        _rmsprop_inputs,
        _rmsprop,
        hint="rmsprop_step: cache = decay_rate * cache + (1 - decay_rate) * dw**2, then the "
        "AdaGrad step with the new cache.",
    ),
    CheckSpec(
        "adam_step_test",
        "call",
        _adam_inputs,
        _adam,
        hint="adam_step: update m and v first, divide copies of them by (1 - beta1**t) and "
        "(1 - beta2**t), step with m_hat / (sqrt(v_hat) + eps); return the uncorrected m, v.",
    ),
    CheckSpec(
        "step_decay_lr_test",
        "call",
        _step_decay_inputs,
        _step_decay,
        hint="step_decay_lr: base_lr * gamma ** (number of whole step_size blocks before "
        "epoch), i.e. epoch // step_size; one rate per epoch.",
    ),
    CheckSpec(
        "cosine_lr_test",
        "call",
        _cosine_inputs,
        _cosine,
        hint="cosine_lr: min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / t_max)) / 2; "
        "base_lr at epoch 0, min_lr at t_max.",
    ),
    CheckSpec(
        "warmup_lr_test",
        "call",
        _warmup_inputs,
        _warmup,
        hint="warmup_lr: base_lr * (start_factor + (1 - start_factor) * epoch / "
        "warmup_epochs) before warmup_epochs, base_lr from then on.",
    ),
]
