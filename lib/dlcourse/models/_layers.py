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


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    stride: int = 1,
    groups: int = 1,
    activation: type[nn.Module] | None = nn.ReLU,
) -> nn.Sequential:
    """Convolution (no bias, "same" padding), batch norm, then ``activation`` (None: linear).

    Indexed 0 (conv), 1 (norm), 2 (activation), the key layout torchvision's
    ``Conv2dNormActivation`` uses, so its ``state_dict`` loads unchanged.
    ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``
    for odd ``kernel_size``.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                  padding=(kernel_size - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]  # fmt: skip
    if activation is not None:
        layers.append(activation(inplace=True))
    return nn.Sequential(*layers)
