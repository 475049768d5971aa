"""Check specs of ``pooling_norm.ipynb``: pooling, spatial batch norm, group norm, folding.

Shapes, window sizes, strides and group counts are drawn per case, so a solution that
hard-codes any of them fails. Half of the pooling inputs are small integers, so many
windows hold their maximum more than once: a max pooling backward pass that routes to
every maximum (instead of the first) fails on them. The references are
``dlcourse.exercises.a3.pooling_norm``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a3 import pooling_norm as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _pool_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    """A pooling case: windows of 2 or 3, strides up to the window (overlap included).

    Every second case (on average) has integer values in [-2, 2], where ties at the
    maximum of a window are the rule; the others are continuous (no ties).
    """
    pool_size = int(rng.integers(2, 4))
    stride = int(rng.integers(1, pool_size + 1))
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = (int(size) for size in rng.integers(pool_size, pool_size + 6, size=2))
    if rng.random() < 0.5:
        x = rng.integers(-2, 3, size=(n, c, h, w)).astype(np.float64)
    else:
        x = rng.standard_normal((n, c, h, w))
    inputs = {"x": x}
    if with_dout:
        out_h, out_w = (h - pool_size) // stride + 1, (w - pool_size) // stride + 1
        inputs["dout"] = rng.standard_normal((n, c, out_h, out_w))
    inputs["pool_size"] = np.array(pool_size)
    inputs["stride"] = np.array(stride)
    return inputs


def _has_tied_window(x: np.ndarray, pool_size: int, stride: int) -> bool:
    """Whether some window of ``x (N, C, H, W)`` holds its maximum more than once."""
    _, _, h, w = x.shape
    for i in range(0, h - pool_size + 1, stride):
        for j in range(0, w - pool_size + 1, stride):
            window = x[:, :, i : i + pool_size, j : j + pool_size]
            peak = window.max(axis=(2, 3), keepdims=True)
            if np.any((window == peak).sum(axis=(2, 3)) > 1):
                return True
    return False


def _tied_pool_inputs(rng: np.random.Generator) -> Inputs:
    """Integer values with at least one tied maximum, so every case meets a tie."""
    while True:
        inputs = _pool_inputs(rng, with_dout=True)
        x = inputs["x"]
        pool_size, stride = int(inputs["pool_size"]), int(inputs["stride"])
        if np.all(x == np.round(x)) and _has_tied_window(x, pool_size, stride):
            return inputs


def _global_inputs(rng: np.random.Generator) -> Inputs:
    n, c, h, w = (int(size) for size in rng.integers(1, 6, size=4))
    return {"x": rng.normal(1.0, 2.0, size=(n, c, h, w)), "dout": rng.standard_normal((n, c))}


def _image_batch(rng: np.random.Generator, channels: int) -> np.ndarray:
    """(N, C, H, W) with per-channel offsets and scales, as a conv layer's outputs are."""
    n, h, w = int(rng.integers(2, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 5))
    scale = rng.uniform(0.5, 3.0, size=channels)[None, :, None, None]
    shift = rng.normal(0.0, 2.0, size=channels)[None, :, None, None]
    return scale * rng.standard_normal((n, channels, h, w)) + shift


def _bn_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    c = int(rng.integers(1, 5))
    x = _image_batch(rng, c)
    inputs = {"x": x, "gamma": rng.uniform(0.5, 2.0, size=c), "beta": rng.standard_normal(c)}
    if with_dout:
        inputs["dout"] = rng.standard_normal(x.shape)
    return inputs


def _running_inputs(rng: np.random.Generator) -> Inputs:
    c = int(rng.integers(1, 5))
    return {
        "running_mean": rng.standard_normal(c),
        "running_var": rng.uniform(0.5, 2.0, size=c),
        "x": _image_batch(rng, c),
        "momentum": np.array(rng.uniform(0.05, 0.5)),
    }


def _eval_inputs(rng: np.random.Generator) -> Inputs:
    inputs = _bn_inputs(rng)
    c = inputs["gamma"].shape[0]
    inputs["running_mean"] = rng.standard_normal(c)
    inputs["running_var"] = rng.uniform(0.2, 3.0, size=c)
    return inputs


def _group_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    """C = G * (channels per group); G = 1 (layer norm) and G = C (instance norm) occur."""
    groups, per_group = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    c = groups * per_group
    x = _image_batch(rng, c)
    inputs = {"x": x, "gamma": rng.uniform(0.5, 2.0, size=c), "beta": rng.standard_normal(c)}
    if with_dout:
        inputs["dout"] = rng.standard_normal(x.shape)
    inputs["num_groups"] = np.array(groups)
    return inputs


