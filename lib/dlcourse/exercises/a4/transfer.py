"""``transfer.ipynb``: transfer learning with a small CNN.

The lectures' 2x2 table (target data size x similarity to the source) as a strategy code,
the notebook's small CNN (conv-BN-ReLU-pool blocks, global average pooling, a linear
head), a frozen feature extractor on its first blocks, the count of what still trains,
and discriminative (per-layer) learning rates as optimizer parameter groups.

Transfer learning with CNN features: Donahue et al., "DeCAF: A Deep Convolutional
Activation Feature for Generic Visual Recognition", ICML 2014; Razavian et al., "CNN
Features off-the-shelf: an Astounding Baseline for Recognition", CVPR Workshops 2014;
Yosinski et al., "How transferable are features in deep neural networks?", NeurIPS 2014.
Discriminative learning rates: Howard and Ruder, "Universal Language Model Fine-tuning for
Text Classification", ACL 2018.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from dlcourse.models._layers import conv_bn_act

__all__ = [
    "FINE_TUNE",
    "FINE_TUNE_ALL",
    "LINEAR_ON_EARLY",
    "LINEAR_ON_TOP",
    "FrozenFeatures",
    "SmallCNN",
    "choose_strategy",
    "learning_rates",
    "param_groups",
    "trainable_parameters",
]

# The four cells of the lectures' table; code = 2 * (different) + (large).
LINEAR_ON_TOP = 0  # little data, similar: a linear classifier on the top layer's features
FINE_TUNE = 1  # a lot of data, similar: fine-tune (a few of) the layers
LINEAR_ON_EARLY = 2  # little data, different: a linear classifier on an earlier layer
FINE_TUNE_ALL = 3  # a lot of data, different: fine-tune many layers, or train from scratch


def choose_strategy(
    num_images: np.ndarray, similar: np.ndarray, threshold: int | np.ndarray
) -> np.ndarray:
    """The strategy code of each target task (one of the four constants above).

    Args:
        num_images: (n,) int, the number of labelled target images of each task.
        similar: (n,) bool, whether each task's images are similar to the source's.
        threshold: a task has "a lot of data" when ``num_images >= threshold``.

    Returns:
        (n,) int64 codes ``2 * (not similar) + (num_images >= threshold)``.
    """
    large = np.asarray(num_images) >= np.asarray(threshold)
    different = ~np.asarray(similar, dtype=bool)
    return (2 * different + large).astype(np.int64)


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv (no bias) -> BN -> ReLU -> 2x2 max pool; keys 0, 1, 2, 3.

    ``(N, in_channels, H, W) -> (N, out_channels, H // 2, W // 2)``.
    """
    return nn.Sequential(*conv_bn_act(in_channels, out_channels), nn.MaxPool2d(2))


def _features(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    channels = [in_channels, *widths]
    return nn.Sequential(*(_block(a, b) for a, b in zip(channels[:-1], channels[1:], strict=True)))


class SmallCNN(nn.Module):
    """``features`` (one block per width) -> global average pool -> ``head`` (linear).

    ``(N, in_channels, H, W) -> (N, num_classes)`` scores, for H and W divisible by
    ``2 ** len(widths)``.
    """

    def __init__(self, in_channels: int, widths: Sequence[int], num_classes: int) -> None:
        super().__init__()
        self.features = _features(in_channels, widths)
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))  # (N, C) -> (N, num_classes)


class FrozenFeatures(SmallCNN):
    """The first ``depth`` blocks of :class:`SmallCNN`, frozen, and a new trainable head.

    The blocks' parameters do not require gradients, and their batch norms stay in
    evaluation mode even while the model trains, so they normalise with the running
    statistics of the source task, as they did when the features were learned.
    ``(N, in_channels, H, W) -> (N, num_classes)``.
    """

    def __init__(
        self, in_channels: int, widths: Sequence[int], num_classes: int, depth: int
    ) -> None:
        super().__init__(in_channels, widths[:depth], num_classes)
        self.features.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenFeatures:
        super().train(mode)
        self.features.eval()
        return self


def trainable_parameters(in_channels: Any, widths: Any, num_classes: Any, depth: Any) -> int:
    """The number of parameter values of a :class:`FrozenFeatures` that still train."""
    model = FrozenFeatures(
        int(in_channels), tuple(int(w) for w in np.ravel(widths)), int(num_classes), int(depth)
    )
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def param_groups(model: SmallCNN, base_lr: float, decay: float) -> list[dict[str, Any]]:
    """Optimizer parameter groups with discriminative learning rates.

    The head learns at ``base_lr``; each block below it at ``decay`` times the rate of the
    block (or head) above: with ``B`` blocks, block ``i`` (0 = nearest the input) gets
    ``base_lr * decay ** (B - i)``. One group per block, then the head's.
    """
    layers = [*model.features, model.head]
    return [
        {"params": list(layer.parameters()), "lr": base_lr * decay ** (len(layers) - 1 - i)}
        for i, layer in enumerate(layers)
    ]


def learning_rates(
    in_channels: Any, widths: Any, num_classes: Any, base_lr: Any, decay: Any
) -> np.ndarray:
    """The learning rate of every parameter of a :class:`SmallCNN`, in
    ``model.parameters()`` order, under :func:`param_groups` (shape ``(P,)``)."""
    model = SmallCNN(int(in_channels), tuple(int(w) for w in np.ravel(widths)), int(num_classes))
    rate = {
        id(p): group["lr"]
        for group in param_groups(model, float(base_lr), float(decay))
        for p in group["params"]
    }
    return np.array([rate[id(p)] for p in model.parameters()])
