"""A small 3D CNN for video clips, C3D-style.

3D convolutions extend the 2D filter through time, so a filter sees motion as well as
appearance: Ji, Xu, Yang and Yu, "3D Convolutional Neural Networks for Human Action
Recognition", ICML 2010 / TPAMI 2013; Tran, Bourdev, Fergus, Torresani and Paluri,
"Learning Spatiotemporal Features with 3D Convolutional Networks" (C3D), ICCV 2015, who
found 3x3x3 kernels everywhere best. As in C3D, every convolution is 3x3x3 (stride 1,
pad 1: the size is kept) and the first pool is 1x2x2, so that time is not merged too
early; later pools halve time, height and width. A global average pool and one linear
layer end it, which keeps it small enough for a CPU (293,130 parameters with the default
widths and 10 classes, against C3D's 78M).

Shapes: ``x`` (N, C, T, H, W), T >= 4 and H, W >= 8 with the default four stages ::

    stage 1   (N, 16, T, H/2, W/2)        conv 3x3x3, pool 1x2x2
    stage 2   (N, 32, T/2, H/4, W/4)      conv 3x3x3, pool 2x2x2
    stage 3   (N, 64, T/4, H/8, W/8)      conv 3x3x3, pool 2x2x2
    stage 4   (N, 128, T/4, H/8, W/8)     conv 3x3x3
    pool, fc  (N, 128) -> (N, num_classes)
"""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.models.registry import register_model


def conv3x3x3(in_channels: int, out_channels: int) -> nn.Conv3d:
    """A 3x3x3 convolution, padded to keep T, H and W."""
    return nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1)


class Conv3dBlock(nn.Sequential):
    """3x3x3 convolution, ReLU, then a max pool of ``pool`` (T, H, W) unless it is None."""

    def __init__(
        self, in_channels: int, out_channels: int, pool: tuple[int, int, int] | None
    ) -> None:
        layers: list[nn.Module] = [conv3x3x3(in_channels, out_channels), nn.ReLU(inplace=True)]
        if pool is not None:
            layers.append(nn.MaxPool3d(kernel_size=pool, stride=pool))
        super().__init__(*layers)


class C3DSmall(nn.Module):
    """The small C3D-style network: (N, C, T, H, W) -> (N, num_classes); see the module."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        widths: tuple[int, int, int, int] = (16, 32, 64, 128),
    ) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.stage1 = Conv3dBlock(in_channels, w1, pool=(1, 2, 2))
        self.stage2 = Conv3dBlock(w1, w2, pool=(2, 2, 2))
        self.stage3 = Conv3dBlock(w2, w3, pool=(2, 2, 2))
        self.stage4 = Conv3dBlock(w3, w4, pool=None)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(w4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5:
            raise ValueError(f"x must be a clip batch (N, C, T, H, W), got shape {tuple(x.shape)}")
        x = self.stage2(self.stage1(x))  # (N, w2, T/2, H/4, W/4)
        x = self.stage4(self.stage3(x))  # (N, w4, T/4, H/8, W/8)
        x = torch.flatten(self.avgpool(x), 1)  # (N, w4)
        return self.fc(x)  # (N, num_classes)


@register_model()
def c3d_small(
    num_classes: int = 10,
    in_channels: int = 3,
    widths: tuple[int, int, int, int] = (16, 32, 64, 128),
) -> C3DSmall:
    """A small C3D-style 3D CNN (Tran et al., 2015) for (N, C, T, H, W) clips."""
    return C3DSmall(num_classes, in_channels, widths)
