"""ResNet: He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.

A residual block learns ``F(x)`` and outputs ``relu(F(x) + shortcut(x))``. The shortcut is
the identity, or, where the block halves the map (stride 2) or changes the number of
channels, a projection: a stride-``s`` 1x1 convolution and a batch norm (option B of the
paper; the lectures' "stride 2 1x1 conv (+BN), double the number of feature maps").

Shapes for a 224x224 image (ImageNet stem)::

    x                 (N, 3, 224, 224)
    conv1 7x7/2, bn1  (N, 64, 112, 112)
    maxpool 3x3/2     (N, 64, 56, 56)
    layer1            (N, 64 * e, 56, 56)       e = block.expansion (1 basic, 4 bottleneck)
    layer2            (N, 128 * e, 28, 28)
    layer3            (N, 256 * e, 14, 14)
    layer4            (N, 512 * e, 7, 7)
    avgpool, fc       (N, num_classes)

The CIFAR variants (``stem="cifar"``) replace the 7x7/2 convolution by a 3x3/1 one and
drop the max pool, so a 32x32 image keeps its size through ``layer1`` (32, 16, 8, 4).

The bottleneck puts its stride on the 3x3 convolution (torchvision's "ResNet v1.5"; the
paper strides the first 1x1), so that torchvision's ``state_dict`` loads unchanged and the
two networks compute the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from dlcourse.models._layers import conv1x1, conv3x3
from dlcourse.models.registry import register_model
from dlcourse.torchnn.init import init_cnn

Stem = Literal["imagenet", "cifar"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions: conv-bn-relu-conv-bn, add the shortcut, relu (ResNet-18/34).

    ``(N, in_channels, H, W) -> (N, planes, H / stride, W / stride)``.
    ``last_norm`` is the norm that closes the residual branch (``bn2``): with its weight
    (and bias) at zero the branch outputs zeros and the block is ``relu(shortcut(x))``.
    """

    expansion: ClassVar[int] = 1
    #: What ``dlcourse.torchnn.fold_batchnorm`` folds (its ``conv_norm_pairs`` convention).
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock supports groups=1 and base_width=64 only, got groups={groups}, "
                f"base_width={base_width}"
            )
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        """The norm closing the residual branch (a property, not a second registration,
        so ``state_dict`` keys stay torchvision's)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity  # in place: the norm's backward needs its input, not its output
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4), add the shortcut, relu (ResNet-50/101/152).

    ``(N, in_channels, H, W) -> (N, planes * 4, H / stride, W / stride)``; the inner width
    is ``planes * base_width / 64 * groups`` (``planes`` for ResNet, twice that for
    Wide ResNet-50-2). ``last_norm`` is ``bn3``.
    """

    expansion: ClassVar[int] = 4
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"),
    )  # fmt: skip

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        """The norm closing the residual branch (``bn3``)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, width, H / s, W / s)
        out = self.bn3(self.conv3(out))  # (N, planes * 4, H / s, W / s)
        out += identity
        return self.relu(out)


ResidualBlock = type[BasicBlock] | type[Bottleneck]


class ResNet(nn.Module):
    """A stem, four stages of residual blocks (64, 128, 256, 512 planes), pool, fc.

    ``(N, 3, H, W) -> (N, num_classes)``. ``layers`` gives the number of blocks per stage.
    ``zero_init_residual`` zeroes every block's ``last_norm`` weight, so each block starts
    as (the relu of) its shortcut (Goyal et al. 2017, "Accurate, Large Minibatch SGD").
    """

    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (("conv1", "bn1"),)  # the stem

    def __init__(
        self,
        block: ResidualBlock,
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        stem: Stem = "imagenet",
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"layers must give 4 stage depths, got {list(layers)}")
        self.groups = groups
        self.base_width = width_per_group
        self.in_planes = 64
        if stem == "imagenet":
            self.conv1: nn.Conv2d = nn.Conv2d(
                in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False
            )
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        elif stem == "cifar":
            self.conv1 = conv3x3(in_channels, 64)
            self.maxpool = nn.Identity()
        else:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_cnn(self, conv_mode="fan_out", zero_init_residual=zero_init_residual)

    def _make_layer(
        self, block: ResidualBlock, planes: int, num_blocks: int, stride: int = 1
    ) -> nn.Sequential:
        """One stage: the first block may stride and project, the rest keep the shape."""
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or self.in_planes != out_channels:
            downsample = nn.Sequential(
                conv1x1(self.in_planes, out_channels, stride), nn.BatchNorm2d(out_channels)
            )
        blocks = [block(self.in_planes, planes, stride, downsample, self.groups, self.base_width)]
        self.in_planes = out_channels
        for _ in range(1, num_blocks):
            blocks.append(block(out_channels, planes, 1, None, self.groups, self.base_width))
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4); cifar H, W
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)  # (N, 512 * expansion, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 512 * expansion)
        return self.fc(x)


def _resnet(block: ResidualBlock, layers: Sequence[int], **kwargs: Any) -> ResNet:
    return ResNet(block, layers, **kwargs)


@register_model()
def resnet18(**kwargs: Any) -> ResNet:
    """ResNet-18 (basic blocks 2-2-2-2), 11,689,512 parameters with 1000 classes."""
    return _resnet(BasicBlock, [2, 2, 2, 2], **kwargs)


@register_model()
def resnet34(**kwargs: Any) -> ResNet:
    """ResNet-34 (basic blocks 3-4-6-3), 21,797,672 parameters with 1000 classes."""
    return _resnet(BasicBlock, [3, 4, 6, 3], **kwargs)


@register_model()
def resnet50(**kwargs: Any) -> ResNet:
    """ResNet-50 (bottlenecks 3-4-6-3), 25,557,032 parameters with 1000 classes."""
    return _resnet(Bottleneck, [3, 4, 6, 3], **kwargs)


@register_model()
def resnet101(**kwargs: Any) -> ResNet:
    """ResNet-101 (bottlenecks 3-4-23-3), 44,549,160 parameters with 1000 classes."""
    return _resnet(Bottleneck, [3, 4, 23, 3], **kwargs)


@register_model()
def resnet152(**kwargs: Any) -> ResNet:
    """ResNet-152 (bottlenecks 3-8-36-3), 60,192,808 parameters with 1000 classes."""
    return _resnet(Bottleneck, [3, 8, 36, 3], **kwargs)


@register_model()
def resnet18_cifar(num_classes: int = 10, **kwargs: Any) -> ResNet:
    """ResNet-18 for 32x32 images: 3x3/1 stem, no max pool, 10 classes by default.

    ``(N, 3, 32, 32) -> (N, num_classes)``; 11,173,962 parameters with 10 classes.
    """
    return _resnet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, stem="cifar", **kwargs)


@register_model()
def resnet34_cifar(num_classes: int = 10, **kwargs: Any) -> ResNet:
    """ResNet-34 for 32x32 images (3x3/1 stem, no max pool), 10 classes by default."""
    return _resnet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, stem="cifar", **kwargs)
