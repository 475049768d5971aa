"""Gradient-check every NumPy layer on small random inputs, one row per layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from dlcourse.functional import activations as act
from dlcourse.functional import losses
from dlcourse.functional.batchnorm import (
    batchnorm_backward,
    batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from dlcourse.functional.conv_fast import conv_backward_fast, conv_forward_fast
from dlcourse.functional.conv_naive import conv_backward_naive, conv_forward_naive
from dlcourse.functional.dropout import (
    dropconnect_backward,
    dropconnect_forward,
    dropout_backward,
    dropout_forward,
)
from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.functional.norms import (
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from dlcourse.functional.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)
from dlcourse.functional.reshape import global_avg_pool_backward, global_avg_pool_forward
from dlcourse.gradcheck import check_layer, numeric_gradient, rel_error

# Errors below this mean the analytic and numeric gradients agree (float64, h = 1e-6).
THRESHOLD = 1e-6


@dataclass(frozen=True)
class LayerCheck:
    name: str
    errors: dict[str, float]

    @property
    def worst(self) -> float:
        return max(self.errors.values())

    @property
    def passed(self) -> bool:
        return self.worst < THRESHOLD


def _images(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _layer_cases(rng: np.random.Generator) -> list[tuple[str, Callable, Callable, dict, dict]]:
    """(name, forward, backward, array inputs, keyword arguments) for every layer."""
    x4 = _images(rng, 2, 3, 7, 5)  # odd sizes: stride 2 with pad 1 divides evenly
    x2 = rng.standard_normal((4, 5))
    conv_w, conv_b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv = {"x": x4, "w": conv_w, "b": conv_b}
    conv_args = {"stride": 2, "pad": 1}
    # Distinct values so max pooling has no ties (its gradient is undefined at a tie).
    pool_x = rng.permutation(2 * 3 * 8 * 6).reshape(2, 3, 8, 6) / 10.0
    bn = {"mode": "train", "eps": 1e-5, "momentum": 0.1}
    cases: list[tuple[str, Callable, Callable, dict, dict]] = [
        (
            "linear",
            linear_forward,
            linear_backward,
            {"x": x2, "w": rng.standard_normal((5, 3)), "b": rng.standard_normal(3)},
            {},
        ),
        ("conv (naive, stride 2, pad 1)", conv_forward_naive, conv_backward_naive, conv, conv_args),
        ("conv (fast, stride 2, pad 1)", conv_forward_fast, conv_backward_fast, conv, conv_args),
        ("conv (fast, dilation 2)", conv_forward_fast, conv_backward_fast, conv, {"dilation": 2}),
        (
            "conv (fast, depthwise)",
            conv_forward_fast,
            conv_backward_fast,
            {"x": x4, "w": rng.standard_normal((3, 1, 3, 3)), "b": rng.standard_normal(3)},
            {"pad": 1, "groups": 3},
        ),
        ("max pool 2x2", max_pool_forward, max_pool_backward, {"x": pool_x}, {}),
        ("avg pool 2x2", avg_pool_forward, avg_pool_backward, {"x": pool_x}, {}),
        ("global avg pool", global_avg_pool_forward, global_avg_pool_backward, {"x": x4}, {}),
        (
            "batch norm",
            partial(batchnorm_forward, bn_param=dict(bn)),
            batchnorm_backward,
            {"x": x2, "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5)},
            {},
        ),
        (
            "spatial batch norm",
            partial(spatial_batchnorm_forward, bn_param=dict(bn)),
            spatial_batchnorm_backward,
            {"x": x4, "gamma": rng.standard_normal(3), "beta": rng.standard_normal(3)},
            {},
        ),
        (
            "layer norm",
            layernorm_forward,
            layernorm_backward,
            {"x": x2, "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5)},
            {},
        ),
        (
            "group norm",
            groupnorm_forward,
            groupnorm_backward,
            {
                "x": _images(rng, 2, 4, 3, 3),
                "gamma": rng.standard_normal(4),
                "beta": rng.standard_normal(4),
            },
            {"num_groups": 2},
        ),
        (
            "instance norm",
            instancenorm_forward,
            instancenorm_backward,
            {"x": x4, "gamma": rng.standard_normal(3), "beta": rng.standard_normal(3)},
            {},
        ),
        (
            "dropout (inverted)",
            partial(dropout_forward, seed=3),
            dropout_backward,
            {"x": x2},
            {"p": 0.3},
        ),
        (
            "dropconnect",
            partial(dropconnect_forward, seed=4),
            dropconnect_backward,
            {"x": x2, "w": rng.standard_normal((5, 3)), "b": rng.standard_normal(3)},
            {"p": 0.3},
        ),
        (
            "prelu (per channel)",
            act.prelu_forward,
            act.prelu_backward,
            {"x": x4, "alpha": rng.uniform(0.1, 0.3, 3)},
            {},
        ),
        (
            "maxout (k = 3)",
            act.maxout_forward,
            act.maxout_backward,
            {"x": x2, "w": rng.standard_normal((3, 5, 2)), "b": rng.standard_normal((3, 2))},
            {},
        ),
    ]
    for name, (forward, backward) in act.ACTIVATIONS.items():
        # Keep inputs away from ReLU-style kinks, where the numeric gradient is wrong.
        x = rng.standard_normal((3, 4))
        x = np.where(np.abs(x) < 0.05, 0.5, x)
        cases.append((name, forward, backward, {"x": x}, {}))
    return cases


def _loss_check(name: str, loss_fn: Callable, scores: np.ndarray, y: np.ndarray) -> LayerCheck:
    _, analytic = loss_fn(scores, y)
    numeric = numeric_gradient(lambda s: float(loss_fn(s, y)[0]), scores.copy())
    return LayerCheck(name, {"scores": rel_error(numeric, analytic)})


def run_all(seed: int = 0) -> list[LayerCheck]:
    """Check every layer and loss; return one :class:`LayerCheck` per row."""
    rng = np.random.default_rng(seed)
    results = [
        LayerCheck(name, check_layer(forward, backward, inputs, **kwargs))
        for name, forward, backward, inputs, kwargs in _layer_cases(rng)
    ]
    scores, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    results += [
        _loss_check("softmax cross-entropy", losses.softmax_cross_entropy_loss, scores, labels),
        _loss_check("multiclass hinge", losses.multiclass_svm_loss, scores, labels),
        _loss_check("mse", losses.mse_loss, scores, rng.standard_normal((6, 4))),
        _loss_check(
            "bce with logits", losses.bce_with_logits_loss, scores, rng.uniform(0, 1, (6, 4))
        ),
        _loss_check(
            "soft cross-entropy", losses.soft_cross_entropy_loss, scores, rng.dirichlet([1] * 4, 6)
        ),
    ]
    return results
