"""DenseNet: Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017.

Inside a dense block every layer receives the concatenation of all earlier feature maps
and adds ``growth_rate`` new ones: after ``L`` layers a block that received ``C`` channels
outputs ``C + L * growth_rate``. Each layer is a bottleneck ("DenseNet-B"):
bn-relu-conv1x1 to ``bn_size * growth_rate`` channels, then bn-relu-conv3x3 to
``growth_rate``. Between blocks a transition (bn-relu-conv1x1-avgpool 2x2) halves the map
and multiplies the channels by ``compression`` (0.5: "DenseNet-BC").

Shapes for a 224x224 image, DenseNet-121 (k = 32, blocks 6-12-24-16)::

    x                           (N, 3, 224, 224)
    conv0 7x7/2, norm0, pool0   (N, 64, 56, 56)
    denseblock1, transition1    (N, 64 + 6*32 = 256, 56, 56) -> (N, 128, 28, 28)
    denseblock2, transition2    (N, 128 + 12*32 = 512, 28, 28) -> (N, 256, 14, 14)
    denseblock3, transition3    (N, 256 + 24*32 = 1024, 14, 14) -> (N, 512, 7, 7)
    denseblock4, norm5          (N, 512 + 16*32 = 1024, 7, 7)
    relu, avgpool, classifier   (N, num_classes)

Module names follow torchvision (``features.denseblock1.denselayer1.norm1`` ...), so its
``state_dict`` loads unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.models._layers import conv1x1, conv3x3
from dlcourse.models.registry import register_model
from dlcourse.torchnn.init import init_cnn


class DenseLayer(nn.Module):
    """bn-relu-conv1x1 (to ``bn_size * growth_rate``), bn-relu-conv3x3 (to ``growth_rate``).

    Takes the list of all earlier maps ``[(N, C_i, H, W), ...]`` and returns only the new
    ``(N, growth_rate, H, W)``; the block does the concatenating.
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = conv1x1(in_channels, bn_size * growth_rate)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(bn_size * growth_rate, growth_rate)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)  # (N, sum C_i, H, W)
        x = self.conv1(self.relu1(self.norm1(x)))  # (N, bn_size * growth_rate, H, W)
        return self.conv2(self.relu2(self.norm2(x)))  # (N, growth_rate, H, W)


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers: ``(N, C, H, W) -> (N, C + num_layers * growth_rate, H, W)``."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """bn-relu-conv1x1-avgpool 2x2: ``(N, C, H, W) -> (N, out_channels, H / 2, W / 2)``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = conv1x1(in_channels, out_channels)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """A 7x7/2 stem and max pool, dense blocks joined by transitions, norm, pool, classifier.

    ``(N, 3, H, W) -> (N, num_classes)``; the map shrinks by 4 in the stem and by 2 in each
    transition (32 in all for four blocks).
    """

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        compression: float = 0.5,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if not 0 < compression <= 1:
            raise ValueError(f"compression must be in (0, 1], got {compression}")
        self.features = nn.Sequential()
        self.features.add_module(
            "conv0",
            nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3,
                      bias=False),
        )  # fmt: skip
        self.features.add_module("norm0", nn.BatchNorm2d(num_init_features))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, channels, growth_rate, bn_size)
            self.features.add_module(f"denseblock{i + 1}", block)
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                out_channels = int(channels * compression)
                self.features.add_module(f"transition{i + 1}", Transition(channels, out_channels))
                channels = out_channels
        self.features.add_module(f"norm{len(block_config) + 1}", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        init_cnn(self, conv_mode="fan_in", linear="zero_bias")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, channels, H / 32, W / 32)
        x = F.adaptive_avg_pool2d(F.relu(x), 1)  # (N, channels, 1, 1)
        return self.classifier(torch.flatten(x, 1))


def _densenet(
    growth_rate: int, block_config: Sequence[int], num_init_features: int, **kwargs: Any
) -> DenseNet:
    return DenseNet(growth_rate, block_config, num_init_features, **kwargs)


@register_model()
def densenet121(**kwargs: Any) -> DenseNet:
    """DenseNet-121 (k = 32, blocks 6-12-24-16), 7,978,856 parameters with 1000 classes."""
    return _densenet(32, (6, 12, 24, 16), 64, **kwargs)


@register_model()
def densenet169(**kwargs: Any) -> DenseNet:
    """DenseNet-169 (k = 32, blocks 6-12-32-32), 14,149,480 parameters with 1000 classes."""
    return _densenet(32, (6, 12, 32, 32), 64, **kwargs)


@register_model()
def densenet201(**kwargs: Any) -> DenseNet:
    """DenseNet-201 (k = 32, blocks 6-12-48-32), 20,013,928 parameters with 1000 classes."""
    return _densenet(32, (6, 12, 48, 32), 64, **kwargs)


@register_model()
def densenet161(**kwargs: Any) -> DenseNet:
    """DenseNet-161 (k = 48, blocks 6-12-36-24, 96 stem channels), 28,681,000 parameters."""
    return _densenet(48, (6, 12, 36, 24), 96, **kwargs)
