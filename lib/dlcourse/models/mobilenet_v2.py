"""MobileNet v2: Sandler, Howard, Zhu, Zhmoginov, Chen, "MobileNetV2: Inverted Residuals and
Linear Bottlenecks", CVPR 2018.

The *inverted residual* block widens a narrow input by ``t`` with a 1x1 convolution (bn,
relu6), filters it with a depthwise 3x3 (bn, relu6), and projects it back to a narrow
output with a *linear* 1x1 (bn, no relu: "non-linearities are removed in narrow layers").
The shortcut joins the narrow ends, and only where the block keeps the shape (stride 1,
same channels). Body (paper Table 2; t expansion, c channels, n repeats, s first stride)::

    x                                      (N, 3, 224, 224)
    conv 3x3/2, 32                         (N, 32, 112, 112)
    t=1 c=16 n=1 s=1                       (N, 16, 112, 112)
    t=6 c=24 n=2 s=2                       (N, 24, 56, 56)
    t=6 c=32 n=3 s=2                       (N, 32, 28, 28)
    t=6 c=64 n=4 s=2, t=6 c=96 n=3 s=1     (N, 96, 14, 14)
    t=6 c=160 n=3 s=2, t=6 c=320 n=1 s=1   (N, 320, 7, 7)
    conv 1x1, 1280                         (N, 1280, 7, 7)
    avgpool, dropout, fc                   (N, num_classes)

Channels scale with ``width_mult``, rounded to multiples of 8; the last 1x1 keeps 1280 for
``width_mult <= 1``. Module names follow torchvision (``features.2.conv.1.0``), so its
``state_dict`` loads unchanged.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from dlcourse.models._layers import conv_bn_act
from dlcourse.models.registry import register_model
from dlcourse.torchnn.init import init_cnn

# (expansion t, output channels c, repeats n, first stride s): the paper's Table 2.
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never losing more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class InvertedResidual(nn.Module):
    """Expand 1x1 (relu6), depthwise 3x3 (relu6), linear project 1x1, plus the input.

    ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``, through
    ``in_channels * expand_ratio`` hidden channels (no expansion layer when the ratio is 1).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),  # linear bottleneck: no relu
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        """The norm closing the branch (after the linear projection); zeroed, a block with a
        shortcut is the identity."""
        return cast(nn.BatchNorm2d, self.conv[-1])  # built last in __init__

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """Stem, 17 inverted residual blocks, 1x1 to 1280, pool, dropout, fc.

    ``(N, in_channels, H, W) -> (N, num_classes)``; the map shrinks by 32.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        dropout: float = 0.2,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be > 0, got {width_mult}")
        channels = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [conv_bn_act(in_channels, channels, 3, 2, activation=nn.ReLU6)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            out_channels = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out_channels, s if i == 0 else 1, t))
                channels = out_channels
        layers.append(conv_bn_act(channels, self.last_channel, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes)
        )
        init_cnn(self, conv_mode="fan_out", linear="small")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, last_channel, H / 32, W / 32)
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(x)


@register_model()
def mobilenet_v2(**kwargs: Any) -> MobileNetV2:
    """MobileNet v2 (``width_mult=1.0``: 3,504,872 parameters with 1000 classes)."""
    return MobileNetV2(**kwargs)
