"""Squeeze-and-excitation: Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018.

A "channel attention" (the lectures): *squeeze* each channel to one number by global average
pooling, *excite* with two fully connected layers (``C -> C / r``, relu, ``C / r -> C``,
sigmoid) and rescale each channel by its gate in (0, 1). SE-ResNet-50 puts one such block
on each bottleneck's residual branch, before the addition; with ``r = 16`` it adds about
2.5M parameters to ResNet-50's 25.6M (28.1M in all; the paper's Table 7 gives 28.09M).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from dlcourse.models.registry import register_model
from dlcourse.models.resnet import Bottleneck, ResNet


class SqueezeExcitation(nn.Module):
    """Gate each channel: ``(N, C, H, W) -> (N, C, H, W)``, scaled by ``(N, C, 1, 1)``."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        if reduction < 1 or channels // reduction < 1:
            raise ValueError(f"reduction must be in [1, channels={channels}], got {reduction}")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(channels // reduction, channels)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.flatten(self.avgpool(x), 1)  # squeeze: (N, C)
        s = self.sigmoid(self.fc2(self.relu(self.fc1(s))))  # excite: (N, C) in (0, 1)
        return x * s[:, :, None, None]


class SEBottleneck(Bottleneck):
    """A ResNet bottleneck whose branch is rescaled by squeeze-and-excitation before the sum.

    ``(N, in_channels, H, W) -> (N, planes * 4, H / stride, W / stride)``; ``last_norm`` is
    still ``bn3`` (zero in, zero out of the gate).
    """

    reduction: ClassVar[int] = 16

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__(in_channels, planes, stride, downsample, groups, base_width)
        self.se = SqueezeExcitation(planes * self.expansion, self.reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))  # (N, planes * 4, H / s, W / s)
        return self.relu(out + identity)


@register_model()
def se_resnet50(**kwargs: Any) -> ResNet:
    """SE-ResNet-50 (r = 16): 28,088,024 parameters with 1000 classes."""
    return ResNet(SEBottleneck, [3, 4, 6, 3], **kwargs)


@register_model()
def se_resnet101(**kwargs: Any) -> ResNet:
    """SE-ResNet-101 (r = 16): 49.3M parameters with 1000 classes (paper: 49.33M)."""
    return ResNet(SEBottleneck, [3, 4, 23, 3], **kwargs)
