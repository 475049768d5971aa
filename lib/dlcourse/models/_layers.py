"""Tiny named convolutions shared by the architectures (torchvision's naming)."""

from __future__ import annotations

from torch import nn


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:  # fmt: skip
    """A 3x3 convolution without bias, padded to keep the size at stride 1 (a norm follows)."""
    return nn.Conv2d(
        in_channels, out_channels, kernel_size=3, stride=stride, padding=dilation,
        groups=groups, bias=False, dilation=dilation,
    )  # fmt: skip


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias: mixes channels, changes their number, or downsamples."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
