"""Check specs of ``regularization.ipynb``: penalties, dropout, early stopping, normalization.

Shapes are drawn per case, so a solution that hard-codes a shape fails. The references
are ``dlcourse.exercises.a2.regularization``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a2 import regularization as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _weights(rng: np.random.Generator) -> np.ndarray:
    """A weight array of 1 or 2 axes; about a tenth of its entries are exactly 0.

    The zeros check the subgradient convention of |w| at 0 (np.sign(0) == 0); the first
    entry never is, so no case is all zeros (where a wrong scale would go unnoticed).
    """
    shape = tuple(int(size) for size in rng.integers(2, 7, size=int(rng.integers(1, 3))))
    w = rng.standard_normal(shape)
    w[rng.random(shape) < 0.1] = 0.0
    w.flat[0] = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)
    return w


def _penalty_inputs(rng: np.random.Generator) -> Inputs:
    return {"w": _weights(rng), "reg": np.array(rng.uniform(0.01, 2.0))}


def _elastic_inputs(rng: np.random.Generator) -> Inputs:
    inputs = _penalty_inputs(rng)
    inputs["beta"] = np.array(rng.uniform(0.1, 3.0))
    return inputs


def _dropout_inputs(rng: np.random.Generator) -> Inputs:
    n, d = (int(size) for size in rng.integers(3, 9, size=2))
    return {
        "x": rng.standard_normal((n, d)),
        "p": np.array(rng.uniform(0.1, 0.8)),
        "seed": np.array(int(rng.integers(0, 2**31))),
        # Mostly train mode: that is where the mask and the scaling are.
        "train": np.array(bool(rng.random() < 0.75)),
    }


def _val_history(rng: np.random.Generator) -> Inputs:
    """A noisy U-shaped validation loss whose minimum comes well before the end.

    After its minimum the curve stays above it, so training always stops before the
    last epoch; on the way down the noise may trigger an early stop first.
    """
    patience = int(rng.integers(2, 6))
    best = int(rng.integers(4, 15))
    num_epochs = best + patience + int(rng.integers(3, 15))
    epochs = np.arange(num_epochs)
    falling = 2.0 * np.exp(-epochs / (0.4 * best)) + 0.03 * rng.standard_normal(num_epochs)
    val_loss = np.empty(num_epochs)
    val_loss[: best + 1] = 0.5 + np.maximum(falling[: best + 1], 0.05)
    floor = val_loss[: best + 1].min()
    val_loss[best] = floor - 0.05
    rise = np.cumsum(rng.uniform(0.005, 0.05, size=num_epochs - best - 1))
    val_loss[best + 1 :] = floor + rise
    return {"val_loss": val_loss, "patience": np.array(patience)}


def _norm_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    n, d = int(rng.integers(2, 9)), int(rng.integers(2, 7))
    inputs = {
        # Features on different scales and offsets, as a layer's pre-activations are.
        "x": rng.uniform(0.5, 3.0, size=d) * rng.standard_normal((n, d)) + rng.normal(0, 2, d),
        "gamma": rng.uniform(0.5, 2.0, size=d),
        "beta": rng.standard_normal(d),
    }
    if with_dout:
        inputs["dout"] = rng.standard_normal((n, d))
    return inputs


def _running_inputs(rng: np.random.Generator) -> Inputs:
    n, d = int(rng.integers(2, 9)), int(rng.integers(2, 7))
    return {
        "running_mean": rng.standard_normal(d),
        "running_var": rng.uniform(0.5, 2.0, size=d),
        "x": 2.0 * rng.standard_normal((n, d)) + 1.0,
        "momentum": np.array(rng.uniform(0.05, 0.5)),
    }


def _eval_inputs(rng: np.random.Generator) -> Inputs:
    inputs = _norm_inputs(rng)
    d = inputs["x"].shape[1]
    inputs["running_mean"] = rng.standard_normal(d)
    inputs["running_var"] = rng.uniform(0.2, 3.0, size=d)
    return inputs


SPECS = [
    exercise(
        "l2_penalty_test",
        "call",
        _penalty_inputs,
        ex.l2_penalty,
        hint="l2_penalty (section 1): return (reg * sum(w**2), 2 * reg * w), with no "
        "factor 1/2; w may have any shape.",
    ),
    exercise(
        "l1_penalty_test",
        "call",
        _penalty_inputs,
        ex.l1_penalty,
        hint="l1_penalty (section 1): return (reg * sum(|w|), reg * np.sign(w)); the "
        "gradient at w = 0 is 0.",
    ),
    exercise(
        "elastic_net_penalty_test",
        "call",
        _elastic_inputs,
        ex.elastic_net_penalty,
        hint="elastic_net_penalty (section 1): R(W) = sum(beta * w**2 + |w|), times "
        "reg; the gradient is reg * (2 * beta * w + sign(w)).",
    ),
    exercise(
        "vanilla_dropout_forward_test",
        "forward",
        _dropout_inputs,
        ex.vanilla_dropout_forward,
        num_visible=4,
        num_hidden=4,
        hint="vanilla_dropout_forward (section 2): in train mode out = x * keep (no "
        "scaling); in test mode out = (1 - p) * x. p is the probability of "
        "dropping.",
    ),
    exercise(
        "inverted_dropout_forward_test",
        "forward",
        _dropout_inputs,
        ex.inverted_dropout_forward,
        num_visible=4,
        num_hidden=4,
        hint="inverted_dropout_forward (section 2): in train mode out = x * keep / "
        "(1 - p); in test mode out = x unchanged. Use the given keep mask; do "
        "not draw a new one.",
    ),
    exercise(
        "early_stopping_test",
        "call",
        _val_history,
        ex.early_stopping,
        hint="early_stopping (section 3): only a strictly lower loss is an "
        "improvement; stop at the epoch that makes `patience` epochs in a row "
        "without one (or at the last epoch); return (stop_epoch, best_epoch) as "
        "integers counted from 0.",
    ),
    exercise(
        "batchnorm_forward_test",
        "forward",
        _norm_inputs,
        ex.batchnorm_forward,
        hint="batchnorm_forward (section 4): mean and biased variance over the batch "
        "(axis 0), xhat = (x - mean) / sqrt(var + eps), out = gamma * xhat + "
        "beta.",
    ),
    exercise(
        "batchnorm_backward_test",
        "forward_backward",
        partial(_norm_inputs, with_dout=True),
        ex.batchnorm_forward,
        ex.batchnorm_backward,
        hint="batchnorm_backward (section 4): dbeta = sum(dout), dgamma = sum(dout * "
        "xhat) over axis 0; dx = inv_std * (dxhat - mean(dxhat) - xhat * "
        "mean(dxhat * xhat)) with dxhat = gamma * dout.",
    ),
    exercise(
        "batchnorm_running_stats_test",
        "call",
        _running_inputs,
        ex.batchnorm_running_stats,
        hint="batchnorm_running_stats (section 4): new = (1 - momentum) * old + "
        "momentum * batch statistic, with the UNBIASED batch variance (divide "
        "by N - 1). Return new arrays (mean, var).",
    ),
    exercise(
        "batchnorm_eval_forward_test",
        "call",
        _eval_inputs,
        ex.batchnorm_eval_forward,
        hint="batchnorm_eval_forward (section 4): normalize with running_mean and "
        "running_var (not the batch's), then gamma * xhat + beta; return out "
        "only.",
    ),
    exercise(
        "layernorm_forward_test",
        "forward",
        _norm_inputs,
        ex.layernorm_forward,
        hint="layernorm_forward (section 5): the same formula as batch norm, but the "
        "mean and variance are taken over each ROW (axis 1, keepdims=True).",
    ),
    exercise(
        "layernorm_backward_test",
        "forward_backward",
        partial(_norm_inputs, with_dout=True),
        ex.layernorm_forward,
        ex.layernorm_backward,
        hint="layernorm_backward (section 5): batch norm's dx formula with the means "
        "taken over axis 1; dgamma and dbeta are still sums over the batch "
        "(axis 0).",
    ),
]
