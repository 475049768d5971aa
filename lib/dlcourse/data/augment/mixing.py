"""Occlusion and mixing: cutout and mixup with soft labels."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse._validate import as_float_array, check_labels, check_ndim
from dlcourse.data.augment._common import _as_batch, _check_rng, _unbatch

# ---------------------------------------------------------------------- cutout, mixup


def cutout(images: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Zero a ``size x size`` square, in all channels, at a random place in each image.

    As in DeVries and Taylor (2017), the square's centre is uniform over the image and the
    square is clipped at the border, so near an edge a smaller rectangle is zeroed.

    Returns:
        A new array with ``images``'s shape and dtype.
    """
    _check_rng(rng)
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size}")
    batch, single = _as_batch(images)
    n, _, h, w = batch.shape
    top = np.asarray(rng.integers(0, h, size=n)) - size // 2  # (N,)
    left = np.asarray(rng.integers(0, w, size=n)) - size // 2  # (N,)
    rows = np.arange(h)
    cols = np.arange(w)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size)  # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size)  # (N, W)
    square = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (N, 1, H, W)
    out = np.where(square, batch.dtype.type(0), batch)
    return _unbatch(out, single)


class Mixup(NamedTuple):
    """Result of :func:`mixup`.

    Attributes:
        images: ``(N, C, H, W)`` blended images.
        targets: ``(N, num_classes)`` soft labels, each row summing to 1.
        lam: the blend weight of the original image (same for the whole batch).
        partner: ``(N,)`` index of the image each one was blended with.
    """

    images: np.ndarray
    targets: np.ndarray
    lam: float
    partner: np.ndarray


def mixup(
    images: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    num_classes: int,
    alpha: float = 0.2,
    *,
    lam: float | None = None,
) -> Mixup:
    """Blend each image and its one-hot label with a randomly chosen partner in the batch.

    ``lam ~ Beta(alpha, alpha)`` is drawn once per batch (as in Zhang et al., 2018) and
    the partners are a random permutation: image ``i`` becomes
    ``lam * x[i] + (1 - lam) * x[partner[i]]`` and its target
    ``lam * onehot(y[i]) + (1 - lam) * onehot(y[partner[i]])``. Train with a
    cross-entropy against these soft targets
    (:func:`dlcourse.functional.losses.soft_cross_entropy_loss`).

    Args:
        images: ``(N, C, H, W)``.
        y: ``(N,)`` integer labels in ``[0, num_classes)``.
        alpha: Beta parameter; small values keep most blends close to one image.
        lam: a fixed mixing weight in [0, 1] instead of a draw from ``Beta(alpha,
            alpha)``; ``lam=1`` returns the batch unchanged with one-hot targets.

    Returns:
        A :class:`Mixup` ``(images, targets, lam, partner)``; images and targets have the
        input's dtype.
    """
    _check_rng(rng)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    batch = as_float_array(images, "images")
    check_ndim(batch, 4, "images", "(N, C, H, W)")
    labels = check_labels(y, batch.shape[0], num_classes)
    if lam is None:
        lam = float(rng.beta(alpha, alpha))
    elif not 0 <= lam <= 1:
        raise ValueError(f"lam must lie in [0, 1] (the weight of the original image), got {lam}")
    partner = rng.permutation(batch.shape[0])
    weight = batch.dtype.type(lam)
    mixed = weight * batch + (1 - weight) * batch[partner]
    onehot = np.eye(num_classes, dtype=batch.dtype)[labels]
    targets = weight * onehot + (1 - weight) * onehot[partner]
    return Mixup(mixed, targets, lam, partner)
