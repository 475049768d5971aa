"""Pre-activation ResNet: He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks",
ECCV 2016.

The norm and relu move *into* the residual branch, before each convolution
(bn-relu-conv-bn-relu-conv), and nothing follows the addition: the shortcut path from any
block to any later one is a pure identity (the lectures' "moves activation to residual
mapping pathway"). A projection shortcut (a bare stride-``s`` 1x1 convolution) reads the
*pre-activated* input, as in the paper's code. The network closes with a bn-relu before the
pooling, since the last block's output has not been normalised. With the ImageNet stem
(conv, bn, relu, max pool) our first block normalises the stem's output once more where the
authors' code skips that pre-activation: one extra norm of 64 channels, nothing else.

Shapes as for :mod:`dlcourse.models.resnet`; for a 32x32 image with the CIFAR stem::

    x                       (N, 3, 32, 32)
    conv1 3x3/1             (N, widths[0], 32, 32)      (no bn or relu: the block does it)
    stage i (stride 1,2,2,...)  (N, widths[i] * e, 32 / 2**i, 32 / 2**i)
    bn, relu, avgpool, fc   (N, num_classes)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from dlcourse.models._layers import conv1x1, conv3x3
from dlcourse.models.registry import register_model
from dlcourse.models.resnet import Stem
from dlcourse.torchnn.init import init_cnn


class PreActBasicBlock(nn.Module):
    """bn-relu-conv3x3-bn-relu-(dropout)-conv3x3, plus the shortcut; nothing after the sum.

    ``(N, in_channels, H, W) -> (N, planes, H / stride, W / stride)``. ``dropout`` (between
    the convolutions) is Wide ResNet's; 0 leaves it out. ``last_norm`` is ``bn2``, the norm
    before the branch's last convolution: with its weight and bias at zero the relu gives
    zeros, the bias-free convolution keeps them zero, and the block is its shortcut.
    """

    expansion: ClassVar[int] = 1

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = conv3x3(planes, planes)
        self.shortcut = None
        if stride != 1 or in_channels != planes:
            self.shortcut = conv1x1(in_channels, planes, stride)

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        """The norm that gates the residual branch (``bn2``)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(x))
        # A projection reads the pre-activated input; an identity reads x itself.
        identity = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return out + identity


class PreActBottleneck(nn.Module):
    """bn-relu-conv1x1-bn-relu-conv3x3-bn-relu-conv1x1 (x4), plus the shortcut.

    ``(N, in_channels, H, W) -> (N, planes * 4, H / stride, W / stride)``; ``last_norm`` is
    ``bn3``.
    """

    expansion: ClassVar[int] = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv1x1(in_channels, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv3 = conv1x1(planes, out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = conv1x1(in_channels, out_channels, stride)

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        """The norm that gates the residual branch (``bn3``)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)  # (N, planes, H, W)
        out = self.conv2(self.relu(self.bn2(out)))  # (N, planes, H / s, W / s)
        out = self.conv3(self.dropout(self.relu(self.bn3(out))))  # (N, planes * 4, ...)
        return out + identity


PreActBlock = type[PreActBasicBlock] | type[PreActBottleneck]


class PreActResNet(nn.Module):
    """A stem, ``len(layers)`` stages of pre-activation blocks, bn-relu, pool, fc.

    ``(N, in_channels, H, W) -> (N, num_classes)``. Stage ``i`` has ``layers[i]`` blocks of
    ``widths[i]`` planes; every stage after the first halves the map. ``stem_channels`` is
    the stem's width (64 for ResNet, 16 for Wide ResNet on CIFAR). ``dropout`` goes inside
    each block (Wide ResNet). ``zero_init_residual`` zeroes each block's ``last_norm``.
    """

    def __init__(
        self,
        block: PreActBlock,
        layers: Sequence[int],
        widths: Sequence[int] = (64, 128, 256, 512),
        num_classes: int = 1000,
        stem: Stem = "imagenet",
        stem_channels: int = 64,
        dropout: float = 0.0,
        zero_init_residual: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(layers) != len(widths) or not layers:
            raise ValueError(
                f"layers and widths must be non-empty and equally long, got layers="
                f"{list(layers)}, widths={list(widths)}"
            )
        if stem == "imagenet":
            # The paper's ImageNet models keep the original stem: conv, bn, relu, max pool.
            self.conv1: nn.Module = nn.Conv2d(
                in_channels, stem_channels, kernel_size=7, stride=2, padding=3, bias=False
            )
            self.stem_post: nn.Module = nn.Sequential(
                nn.BatchNorm2d(stem_channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )
        elif stem == "cifar":
            self.conv1 = conv3x3(in_channels, stem_channels)
            self.stem_post = nn.Identity()
        else:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.in_planes = stem_channels
        self.dropout = dropout
        self.layers = nn.Sequential(
            *(
                self._make_layer(block, width, depth, stride=1 if i == 0 else 2)
                for i, (width, depth) in enumerate(zip(widths, layers, strict=True))
            )
        )
        self.bn = nn.BatchNorm2d(self.in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.in_planes, num_classes)
        init_cnn(self, conv_mode="fan_out", zero_init_residual=zero_init_residual)

    def _make_layer(
        self, block: PreActBlock, planes: int, num_blocks: int, stride: int
    ) -> nn.Sequential:
        """One stage: the first block may stride and project, the rest keep the shape."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(block(self.in_planes, planes, stride if i == 0 else 1, self.dropout))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_post(self.conv1(x))  # (N, stem_channels, H', W')
        x = self.layers(x)  # (N, widths[-1] * expansion, H' / 2**(stages-1), ...)
        x = self.relu(self.bn(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def _preact_resnet(block: PreActBlock, layers: Sequence[int], **kwargs: Any) -> PreActResNet:
    return PreActResNet(block, layers, **kwargs)


@register_model()
def preact_resnet18(**kwargs: Any) -> PreActResNet:
    """Pre-activation ResNet-18 (basic blocks 2-2-2-2), ImageNet stem."""
    return _preact_resnet(PreActBasicBlock, [2, 2, 2, 2], **kwargs)


@register_model()
def preact_resnet34(**kwargs: Any) -> PreActResNet:
    """Pre-activation ResNet-34 (basic blocks 3-4-6-3), ImageNet stem."""
    return _preact_resnet(PreActBasicBlock, [3, 4, 6, 3], **kwargs)


@register_model()
def preact_resnet50(**kwargs: Any) -> PreActResNet:
    """Pre-activation ResNet-50 (bottlenecks 3-4-6-3), ImageNet stem."""
    return _preact_resnet(PreActBottleneck, [3, 4, 6, 3], **kwargs)


@register_model()
def preact_resnet101(**kwargs: Any) -> PreActResNet:
    """Pre-activation ResNet-101 (bottlenecks 3-4-23-3), ImageNet stem."""
    return _preact_resnet(PreActBottleneck, [3, 4, 23, 3], **kwargs)


@register_model()
def preact_resnet152(**kwargs: Any) -> PreActResNet:
    """Pre-activation ResNet-152 (bottlenecks 3-8-36-3), ImageNet stem."""
    return _preact_resnet(PreActBottleneck, [3, 8, 36, 3], **kwargs)


@register_model()
def preact_resnet18_cifar(num_classes: int = 10, **kwargs: Any) -> PreActResNet:
    """Pre-activation ResNet-18 for 32x32 images: 3x3/1 stem, no max pool, 10 classes.

    ``(N, 3, 32, 32) -> (N, num_classes)``.
    """
    return _preact_resnet(
        PreActBasicBlock, [2, 2, 2, 2], num_classes=num_classes, stem="cifar", **kwargs
    )
