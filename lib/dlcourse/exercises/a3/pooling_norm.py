"""``pooling_norm.ipynb``: pooling, spatial batch norm, group norm and folding.

Thin calls into :mod:`dlcourse.functional.pooling`, :mod:`~dlcourse.functional.batchnorm`,
:mod:`~dlcourse.functional.norms` and :mod:`~dlcourse.functional.fold`. The notebook's
forms differ in small ways: square pooling windows without padding whose size and stride
arrive as 0-d integer arrays (windows that do not fit are dropped, as in torch), batch
norm's training pass, its running statistics and its evaluation pass as separate
functions with separate arrays instead of one ``bn_param`` dict, and global average
pooling as its own layer. The backward passes whose forward takes hyperparameters are
graded through ``*_gradients``, the test cell's composition of the forward and the
backward (the grader names one gradient per input of the function it calls, and a pool
size or a group count has none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.functional import batchnorm, fold, norms, pooling

IntLike = int | np.ndarray
Scalar = float | np.ndarray

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "avg_pool_gradients",
    "fold_batchnorm_into_conv",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "groupnorm_forward",
    "groupnorm_backward",
    "groupnorm_gradients",
    "max_pool_backward",
    "max_pool_forward",
    "max_pool_gradients",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_eval_forward",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_running_stats",
]


def max_pool_forward(
    x: np.ndarray, pool_size: IntLike, stride: IntLike
) -> tuple[np.ndarray, pooling.MaxPoolCache]:
    """Max of each ``pool_size`` x ``pool_size`` window of ``x (N, C, H, W)``, no padding.

    ``out`` is ``(N, C, (H - pool_size) // stride + 1, (W - pool_size) // stride + 1)``.
    """
    size = int(pool_size)
    return pooling.max_pool_forward(x, size, size, int(stride), 0, exact=False)


def max_pool_backward(dout: np.ndarray, cache: pooling.MaxPoolCache) -> np.ndarray:
    """``dx (N, C, H, W)``: each ``dout`` entry goes to its window's first maximum only."""
    return pooling.max_pool_backward(dout, cache)


def max_pool_gradients(
    x: np.ndarray, dout: np.ndarray, pool_size: IntLike, stride: IntLike
) -> np.ndarray:
    """The backward test cell's function: the forward on ``x``, then ``dx``."""
    _, cache = max_pool_forward(x, pool_size, stride)
    return max_pool_backward(dout, cache)


def avg_pool_forward(x: np.ndarray, pool_size: IntLike, stride: IntLike) -> tuple[np.ndarray, Any]:
    """Mean of each ``pool_size`` x ``pool_size`` window of ``x (N, C, H, W)``, no padding."""
    size = int(pool_size)
    return pooling.avg_pool_forward(x, size, size, int(stride), 0, exact=False)


def avg_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """``dx (N, C, H, W)``: each ``dout`` entry spread evenly over its window."""
    return pooling.avg_pool_backward(dout, cache)


def avg_pool_gradients(
    x: np.ndarray, dout: np.ndarray, pool_size: IntLike, stride: IntLike
) -> np.ndarray:
    """The backward test cell's function: the forward on ``x``, then ``dx``."""
    _, cache = avg_pool_forward(x, pool_size, stride)
    return avg_pool_backward(dout, cache)


def global_avg_pool_forward(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Mean of every map: ``x (N, C, H, W)`` -> ``out (N, C)``; the cache is x's shape.

    An average pool whose window is the whole map, so it reuses that reference.
    """
    x = np.asarray(x)
    _, _, h, width = x.shape
    out, _ = pooling.avg_pool_forward(x, h, width, (h, width), 0)
    return out[:, :, 0, 0], x.shape


def global_avg_pool_backward(dout: np.ndarray, cache: tuple[int, ...]) -> np.ndarray:
    """``dx (N, C, H, W)``: ``dout (N, C)`` divided by ``H * W`` at every position."""
    n, c, h, width = cache
    # The library annotates this cache as a PoolGeometry; it is (geometry, dtype).
    pool_cache: Any
    _, pool_cache = pooling.avg_pool_forward(
        np.zeros(cache, dtype=np.asarray(dout).dtype), h, width, (h, width), 0
    )  # only the geometry is used: the gradient of a mean does not depend on the values
    return pooling.avg_pool_backward(np.asarray(dout).reshape(n, c, 1, 1), pool_cache)


def spatial_batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, tuple]:
    """Training-mode batch norm of ``x (N, C, H, W)``, statistics per channel over N, H, W."""
    return batchnorm.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})


def spatial_batchnorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """``(dx, dgamma, dbeta)`` of shapes ``(N, C, H, W)``, ``(C,)``, ``(C,)``."""
    return batchnorm.spatial_batchnorm_backward(dout, cache)


def spatial_batchnorm_running_stats(
    running_mean: np.ndarray, running_var: np.ndarray, x: np.ndarray, momentum: Scalar
) -> tuple[np.ndarray, np.ndarray]:
    """Running mean and (unbiased) variance ``(C,)`` after one batch ``x (N, C, H, W)``."""
    c = x.shape[1]
    bn_param = {
        "mode": "train",
        "momentum": float(momentum),
        "running_mean": np.array(running_mean, dtype=np.float64),
        "running_var": np.array(running_var, dtype=np.float64),
    }
    batchnorm.spatial_batchnorm_forward(x, np.ones(c), np.zeros(c), bn_param)
    return np.asarray(bn_param["running_mean"]), np.asarray(bn_param["running_var"])


def spatial_batchnorm_eval_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> np.ndarray:
    """Evaluation-mode batch norm of ``x (N, C, H, W)`` with the running statistics ``(C,)``."""
    bn_param = {
        "mode": "test",
        "eps": eps,
        "running_mean": np.array(running_mean, dtype=np.float64),
        "running_var": np.array(running_var, dtype=np.float64),
    }
    out, _ = batchnorm.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    return out


def groupnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, num_groups: IntLike, eps: float = 1e-5
) -> tuple[np.ndarray, tuple]:
    """Group norm of ``x (N, C, H, W)`` with ``num_groups`` groups; ``gamma, beta (C,)``."""
    return norms.groupnorm_forward(x, gamma, beta, int(num_groups), eps)


def groupnorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """``(dx, dgamma, dbeta)`` of shapes ``(N, C, H, W)``, ``(C,)``, ``(C,)``."""
    return norms.groupnorm_backward(dout, cache)


def groupnorm_gradients(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, dout: np.ndarray, num_groups: IntLike
) -> tuple[np.ndarray, ...]:
    """The backward test cell's function: the forward, then ``(dx, dgamma, dbeta)``."""
    _, cache = groupnorm_forward(x, gamma, beta, num_groups)
    return groupnorm_backward(dout, cache)


def fold_batchnorm_into_conv(
    w: np.ndarray,
    b: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """New ``(w (F, C, HH, WW), b (F,))``: the conv followed by eval-mode batch norm."""
    return fold.fold_batchnorm_into_conv(w, b, gamma, beta, running_mean, running_var, eps)
