"""Folding an eval-mode batch norm into the fully connected or convolution layer before it.

At test time batch norm uses fixed running statistics, so for each output feature ``j``
it is an affine map of its input ``z``::

    bn(z)_j = gamma_j * (z_j - mean_j) / sqrt(var_j + eps) + beta_j = scale_j * z_j + shift_j
    scale_j = gamma_j / sqrt(var_j + eps)          shift_j = beta_j - mean_j * scale_j

The layer before it is affine too (``z = x @ w + b``, or a convolution), and two affine
maps compose into one: multiply every weight that produces feature ``j`` by ``scale_j``
and set the bias to ``b_j * scale_j + shift_j``. The folded network computes the same
eval-mode outputs with one layer fewer, which is how deployed networks drop batch norm.
Train mode cannot be folded: there the statistics change with every batch.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_positive, check_shape


def _scale_shift(
    gamma: object,
    beta: object,
    running_mean: object,
    running_var: object,
    eps: float,
    features: int,
    layout: str,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray]:
    """The eval-mode batch norm as ``scale * z + shift``, both of shape ``(features,)``."""
    arrays = {}
    for name, value in (
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        arr = as_float_array(value, name)
        check_shape(arr, (features,), name, layout)
        arrays[name] = arr.astype(dtype, copy=False)
    eps = float(eps)
    check_positive(eps, "eps")
    scale = arrays["gamma"] / np.sqrt(arrays["running_var"] + eps)
    shift = arrays["beta"] - arrays["running_mean"] * scale
    return scale, shift


def _bias(b: object | None, features: int, layout: str, dtype: np.dtype) -> np.ndarray:
    # A layer followed by batch norm often has no bias (beta makes it redundant).
    if b is None:
        return np.zeros(features, dtype=dtype)
    b = as_float_array(b, "b")
    check_shape(b, (features,), "b", layout)
    return b.astype(dtype, copy=False)


def fold_batchnorm_into_linear(
    w: np.ndarray,
    b: np.ndarray | None,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``batchnorm(x @ w + b)`` (eval mode) into one fully connected layer.

    Args:
        w: weights, shape ``(D, M)`` (this library's layout, ``out = x @ w + b``).
        b: bias, shape ``(M,)``, or ``None`` for a layer without bias.
        gamma, beta, running_mean, running_var: the batch norm's arrays, shape ``(M,)``.
        eps: the batch norm's ``eps``.

    Returns:
        New ``(w, b)`` of shapes ``(D, M)`` and ``(M,)`` in ``w``'s dtype, such that
        ``x @ w_new + b_new`` equals the eval-mode batch norm of ``x @ w + b``.
    """
    w = as_float_array(w, "w")
    check_ndim(w, 2, "w", "(D, M)")
    m = w.shape[1]
    scale, shift = _scale_shift(gamma, beta, running_mean, running_var, eps, m, "(M,)", w.dtype)
    # Column j of w produces feature j, so it takes feature j's scale.
    return w * scale, _bias(b, m, "(M,)", w.dtype) * scale + shift


def fold_batchnorm_into_conv(
    w: np.ndarray,
    b: np.ndarray | None,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``batchnorm2d(conv(x, w, b))`` (eval mode) into one convolution.

    Args:
        w: filters, shape ``(F, C, HH, WW)`` (``(F, C // groups, HH, WW)`` works too).
        b: bias, shape ``(F,)``, or ``None`` for a convolution without bias.
        gamma, beta, running_mean, running_var: the batch norm's arrays, shape ``(F,)``.
        eps: the batch norm's ``eps``.

    Returns:
        New ``(w, b)`` of shapes ``(F, C, HH, WW)`` and ``(F,)`` in ``w``'s dtype; the
        convolution with them (same stride, padding, ...) equals the eval-mode batch
        norm of the original convolution.
    """
    w = as_float_array(w, "w")
    check_ndim(w, 4, "w", "(F, C, HH, WW)")
    f = w.shape[0]
    scale, shift = _scale_shift(gamma, beta, running_mean, running_var, eps, f, "(F,)", w.dtype)
    # Filter f produces output channel f, so every weight of it takes that channel's scale.
    return w * scale[:, None, None, None], _bias(b, f, "(F,)", w.dtype) * scale + shift
