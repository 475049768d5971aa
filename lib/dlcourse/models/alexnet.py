"""AlexNet: Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NeurIPS 2012.

Two variants:

* :func:`alexnet` -- the one-tower network torchvision ships (64-192-384-256-256 filters,
  no normalization, an adaptive 6x6 pool), whose ``state_dict`` loads into ours unchanged
  (same keys). 61,100,840 parameters with 1000 classes.
* :func:`alexnet_original` -- the paper's network: 96-256-384-384-256 filters, local
  response normalization after conv1 and conv2, and the two GPU towers written as grouped
  convolutions (``groups=2``) where the paper splits them (conv2, conv4, conv5; conv3 and
  the fully connected layers read both towers). On a 227x227 input (the lectures' size;
  the paper's "224" does not divide) its layer table is the lectures'::

      input   (N, 3, 227, 227)
      conv1   (N, 96, 55, 55)     11x11 stride 4, pad 0       34,944 parameters
      pool1   (N, 96, 27, 27)     3x3 stride 2 (overlapping)
      conv2   (N, 256, 27, 27)    5x5 pad 2, 2 groups         307,456
      pool2   (N, 256, 13, 13)
      conv3   (N, 384, 13, 13)    3x3 pad 1                   885,120
      conv4   (N, 384, 13, 13)    3x3 pad 1, 2 groups         663,936
      conv5   (N, 256, 13, 13)    3x3 pad 1, 2 groups         442,624
      pool5   (N, 256, 6, 6)
      fc6     (N, 4096)                                        37,752,832
      fc7     (N, 4096)                                        16,781,312
      fc8     (N, num_classes)                                 4,097,000 (1000 classes)

  60,965,224 parameters in all: the paper's "60 million", the lectures' "61 million".
"""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.models.registry import register_model

# The paper's normalization: b = a / (k + alpha * sum of a^2 over n neighbours)^beta with
# k=2, n=5, alpha=1e-4, beta=0.75. torch's LocalResponseNorm divides alpha by n, so it
# needs n * 1e-4 to compute the paper's formula.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 5 * 1e-4, 0.75, 2.0


def _head(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    """fc6-fc7-fc8 with dropout before fc6 and fc7: (N, in_features) -> (N, num_classes)."""
    return nn.Sequential(
        nn.Dropout(p=dropout),
        nn.Linear(in_features, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(p=dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


class AlexNet(nn.Module):
    """AlexNet: ``features`` (conv stack), ``avgpool`` (to 6x6), ``classifier`` (fc6-fc8).

    Shapes: ``x`` (N, 3, H, W) -> scores (N, num_classes), with H, W at least 63 (one tower)
    or 67 (two towers). The adaptive pool makes the head independent of the input size: it
    is the identity at 224 (one tower) and 227 (two towers) and replicates smaller maps.
    """

    def __init__(
        self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = _head(256 * 6 * 6, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 256, h, w)
        x = self.avgpool(x)  # (N, 256, 6, 6)
        x = torch.flatten(x, 1)  # (N, 9216)
        return self.classifier(x)  # (N, num_classes)


def _one_tower_features() -> nn.Sequential:
    """torchvision's single-GPU feature stack (the "one weird trick" widths, 2014)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def _two_tower_features() -> nn.Sequential:
    """The paper's feature stack; ``groups=2`` keeps each tower's filters on its own half."""
    return nn.Sequential(
        nn.Conv2d(3, 96, kernel_size=11, stride=4),  # both towers read the whole image
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1),  # the towers talk here
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


@register_model()
def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet as torchvision builds it (one tower); ``state_dict`` keys equal torchvision's."""
    return AlexNet(_one_tower_features(), num_classes, dropout)


@register_model()
def alexnet_original(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """The paper's two-tower AlexNet (Krizhevsky et al., 2012) with grouped convolutions."""
    return AlexNet(_two_tower_features(), num_classes, dropout)
