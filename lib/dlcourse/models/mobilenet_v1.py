"""MobileNet v1: Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam,
"MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications", 2017.

Every 3x3 convolution but the first is *depthwise separable*: a depthwise 3x3 convolution
(``groups = channels``, one filter per channel) then a pointwise 1x1 convolution that mixes
channels, each followed by bn and relu. The width multiplier ``alpha`` thins every layer
to ``int(alpha * channels)``; the resolution multiplier is simply a smaller input.

The body follows the paper's Table 1 (the lectures' "MobileNet Body Architecture")::

    x                                   (N, 3, 224, 224)
    conv 3x3/2, 32                      (N, 32, 112, 112)
    dw/1 + pw 64                        (N, 64, 112, 112)
    dw/2 + pw 128, dw/1 + pw 128        (N, 128, 56, 56)
    dw/2 + pw 256, dw/1 + pw 256        (N, 256, 28, 28)
    dw/2 + pw 512, 5 x (dw/1 + pw 512)  (N, 512, 14, 14)
    dw/2 + pw 1024                      (N, 1024, 7, 7)
    dw/1 + pw 1024                      (N, 1024, 7, 7)
    avgpool, fc                         (N, num_classes)

The table prints the last depthwise row as "Conv dw / s2" on a 7x7x1024 input, yet the
next row's input is again 7x7: a stride of 2 would give 4x4. We follow the sizes (stride 1),
as the paper's own count of 4.2M parameters and 569M mult-adds at width 1.0 requires.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dlcourse.models._layers import conv_bn_act
from dlcourse.models.registry import register_model
from dlcourse.torchnn.init import init_cnn

# (pointwise output channels, depthwise stride), one entry per separable block of Table 1.
BODY: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2), (128, 1),
    (256, 2), (256, 1),
    (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)  # fmt: skip


class DepthwiseSeparable(nn.Module):
    """Depthwise 3x3 (bn, relu) then pointwise 1x1 (bn, relu).

    ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``; it costs
    ``9 C + C F`` weights where a full 3x3 convolution costs ``9 C F``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = conv_bn_act(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = conv_bn_act(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    """The Table 1 body at width ``width_mult``, global average pool, fc.

    ``(N, in_channels, H, W) -> (N, num_classes)``; the map shrinks by 32.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        in_channels: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be > 0, got {width_mult}")
        channels = max(1, int(32 * width_mult))
        layers: list[nn.Module] = [conv_bn_act(in_channels, channels, 3, stride=2)]
        for out_channels, stride in BODY:
            out_channels = max(1, int(out_channels * width_mult))
            layers.append(DepthwiseSeparable(channels, out_channels, stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(channels, num_classes)
        init_cnn(self, conv_mode="fan_out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 1024 * width_mult, H / 32, W / 32)
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(self.dropout(x))


@register_model()
def mobilenet_v1(**kwargs: Any) -> MobileNetV1:
    """MobileNet v1 (``width_mult=1.0``: 4,231,976 parameters with 1000 classes)."""
    return MobileNetV1(**kwargs)
