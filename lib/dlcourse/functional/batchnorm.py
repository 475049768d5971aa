"""Batch normalization for fully connected ``(N, D)`` and convolutional ``(N, C, H, W)`` inputs.

For every feature ``j`` (a column of an ``(N, D)`` input, or a channel of an image batch)
batch norm computes, over the mini-batch,

    mu_j = mean_i x_ij          var_j = mean_i (x_ij - mu_j)**2        (divides by N)
    xhat_ij = (x_ij - mu_j) / sqrt(var_j + eps)
    y_ij = gamma_j * xhat_ij + beta_j

with learnable ``gamma`` and ``beta`` (learning ``gamma = sqrt(var + eps)``, ``beta = mu``
gives back the identity, so normalizing never removes what the network can express).

Train mode and test mode differ, and that is why the layer has a ``mode``:

* **train**: ``mu`` and ``var`` come from the current mini-batch. Every output then depends
  on every example in the batch, which is why the backward pass has extra terms, and why
  the statistics are noisy (a mild regularizer: the randomness of the mini-batch is the
  noise). Running averages of ``mu`` and ``var`` are updated in place on the side.
* **test**: the running averages collected during training replace the batch statistics.
  A prediction must not depend on which other images share its batch, and a batch of one
  image has no variance at all. With fixed statistics the layer is a per-feature affine
  map ``y = scale * x + shift``, so it can be folded into the layer before it
  (:mod:`dlcourse.functional.fold`), and its gradient is simply ``scale * dout``.

The running statistics follow ``torch.nn.BatchNorm1d/2d`` exactly::

    running = (1 - momentum) * running + momentum * batch_statistic      (momentum = 0.1)

where the batch variance stored in ``running_var`` is the *unbiased* one (divide by
``m - 1``, ``m`` values per feature) while the normalization itself uses the biased one
(divide by ``m``). Beware: some course code uses the opposite convention, where a
``momentum`` of 0.9 multiplies the *old* running value; here ``momentum`` is the weight
of the *new* batch, as in torch.

Layer, group and instance norm (:mod:`dlcourse.functional.norms`) standardize the same
way along other axes; ``standardize`` / ``standardize_backward`` hold that shared math,
and batch norm's backward uses ``standardize_backward`` along the batch axis.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_shape

MODES = ("train", "test")


@dataclass
class BatchNormParam:
    """Hyperparameters and running statistics of one batch-norm layer.

    ``running_mean`` and ``running_var`` (each of shape ``(D,)``) are created on the first
    call (zeros and ones, like torch) and then updated *in place* in train mode, so any
    other reference to these arrays (a module's buffers, say) sees the new values.
    A plain ``dict`` with the same keys works too; missing keys take these defaults.
    """

    mode: str = "train"
    eps: float = 1e-5
    momentum: float = 0.1
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None


BatchNormParamLike = BatchNormParam | MutableMapping[str, Any]

_DEFAULTS = BatchNormParam()


# --------------------------------------------------------------------------- shared math


def standardize(
    x: np.ndarray, axis: int | tuple[int, ...], eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the mean and divide by ``sqrt(var + eps)`` along ``axis``.

    Returns ``(xhat, inv_std)``: ``xhat`` has ``x``'s shape; ``inv_std`` keeps the reduced
    axes with size 1 so it broadcasts against ``x``. The variance divides by the number of
    reduced values (the biased estimate), as in the lecture's formula.
    """
    mean = np.mean(x, axis=axis, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return centered * inv_std, inv_std


def standardize_backward(
    dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axis: int | tuple[int, ...]
) -> np.ndarray:
    """Gradient through :func:`standardize`: ``dx`` (shape of ``xhat``) from ``dxhat``.

    The mean and variance depend on every value they were computed from, so besides the
    direct path ``inv_std * dxhat`` there are two more: through the mean (subtract the
    average of ``dxhat``) and through the variance (remove the component of ``dxhat``
    along ``xhat``). Collecting them gives the compact form

        dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    """
    mean_dxhat = np.mean(dxhat, axis=axis, keepdims=True)
    mean_proj = np.mean(dxhat * xhat, axis=axis, keepdims=True)
    return inv_std * (dxhat - mean_dxhat - xhat * mean_proj)


# --------------------------------------------------------------------------- bn_param access


def _lookup(bn_param: BatchNormParamLike, key: str) -> Any:
    if isinstance(bn_param, BatchNormParam):
        return getattr(bn_param, key)
    if isinstance(bn_param, MutableMapping):
        return bn_param.get(key, getattr(_DEFAULTS, key))
    raise ValueError(f"bn_param must be a BatchNormParam or a dict, got {type(bn_param).__name__}")


def _store(bn_param: BatchNormParamLike, key: str, value: np.ndarray) -> None:
    if isinstance(bn_param, BatchNormParam):
        setattr(bn_param, key, value)
    else:
        bn_param[key] = value


def _running(
    bn_param: BatchNormParamLike, key: str, fill: float, num_features: int, dtype: np.dtype
) -> np.ndarray:
    """Return the running array ``key`` of shape ``(D,)``, creating it if missing.

    It must be a float ``ndarray`` (not a list) because train mode updates it in place.
    """
    arr = _lookup(bn_param, key)
    if arr is None:
        arr = np.full(num_features, fill, dtype=dtype)
        _store(bn_param, key, arr)
        return arr
    if not isinstance(arr, np.ndarray) or arr.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"bn_param {key} must be a float32/float64 numpy array updated in place, "
            f"got {type(arr).__name__}"
        )
    check_shape(arr, (num_features,), f"bn_param {key}", "(D,)")
    return arr


def _settings(bn_param: BatchNormParamLike) -> tuple[str, float, float]:
    mode = _lookup(bn_param, "mode")
    if mode not in MODES:
        raise ValueError(f"bn_param mode must be 'train' or 'test', got {mode!r}")
    # Python floats keep float32 arrays float32 (a NumPy float64 scalar would promote).
    eps = float(_lookup(bn_param, "eps"))
    momentum = float(_lookup(bn_param, "momentum"))
    if not eps > 0:
        raise ValueError(f"bn_param eps must be positive, got {eps}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"bn_param momentum must lie in [0, 1], got {momentum}")
    return mode, eps, momentum


def _per_feature(
    arr: object, name: str, num_features: int, layout: str, dtype: np.dtype
) -> np.ndarray:
    arr = as_float_array(arr, name)
    check_shape(arr, (num_features,), name, layout)
    # Computing in x's dtype keeps a float32 layer float32 even with float64 gamma.
    return arr.astype(dtype, copy=False)


# --------------------------------------------------------------------------- (N, D)


def _batchnorm_rows(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: BatchNormParamLike
) -> tuple[np.ndarray, tuple]:
    """Batch norm of a validated ``(m, D)`` array whose rows are the samples of each feature."""
    mode, eps, momentum = _settings(bn_param)
    m, d = x.shape
    running_mean = _running(bn_param, "running_mean", 0.0, d, x.dtype)
    running_var = _running(bn_param, "running_var", 1.0, d, x.dtype)

    if mode == "train":
        if m < 2:
            raise ValueError(
                f"batch norm in train mode needs at least 2 values per feature to estimate "
                f"a variance, got {m}; use mode='test' for single examples"
            )
        # The lecture's algorithm step by step: batch mean, biased batch variance, normalize.
        mean = np.mean(x, axis=0)
        centered = x - mean
        biased_var = np.mean(centered * centered, axis=0)
        inv_std = 1.0 / np.sqrt(biased_var + eps)
        xhat = centered * inv_std
        # torch stores the unbiased variance (Bessel's correction m / (m - 1)) but
        # normalizes with the biased one; matching both keeps checkpoints comparable.
        unbiased_var = biased_var * (m / (m - 1))
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
        running_var *= 1.0 - momentum
        running_var += momentum * unbiased_var
    else:
        mean = running_mean.astype(x.dtype, copy=False)
        inv_std = 1.0 / np.sqrt(running_var.astype(x.dtype, copy=False) + eps)
        xhat = (x - mean) * inv_std

    out = gamma * xhat + beta
    return out, (mode, xhat, inv_std, gamma)


def _batchnorm_rows_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    mode, xhat, inv_std, gamma = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    if mode == "train":
        # Batch statistics depend on x: the full gradient through mean and variance.
        dx = standardize_backward(dxhat, xhat, inv_std, axis=0)
    else:
        # Running statistics are constants: the layer is affine, its Jacobian diagonal.
        dx = dxhat * inv_std
    return dx, dgamma, dbeta


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: BatchNormParamLike
) -> tuple[np.ndarray, tuple]:
    """Batch norm of a fully connected layer's output.

    Args:
        x: inputs, shape ``(N, D)``.
        gamma: scale, shape ``(D,)``.
        beta: shift, shape ``(D,)``.
        bn_param: a :class:`BatchNormParam` or dict with ``mode`` ('train'/'test'),
            ``eps``, ``momentum``, ``running_mean`` and ``running_var`` (each ``(D,)``);
            in train mode the running arrays are updated in place (created if missing).

    Returns:
        ``out`` of shape ``(N, D)`` in ``x``'s dtype, and the cache for the backward.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 2, "x", "(N, D)")
    d = x.shape[1]
    gamma = _per_feature(gamma, "gamma", d, "(D,)", x.dtype)
    beta = _per_feature(beta, "beta", d, "(D,)", x.dtype)
    return _batchnorm_rows(x, gamma, beta, bn_param)


def batchnorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients of batch norm: ``(dx, dgamma, dbeta)`` of shapes ``(N, D)``, ``(D,)``, ``(D,)``.

    In train mode ``dx`` includes the paths through the batch mean and variance; in test
    mode it is ``gamma * dout / sqrt(running_var + eps)``.
    """
    xhat = cache[1]
    dout = as_float_array(dout, "dout")
    check_shape(dout, xhat.shape, "dout", "(N, D)")
    return _batchnorm_rows_backward(dout.astype(xhat.dtype, copy=False), cache)


# --------------------------------------------------------------------------- (N, C, H, W)


def _channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N * H * W, C): one row per pixel, one column per channel."""
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _channels_first(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`_channels_last` for an image batch of ``shape`` (N, C, H, W)."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: BatchNormParamLike
) -> tuple[np.ndarray, tuple]:
    """Batch norm for convolutional feature maps (``BatchNorm2d``).

    A channel's filter is applied at every position, so all ``N * H * W`` values of a
    channel share one mean and variance (and one ``gamma``, ``beta``): the image batch is
    rearranged into rows of pixels and normalized like an ``(N * H * W, C)`` input.

    Args:
        x: inputs, shape ``(N, C, H, W)``.
        gamma, beta: per-channel scale and shift, shape ``(C,)``.
        bn_param: as in :func:`batchnorm_forward`, with running arrays of shape ``(C,)``.

    Returns:
        ``out`` of shape ``(N, C, H, W)`` in ``x``'s dtype, and the cache.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    c = x.shape[1]
    gamma = _per_feature(gamma, "gamma", c, "(C,)", x.dtype)
    beta = _per_feature(beta, "beta", c, "(C,)", x.dtype)
    rows_out, rows_cache = _batchnorm_rows(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(rows_out, x.shape), (x.shape, rows_cache)


def spatial_batchnorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients ``(dx, dgamma, dbeta)`` of shapes ``(N, C, H, W)``, ``(C,)``, ``(C,)``."""
    shape, rows_cache = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, shape, "dout", "(N, C, H, W)")
    dout = dout.astype(rows_cache[1].dtype, copy=False)
    drows, dgamma, dbeta = _batchnorm_rows_backward(_channels_last(dout), rows_cache)
    return _channels_first(drows, shape), dgamma, dbeta
