"""VGG: Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015.

The configurations A-E of the paper's Table 1 (and of the lectures): stacks of 3x3
convolutions (stride 1, pad 1: the size is kept) separated by 2x2 max pools (the size is
halved), then three fully connected layers. Configuration C adds a 1x1 convolution to each
of its last three stacks. A 224x224 input goes 224 -> 112 -> 56 -> 28 -> 14 -> 7::

    input     (N, 3, 224, 224)
    stack 1   (N, 64, 224, 224)  -> pool (N, 64, 112, 112)
    stack 2   (N, 128, 112, 112) -> pool (N, 128, 56, 56)
    stack 3   (N, 256, 56, 56)   -> pool (N, 256, 28, 28)
    stack 4   (N, 512, 28, 28)   -> pool (N, 512, 14, 14)
    stack 5   (N, 512, 14, 14)   -> pool (N, 512, 7, 7)
    fc6, fc7  (N, 4096)
    fc8       (N, num_classes)

Why stacks of 3x3: three 3x3 layers see a 7x7 window with 27C^2 weights, one 7x7 layer
needs 49C^2, and the stack has three non-linearities instead of one.

:func:`vgg11` ... :func:`vgg19_bn` have torchvision's ``state_dict`` keys (``features.i``,
``classifier.i``). :func:`vgg_cifar` is the CIFAR-sized variant (32x32 input, the 1x1 map
after the fifth pool feeds a small head) for training on a CPU.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from dlcourse.models.registry import register_model

# Table 1 of the paper. An int is a 3x3 convolution with that many filters, "1x1-<n>" a
# 1x1 convolution (configuration C only), "M" a 2x2 max pool at stride 2.
Layer = int | str
CONFIGS: dict[str, list[Layer]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, "1x1-256", "M",
          512, 512, "1x1-512", "M", 512, 512, "1x1-512", "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}  # fmt: skip
ConfigName = Literal["A", "B", "C", "D", "E"]


def make_layers(
    config: list[Layer], batch_norm: bool = False, in_channels: int = 3
) -> nn.Sequential:
    """The convolutional stack of a configuration: (N, in_channels, H, W) -> (N, 512, H/32, W/32).

    Each convolution is followed by batch norm (if asked) and ReLU, so the indices of the
    ``Sequential`` match torchvision's for the same configuration.
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        if isinstance(item, str):  # "1x1-<n>"
            out, kernel = int(item.split("-")[1]), 1
        else:
            out, kernel = item, 3
        layers.append(nn.Conv2d(channels, out, kernel_size=kernel, padding=kernel // 2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        channels = out
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: ``features`` (the conv stack), ``avgpool``, ``classifier`` (fc6-fc8).

    Shapes: ``x`` (N, 3, H, W), H and W at least 32 -> scores (N, num_classes).
    ``pool_size=7`` is the ImageNet head (an adaptive pool to 7x7, which is the identity at
    224x224 and replicates smaller maps); ``pool_size=1`` with ``hidden=512`` is the CIFAR
    head.
    """

    def __init__(
        self,
        features: nn.Sequential,
        num_classes: int = 1000,
        dropout: float = 0.5,
        pool_size: int = 7,
        hidden: int = 4096,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pool_size * pool_size, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 512, H/32, W/32)
        x = self.avgpool(x)  # (N, 512, pool_size, pool_size)
        x = torch.flatten(x, 1)  # (N, 512 * pool_size^2)
        return self.classifier(x)  # (N, num_classes)


def _vgg(config: ConfigName, batch_norm: bool, num_classes: int, dropout: float) -> VGG:
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {sorted(CONFIGS)}, got {config!r}")
    return VGG(make_layers(CONFIGS[config], batch_norm), num_classes, dropout)


@register_model()
def vgg11(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11, configuration A (Simonyan and Zisserman, 2015)."""
    return _vgg("A", False, num_classes, dropout)


@register_model()
def vgg11_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11 (configuration A) with batch norm after every convolution."""
    return _vgg("A", True, num_classes, dropout)


@register_model()
def vgg13(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13, configuration B."""
    return _vgg("B", False, num_classes, dropout)


@register_model()
def vgg13_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13 (configuration B) with batch norm."""
    return _vgg("B", True, num_classes, dropout)


@register_model()
def vgg16_c(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration C: 1x1 convolutions end the last three stacks (no torchvision twin)."""
    return _vgg("C", False, num_classes, dropout)


@register_model()
def vgg16_c_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration C, with batch norm."""
    return _vgg("C", True, num_classes, dropout)


@register_model()
def vgg16(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration D: the network usually meant by "VGG-16"."""
    return _vgg("D", False, num_classes, dropout)


@register_model()
def vgg16_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16 (configuration D) with batch norm."""
    return _vgg("D", True, num_classes, dropout)


@register_model()
def vgg19(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19, configuration E."""
    return _vgg("E", False, num_classes, dropout)


@register_model()
def vgg19_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19 (configuration E) with batch norm."""
    return _vgg("E", True, num_classes, dropout)


@register_model()
def vgg_cifar(
    config: ConfigName = "A", num_classes: int = 10, batch_norm: bool = True, dropout: float = 0.5
) -> VGG:
    """A VGG configuration for 32x32 images (CIFAR-10): the five pools leave (N, 512, 1, 1),
    and a 512-512-num_classes head replaces the 4096-wide one (about 9.8M parameters for
    configuration A, against 129M for vgg11 with 10 classes), small enough to train on a CPU.
    """
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {sorted(CONFIGS)}, got {config!r}")
    return VGG(
        make_layers(CONFIGS[config], batch_norm), num_classes, dropout, pool_size=1, hidden=512
    )