def _fold_inputs(rng: np.random.Generator) -> Inputs:
    f, c = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    hh, ww = (int(size) for size in rng.integers(1, 4, size=2))
    return {
        "w": rng.standard_normal((f, c, hh, ww)),
        "b": rng.standard_normal(f),
        "gamma": rng.uniform(0.5, 2.0, size=f),
        "beta": rng.standard_normal(f),
        "running_mean": rng.standard_normal(f),
        "running_var": rng.uniform(0.2, 3.0, size=f),
    }


SPECS = [
    exercise(
        "max_pool_forward_test",
        "forward",
        _pool_inputs,
        ex.max_pool_forward,
        hint="max_pool_forward (section 1): H_out = (H - pool_size) // stride + 1; "
        "window (i, j) starts at row i * stride and column j * stride; keep its max.",
    ),
    exercise(
        "max_pool_backward_test",
        "call",
        _tied_pool_inputs,
        ex.max_pool_gradients,
        num_visible=3,
        num_hidden=5,
        hint="max_pool_backward (section 1): dout[n, c, i, j] goes to ONE input of its "
        "window, the first maximum in row-major order (np.argmax of the flattened "
        "window), even when the maximum occurs several times; add (+=) when "
        "windows overlap.",
    ),
    exercise(
        "avg_pool_forward_test",
        "forward",
        _pool_inputs,
        ex.avg_pool_forward,
        hint="avg_pool_forward (section 2): the mean of each pool_size x pool_size "
        "window; same output size as max pooling.",
    ),
    exercise(
        "avg_pool_backward_test",
        "call",
        partial(_pool_inputs, with_dout=True),
        ex.avg_pool_gradients,
        hint="avg_pool_backward (section 2): every input of a window receives "
        "dout / pool_size**2 from it; add (+=) when windows overlap.",
    ),
    exercise(
        "global_avg_pool_test",
        "forward_backward",
        _global_inputs,
        ex.global_avg_pool_forward,
        ex.global_avg_pool_backward,
        hint="global_avg_pool (section 2): out = x.mean(axis=(2, 3)), shape (N, C); "
        "dx = dout[:, :, None, None] / (H * W) at every position.",
    ),
    exercise(
        "spatial_batchnorm_forward_test",
        "forward",
        _bn_inputs,
        ex.spatial_batchnorm_forward,
        hint="spatial_batchnorm_forward (section 3): mean and BIASED variance per "
        "channel over the axes (0, 2, 3); gamma and beta have shape (C,) and "
        "broadcast as gamma[None, :, None, None].",
    ),
    exercise(
        "spatial_bn_backward_test",
        "forward_backward",
        partial(_bn_inputs, with_dout=True),
        ex.spatial_batchnorm_forward,
        ex.spatial_batchnorm_backward,
        hint="spatial_batchnorm_backward (section 3): the compact batch-norm formula "
        "with every mean over the axes (0, 2, 3); dgamma, dbeta are sums over them.",
    ),
    exercise(
        "spatial_batchnorm_running_stats_test",
        "call",
        _running_inputs,
        ex.spatial_batchnorm_running_stats,
        hint="spatial_batchnorm_running_stats (section 3): new = (1 - momentum) * old + "
        "momentum * batch statistic per channel (axes (0, 2, 3)); the variance "
        "stored is the UNBIASED one (ddof=1, divide by N*H*W - 1).",
    ),
    exercise(
        "spatial_batchnorm_eval_forward_test",
        "call",
        _eval_inputs,
        ex.spatial_batchnorm_eval_forward,
        hint="spatial_batchnorm_eval_forward (section 3): normalize with running_mean "
        "and running_var (not the batch's), per channel; return out only.",
    ),
    exercise(
        "groupnorm_forward_test",
        "forward",
        _group_inputs,
        ex.groupnorm_forward,
        hint="groupnorm_forward (section 4): reshape to (N, G, C // G, H, W), take the "
        "mean and biased variance over the axes (2, 3, 4), reshape back, then "
        "gamma and beta per channel.",
    ),
    exercise(
        "groupnorm_backward_test",
        "call",
        partial(_group_inputs, with_dout=True),
        ex.groupnorm_gradients,
        hint="groupnorm_backward (section 4): batch norm's compact formula with the "
        "means over the axes (2, 3, 4) of the (N, G, C // G, H, W) view; dgamma "
        "and dbeta are sums over (0, 2, 3).",
    ),
    exercise(
        "fold_batchnorm_into_conv_test",
        "call",
        _fold_inputs,
        ex.fold_batchnorm_into_conv,
        hint="fold_batchnorm_into_conv (section 5): scale = gamma / sqrt(running_var + "
        "eps); every weight of filter f times scale[f]; bias scale * b + beta - "
        "scale * running_mean.",
    ),
]
