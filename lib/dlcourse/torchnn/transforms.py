"""Cutout and mixup as batch transforms on tensors, and the loss that takes soft labels.

Same vocabulary and semantics as the NumPy :mod:`dlcourse.data.augment.mixing`
(``images``, ``y``, ``targets``, ``lam``, ``partner``): cutout zeroes a square centred
uniformly in each image and clipped at the border (DeVries and Taylor, 2017); mixup
blends each image and its label with a partner from a random permutation of the batch,
``lam ~ Beta(alpha, alpha)`` once per batch (Zhang et al., 2018). The random draws are
separated from the arithmetic (:func:`cutout` and :func:`mixup` take them as
arguments), so the same draws give the NumPy functions' results exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from torch import Tensor

__all__ = ["Cutout", "Mixup", "MixupBatch", "cutout", "mixup", "soft_cross_entropy"]


def _check_images(images: Tensor) -> None:
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got shape {tuple(images.shape)}")


def _check_size(size: int) -> int:
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    return int(size)


def cutout(images: Tensor, top: Tensor, left: Tensor, size: int) -> Tensor:
    """Zero, in all channels, the ``size x size`` square at ``(top, left)`` of each image.

    Args:
        images: ``(N, C, H, W)``.
        top, left: ``(N,)`` integer corners of the squares; they may lie outside the image
            (negative, or near the far edge), in which case the visible part is zeroed.
        size: the square's side.

    Returns:
        A new tensor with ``images``'s shape, dtype and device.
    """
    _check_images(images)
    size = _check_size(size)
    n, _, h, w = images.shape
    if top.shape != (n,) or left.shape != (n,):
        raise ValueError(
            f"top and left must have shape ({n},), got {tuple(top.shape)} and {tuple(left.shape)}"
        )
    rows = torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device)
    top = top.to(images.device)[:, None]
    left = left.to(images.device)[:, None]
    in_rows = (rows >= top) & (rows < top + size)  # (N, H)
    in_cols = (cols >= left) & (cols < left + size)  # (N, W)
    square = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (N, 1, H, W)
    return images.masked_fill(square, 0)


class Cutout:
    """Cutout transform for a batch: ``Cutout(size)(images) -> images``.

    Each image gets its own square, centred uniformly over the image (``torch.randint``
    from ``generator``, or torch's global one) and clipped at the border. Labels are
    unchanged, so the transform takes and returns images only.
    """

    def __init__(self, size: int, generator: torch.Generator | None = None) -> None:
        self.size = _check_size(size)
        self.generator = generator

    def __call__(self, images: Tensor) -> Tensor:
        """``(N, C, H, W)`` -> ``(N, C, H, W)`` with one square zeroed per image."""
        _check_images(images)
        n, _, h, w = images.shape
        device = self.generator.device if self.generator is not None else "cpu"
        top = torch.randint(0, h, (n,), generator=self.generator, device=device)
        left = torch.randint(0, w, (n,), generator=self.generator, device=device)
        return cutout(images, top - self.size // 2, left - self.size // 2, self.size)

    def __repr__(self) -> str:
        return f"Cutout(size={self.size})"


class MixupBatch(NamedTuple):
    """Result of :class:`Mixup` (the fields of the NumPy :class:`~dlcourse.data.augment.Mixup`).

    Attributes:
        images: ``(N, C, H, W)`` blended images.
        targets: ``(N, K)`` soft labels, each row summing to 1.
        lam: the weight of each original image (one for the whole batch).
        partner: ``(N,)`` index of the image each one was blended with.
    """

    images: Tensor
    targets: Tensor
    lam: float
    partner: Tensor


def _as_targets(y: Tensor, n: int, num_classes: int, dtype: torch.dtype) -> Tensor:
    """``(N,)`` class indices as one-hot rows, or ``(N, K)`` soft labels as they are."""
    if y.ndim == 1 and y.shape[0] == n and not y.is_floating_point():
        if n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise ValueError(
                f"y must hold labels in [0, {num_classes}), got values from "
                f"{int(y.min())} to {int(y.max())}"
            )
        return F.one_hot(y, num_classes).to(dtype)
    if y.shape == (n, num_classes) and y.is_floating_point():
        return y.to(dtype)
    raise ValueError(
        f"y must be ({n},) integer labels or ({n}, {num_classes}) soft labels, got "
        f"shape {tuple(y.shape)} of dtype {y.dtype}"
    )


def mixup(images: Tensor, y: Tensor, num_classes: int, lam: float, partner: Tensor) -> MixupBatch:
    """Blend image ``i`` with image ``partner[i]``: ``lam * x[i] + (1 - lam) * x[partner[i]]``.

    Args:
        images: ``(N, C, H, W)``.
        y: ``(N,)`` integer labels in ``[0, num_classes)``, or ``(N, K)`` soft labels.
        num_classes: ``K``.
        lam: weight of the original image, in ``[0, 1]``.
        partner: ``(N,)`` indices into the batch (a permutation in :class:`Mixup`).

    Returns:
        A :class:`MixupBatch`; images and targets in ``images``'s dtype.
    """
    _check_images(images)
    n = images.shape[0]
    if not 0 <= lam <= 1:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if partner.shape != (n,):
        raise ValueError(f"partner must have shape ({n},), got {tuple(partner.shape)}")
    onehot = _as_targets(y, n, num_classes, images.dtype).to(images.device)
    partner = partner.to(images.device)
    mixed = lam * images + (1 - lam) * images[partner]
    targets = lam * onehot + (1 - lam) * onehot[partner]
    return MixupBatch(mixed, targets, float(lam), partner)


class Mixup:
    """Mixup transform for a batch: ``Mixup(num_classes)(images, y) -> MixupBatch``.

    Args:
        num_classes: ``K``, the width of the soft labels.
        alpha: Beta parameter for ``lam``; small values keep most blends near one image.
        lam: a fixed blend weight instead of a draw (None: draw per batch).
        generator: for the permutation (``lam`` comes from torch's global generator, as
            ``torch.distributions`` has no generator argument).
    """

    def __init__(
        self,
        num_classes: int,
        alpha: float = 0.2,
        lam: float | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        if lam is not None and not 0 <= lam <= 1:
            raise ValueError(f"lam must be in [0, 1] or None, got {lam}")
        self.num_classes = num_classes
        self.alpha = float(alpha)
        self.lam = lam
        self.generator = generator

    def __call__(self, images: Tensor, y: Tensor) -> MixupBatch:
        """Mix a batch: ``images`` ``(N, C, H, W)``, ``y`` ``(N,)`` labels or ``(N, K)``."""
        _check_images(images)
        if self.lam is None:
            concentration = torch.tensor(self.alpha, dtype=torch.float64)
            lam = float(torch.distributions.Beta(concentration, concentration).sample())
        else:
            lam = float(self.lam)
        device = self.generator.device if self.generator is not None else "cpu"
        partner = torch.randperm(images.shape[0], generator=self.generator, device=device)
        return mixup(images, y, self.num_classes, lam, partner)

    def __repr__(self) -> str:
        return f"Mixup(num_classes={self.num_classes}, alpha={self.alpha}, lam={self.lam})"


def soft_cross_entropy(scores: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy of ``scores`` against soft or hard labels.

    ``loss = mean_i( -sum_k targets[i, k] * log_softmax(scores)[i, k] )``; with one-hot
    targets this is the usual cross-entropy, with mixup's soft labels it is the loss
    mixup trains with.

    Args:
        scores: ``(N, K)`` logits.
        targets: ``(N, K)`` probabilities (rows summing to 1), or ``(N,)`` class indices
            (read as one-hot rows).

    Returns:
        A scalar tensor.
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, K), got shape {tuple(scores.shape)}")
    n, k = scores.shape
    probs = _as_targets(targets, n, k, scores.dtype).to(scores.device)
    log_probs = torch.log_softmax(scores, dim=1)
    return -(probs * log_probs).sum(dim=1).mean()
