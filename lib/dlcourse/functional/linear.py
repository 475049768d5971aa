"""Fully connected (affine) layer: ``out = x @ w + b``.

Every output unit is connected to every input value. Inputs with more than two
dimensions, such as the ``(N, C, H, W)`` maps coming out of a convolution, are
flattened per example to ``(N, D)`` with ``D = C*H*W`` first, so a classifier head can
sit directly on top of a convolutional body.

Weights are stored ``(D, M)`` so that the forward pass is a single ``x @ w``; PyTorch's
``nn.Linear`` stores the transpose ``(M, D)``.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_shape

__all__ = ["linear_backward", "linear_forward"]


def linear_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, tuple[int, ...]]]:
    """Affine map of a batch.

    Args:
        x: (N, D) or (N, d1, ..., dk) with ``d1 * ... * dk == D``
        w: (D, M)
        b: (M,)

    Returns:
        out: (N, M), ``x.reshape(N, D) @ w + b``
        cache: ``(x2d, w, x.shape)`` with ``x2d`` of shape (N, D), for :func:`linear_backward`
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    if x.ndim < 2:
        raise ValueError(
            f"x must have shape (N, D) or (N, d1, ..., dk) (at least 2 dimensions), "
            f"got shape {x.shape}"
        )
    check_ndim(w, 2, "w", "(D, M)")
    n = x.shape[0]
    d = int(np.prod(x.shape[1:]))
    m = w.shape[1]
    check_shape(w, (d, m), "w", f"(D, M) with D = {d} input features per example")
    check_shape(b, (m,), "b", "(M,)")
    # One working precision for the layer: float32 only when every input is float32.
    dtype = np.result_type(x, w, b)
    # reshape is a view for contiguous inputs; the batch axis always stays first.
    x2d = x.reshape(n, d).astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    out = x2d @ w + b.astype(dtype, copy=False)
    return out, (x2d, w, x.shape)


def linear_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, tuple[int, ...]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the affine layer.

    Args:
        dout: (N, M), upstream gradient
        cache: from :func:`linear_forward`

    Returns:
        dx: x's original shape, ``dout @ w.T`` reshaped back
        dw: (D, M), ``x2d.T @ dout`` (the sum over the batch of outer products)
        db: (M,), ``dout`` summed over the batch
    """
    x2d, w, x_shape = cache
    # Gradients come back in the layer's precision even if dout arrives in another one.
    dout = as_float_array(dout, "dout").astype(w.dtype, copy=False)
    check_shape(dout, (x2d.shape[0], w.shape[1]), "dout", "(N, M), the shape of out")
    dx = (dout @ w.T).reshape(x_shape)
    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
