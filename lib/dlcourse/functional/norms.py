"""Layer, group and instance normalization: statistics per example instead of per batch.

All three standardize with the same formula as batch norm, ``xhat = (x - mean) /
sqrt(var + eps)`` followed by ``gamma * xhat + beta``; they differ only in *which*
values share a mean and variance:

* **layer norm**: all features of one example (an ``(N, D)`` row, or all ``C*H*W``
  values of one image);
* **group norm**: the ``C // num_groups`` channels of one group, over all positions, of
  one image (Wu and He, 2018);
* **instance norm**: one channel of one image (group norm with one channel per group).

No statistic mixes examples of the batch, so train and test behave the same (no running
averages, no ``mode``) and a batch of a single example is fine, which is why layer norm
suits recurrent networks and group norm suits the small batches of large-image tasks.

Parameter shapes follow torch: layer norm has one ``gamma``/``beta`` entry per normalized
value (``x.shape[1:]``, as ``F.layer_norm``), group and instance norm one per channel.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_positive, check_shape
from dlcourse.functional.batchnorm import standardize, standardize_backward


def _eps(eps: float) -> float:
    # A Python float keeps float32 arrays float32 (a NumPy float64 scalar would promote).
    value = float(eps)
    check_positive(value, "eps")
    return value


def _param(
    arr: object, name: str, shape: tuple[int, ...], layout: str, dtype: np.dtype
) -> np.ndarray:
    arr = as_float_array(arr, name)
    check_shape(arr, shape, name, layout)
    return arr.astype(dtype, copy=False)


def _upstream(dout: object, shape: tuple[int, ...], layout: str, dtype: np.dtype) -> np.ndarray:
    dout = as_float_array(dout, "dout")
    check_shape(dout, shape, "dout", layout)
    return dout.astype(dtype, copy=False)


# --------------------------------------------------------------------------- layer norm


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, tuple]:
    """Layer norm: each example standardized over all of its features.

    Args:
        x: inputs, shape ``(N, D)`` or ``(N, C, H, W)`` (any ``(N, *F)``).
        gamma, beta: per-value scale and shift, shape ``F = x.shape[1:]``, i.e. ``(D,)``
            or ``(C, H, W)``.
        eps: added to the variance before the square root.

    Returns:
        ``out`` with ``x``'s shape and dtype, and the cache.
    """
    x = as_float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, D) or (N, C, H, W), got shape {x.shape}")
    features = x.shape[1:]
    layout = "(D,)" if x.ndim == 2 else "(C, H, W)" if x.ndim == 4 else "x.shape[1:]"
    gamma = _param(gamma, "gamma", features, layout, x.dtype)
    beta = _param(beta, "beta", features, layout, x.dtype)
    # One row per example, so the statistics are a mean over axis 1.
    xhat, inv_std = standardize(x.reshape(x.shape[0], -1), axis=1, eps=_eps(eps))
    xhat = xhat.reshape(x.shape)
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients ``(dx, dgamma, dbeta)``, shaped like ``x``, ``gamma`` and ``beta``."""
    xhat, inv_std, gamma = cache
    n = xhat.shape[0]
    dout = _upstream(dout, xhat.shape, "like the forward's x", xhat.dtype)
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dxhat = (dout * gamma).reshape(n, -1)
    dx = standardize_backward(dxhat, xhat.reshape(n, -1), inv_std, axis=1)
    return dx.reshape(xhat.shape), dgamma, dbeta


# --------------------------------------------------------------------------- group norm


def _check_groups(num_groups: int, channels: int) -> int:
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise ValueError(f"num_groups must be an integer, got {num_groups!r}")
    if num_groups < 1 or channels % num_groups != 0:
        raise ValueError(
            f"num_groups must be a positive divisor of the number of channels C={channels} "
            f"(each group holds C // num_groups channels), got {num_groups}"
        )
    return int(num_groups)


def groupnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, num_groups: int, eps: float = 1e-5
) -> tuple[np.ndarray, tuple]:
    """Group norm: each image's channels split into groups, each group standardized.

    Args:
        x: inputs, shape ``(N, C, H, W)``.
        gamma, beta: per-channel scale and shift, shape ``(C,)``.
        num_groups: number of groups ``G``; must divide ``C``. ``G = 1`` standardizes
            all of an image like layer norm (with per-channel affine), ``G = C`` is
            instance norm.
        eps: added to the variance before the square root.

    Returns:
        ``out`` of shape ``(N, C, H, W)`` in ``x``'s dtype, and the cache.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    n, c = x.shape[:2]
    groups = _check_groups(num_groups, c)
    gamma = _param(gamma, "gamma", (c,), "(C,)", x.dtype)
    beta = _param(beta, "beta", (c,), "(C,)", x.dtype)
    # (N, G, C//G * H * W): the channels of a group are contiguous, so a reshape
    # gathers each group's values into one row.
    xhat, inv_std = standardize(x.reshape(n, groups, -1), axis=2, eps=_eps(eps))
    xhat = xhat.reshape(x.shape)
    out = gamma[:, None, None] * xhat + beta[:, None, None]
    return out, (xhat, inv_std, gamma, groups)


def groupnorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients ``(dx, dgamma, dbeta)`` of shapes ``(N, C, H, W)``, ``(C,)``, ``(C,)``."""
    xhat, inv_std, gamma, groups = cache
    n = xhat.shape[0]
    dout = _upstream(dout, xhat.shape, "(N, C, H, W)", xhat.dtype)
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3))
    dbeta = np.sum(dout, axis=(0, 2, 3))
    dxhat = (dout * gamma[:, None, None]).reshape(n, groups, -1)
    dx = standardize_backward(dxhat, xhat.reshape(n, groups, -1), inv_std, axis=2)
    return dx.reshape(xhat.shape), dgamma, dbeta


# --------------------------------------------------------------------------- instance norm


def instancenorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, tuple]:
    """Instance norm: every channel of every image standardized over its ``H * W`` values.

    This is group norm with one channel per group, so it reuses that code.

    Args:
        x: inputs, shape ``(N, C, H, W)``.
        gamma, beta: per-channel scale and shift, shape ``(C,)``.
        eps: added to the variance before the square root.

    Returns:
        ``out`` of shape ``(N, C, H, W)`` in ``x``'s dtype, and the cache.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    return groupnorm_forward(x, gamma, beta, num_groups=x.shape[1], eps=eps)


def instancenorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients ``(dx, dgamma, dbeta)`` of shapes ``(N, C, H, W)``, ``(C,)``, ``(C,)``."""
    return groupnorm_backward(dout, cache)
