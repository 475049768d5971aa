"""Dropout (on activations) and DropConnect (on the weights of a fully connected layer).

**What ``p`` means.** Here ``p`` is the probability of *dropping* a unit, as in
``torch.nn.Dropout(p)`` and in the lecture's "probability of dropping is a
hyperparameter; 0.5 is common"; a unit is kept with probability ``1 - p``. The lecture's
code samples use the opposite name, ``p = 0.5  # probability of keeping a unit active``,
and another set of notes says "probability of keeping a node is p >= 0.5". With
``p = 0.5`` the two readings agree; for ``p = 0.2`` they are opposite (keep 80% here,
keep 20% there). So the lecture's test-time factor "multiply by p" is ``1 - p`` in this
module.

**Why scale.** At test time every unit is present, but during training a unit's
successor only saw it a fraction ``1 - p`` of the time, so its expected input was
``(1 - p) * a``. To make "output at test time = expected output at training time" one of
the two phases must rescale:

* *vanilla* dropout (``inverted=False``): drop at train time, multiply by ``1 - p`` at
  test time;
* *inverted* dropout (``inverted=True``, the default and the common choice): drop and
  divide the kept units by ``1 - p`` at train time, so test time is the identity and the
  prediction code does not need to know about dropout at all.

**Reproducibility.** ``seed`` is an ``int`` (the same int always gives the same mask),
a ``numpy.random.Generator`` (advanced by each call, for a fresh mask every step) or
``None`` (fresh entropy). A fixed int is what a gradient check needs: every forward call
then uses the same mask.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_probability, check_shape

Seed = int | np.random.Generator | None
MODES = ("train", "test")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")


def _drop_probability(p: float) -> float:
    # A Python float keeps float32 arrays float32 (a NumPy float64 scalar would promote);
    # p = 1 is refused because nothing would be left (and 1 / (1 - p) is undefined).
    value = float(p)
    check_probability(value, "p")
    return value


def keep_mask(shape: tuple[int, ...], p: float, seed: Seed = None) -> np.ndarray:
    """Boolean mask of ``shape``: each entry True (kept) with probability ``1 - p``.

    The uniforms are always drawn in float64, so the mask for a given seed does not
    depend on the dtype of the array it is applied to.
    """
    p = _drop_probability(p)
    rng = np.random.default_rng(seed)  # returns a Generator unchanged
    return rng.random(shape) >= p


def _multiplier(
    shape: tuple[int, ...], p: float, mode: str, inverted: bool, seed: Seed, dtype: np.dtype
) -> np.ndarray | float:
    """What the forward multiplies by: a mask array in train mode, a scalar in test mode."""
    if mode == "train":
        mask = keep_mask(shape, p, seed).astype(dtype)
        return mask / (1.0 - p) if inverted else mask
    return 1.0 if inverted else 1.0 - p


# --------------------------------------------------------------------------- dropout


def dropout_forward(
    x: np.ndarray, p: float, mode: str = "train", inverted: bool = True, seed: Seed = None
) -> tuple[np.ndarray, tuple]:
    """Dropout on activations ``x`` of any shape.

    Args:
        x: activations, any shape (``(N, D)``, ``(N, C, H, W)``, ...).
        p: probability of dropping each unit, in ``[0, 1)`` (see the module docstring).
        mode: ``'train'`` (random mask) or ``'test'`` (deterministic).
        inverted: if True, train ``x * mask / (1 - p)`` and test ``x``; if False, train
            ``x * mask`` and test ``(1 - p) * x``.
        seed: int, Generator or None; the same int gives the same mask.

    Returns:
        ``out`` with ``x``'s shape and dtype, and the cache (the multiplier used).
    """
    x = as_float_array(x, "x")
    p = _drop_probability(p)
    _check_mode(mode)
    multiplier = _multiplier(x.shape, p, mode, inverted, seed, x.dtype)
    return x * multiplier, (x.shape, x.dtype, multiplier)


def dropout_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """``dx`` with ``dout``'s shape: ``dout`` times the forward's multiplier.

    Dropped units got a multiplier of 0, so no gradient flows back through them.
    """
    shape, dtype, multiplier = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, shape, "dout", "like the forward's x")
    return dout.astype(dtype, copy=False) * multiplier


# --------------------------------------------------------------------------- DropConnect


def _fc_inputs(x: object, w: object, b: object) -> tuple[np.ndarray, ...]:
    x = as_float_array(x, "x")
    check_ndim(x, 2, "x", "(N, D)")
    w = as_float_array(w, "w")
    check_shape(w, (x.shape[1], None), "w", "(D, M), D matching x's (N, D)")
    b = as_float_array(b, "b")
    check_shape(b, (w.shape[1],), "b", "(M,)")
    return x, w.astype(x.dtype, copy=False), b.astype(x.dtype, copy=False)


def dropconnect_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    p: float,
    mode: str = "train",
    inverted: bool = True,
    seed: Seed = None,
) -> tuple[np.ndarray, tuple]:
    """A fully connected layer ``x @ w + b`` whose *weights* are randomly dropped.

    Dropout zeroes a unit (a whole row of the next weight matrix at once); DropConnect
    zeroes individual connections ``w[d, m]``, each with probability ``p``. The scaling
    follows dropout's two forms, so the expected pre-activation in train mode equals the
    test-mode one. The bias is never dropped.

    One mask is drawn per call and shared by the whole mini-batch; the original paper
    (Wan et al., 2013) draws one per example, which needs an ``(N, D, M)`` mask.

    Args:
        x: inputs, shape ``(N, D)``.
        w: weights, shape ``(D, M)``.
        b: bias, shape ``(M,)``.
        p: probability of dropping each weight, in ``[0, 1)``.
        mode: ``'train'`` (random mask) or ``'test'`` (all connections).
        inverted: if True, train with ``w * mask / (1 - p)`` and test with ``w``; if
            False, train with ``w * mask`` and test with ``(1 - p) * w``.
        seed: int, Generator or None; the same int gives the same mask.

    Returns:
        ``out`` of shape ``(N, M)`` in ``x``'s dtype, and the cache.
    """
    x, w, b = _fc_inputs(x, w, b)
    p = _drop_probability(p)
    _check_mode(mode)
    multiplier = _multiplier(w.shape, p, mode, inverted, seed, x.dtype)
    w_used = w * multiplier
    return x @ w_used + b, (x, w_used, multiplier)


def dropconnect_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients ``(dx, dw, db)`` of shapes ``(N, D)``, ``(D, M)``, ``(M,)``.

    ``out`` depends on ``w`` only through ``w * multiplier``, so ``dw`` is the ordinary
    fully connected gradient times the multiplier: dropped weights get no gradient.
    """
    x, w_used, multiplier = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, (x.shape[0], w_used.shape[1]), "dout", "(N, M)")
    dout = dout.astype(x.dtype, copy=False)
    dx = dout @ w_used.T
    dw = (x.T @ dout) * multiplier
    db = np.sum(dout, axis=0)
    return dx, dw, db
