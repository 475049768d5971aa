"""U-Net: Ronneberger, Fischer, Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015.

A *contracting path* (two 3x3 convolutions with relu, then a 2x2 max pool that halves the map
and a doubling of the channels, ``depth`` times) captures context; a symmetric *expanding
path* (an up-convolution that doubles the map and halves the channels, concatenation with
the encoder's map of the same level, two 3x3 convolutions) localises; a 1x1 convolution
maps to the classes. It is fully convolutional: any large enough input works.

The paper's network (``padding=False``) uses *valid* 3x3 convolutions, each trimming one
pixel a side, so the encoder's maps are centre-cropped before the concatenation and the
output is smaller than the input (Fig. 1, channels for ``base_channels=64``)::

    x                                  (N, 1, 572, 572)
    enc1: 2 x conv3x3                  (N, 64, 568, 568)
    enc2..enc4: pool, 2 x conv3x3      (N, 128, 280, 280) (N, 256, 136, 136) (N, 512, 64, 64)
    bottom: pool, 2 x conv3x3          (N, 1024, 28, 28)
    up4: up-conv, crop enc4, concat    (N, 512 + 512, 56, 56) -> 2 x conv3x3 (N, 512, 52, 52)
    up3, up2, up1                      (N, 256, 100, 100) (N, 128, 196, 196) (N, 64, 388, 388)
    head: conv1x1                      (N, num_classes, 388, 388)

It has 23 convolutional layers (paper, Section 2) and, with 1 input channel and 2 classes,
31,030,658 parameters (the paper states no count; this is Fig. 1's layers summed).
``padding=True`` pads every 3x3 convolution: the output then has the input's size, which
must be divisible by ``2**depth``. ``upsample="bilinear"`` replaces the 2x2 transposed
convolution by bilinear upsampling and a 1x1 convolution that halves the channels.
``batch_norm=True`` adds a batch norm after each 3x3 convolution (not in the paper).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from dlcourse.models.registry import register_model

Upsample = Literal["transposed", "bilinear"]


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions with relu (and batch norm if asked).

    ``(N, in_channels, H, W) -> (N, out_channels, H - 4, W - 4)``, or ``(H, W)`` padded.
    """

    def __init__(
        self, in_channels: int, out_channels: int, padding: bool, batch_norm: bool
    ) -> None:
        super().__init__()
        for i, channels in enumerate((in_channels, out_channels), start=1):
            # A bias is redundant before a batch norm.
            self.add_module(
                f"conv{i}",
                nn.Conv2d(channels, out_channels, 3, padding=int(padding), bias=not batch_norm),
            )
            if batch_norm:
                self.add_module(f"norm{i}", nn.BatchNorm2d(out_channels))
            self.add_module(f"relu{i}", nn.ReLU(inplace=True))


class Up(nn.Module):
    """Up-convolution, crop-and-concatenate the skip, two 3x3 convolutions.

    ``x`` ``(N, in_channels, h, w)`` and ``skip`` ``(N, in_channels / 2, H, W)`` with
    ``H >= 2h`` -> ``(N, in_channels / 2, 2h - 4, 2w - 4)`` (or ``(2h, 2w)`` padded).
    """

    def __init__(
        self, in_channels: int, upsample: Upsample, padding: bool, batch_norm: bool
    ) -> None:
        super().__init__()
        out_channels = in_channels // 2
        if upsample == "transposed":
            self.up: nn.Module = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        elif upsample == "bilinear":
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1),
            )
        else:
            raise ValueError(f"upsample must be 'transposed' or 'bilinear', got {upsample!r}")
        self.conv = DoubleConv(in_channels, out_channels, padding, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (N, in_channels / 2, 2h, 2w)
        x = torch.cat([center_crop(skip, x.shape[-2:]), x], 1)  # (N, in_channels, 2h, 2w)
        return self.conv(x)


def center_crop(x: torch.Tensor, size: torch.Size | tuple[int, int]) -> torch.Tensor:
    """The central ``size`` window of ``x`` ``(N, C, H, W)``: ``(N, C, *size)``."""
    height, width = x.shape[-2:]
    top, left = (height - size[0]) // 2, (width - size[1]) // 2
    if top < 0 or left < 0:
        raise ValueError(f"cannot crop a {height}x{width} map to {size[0]}x{size[1]}")
    return x[..., top : top + size[0], left : left + size[1]]


class UNet(nn.Module):
    """The U-Net: ``(N, in_channels, H, W) -> (N, num_classes, H', W')``.

    ``H' = H`` with ``padding=True``; otherwise see :meth:`output_size` (388 for 572).
    Level ``i`` (0 at the top) has ``base_channels * 2**i`` channels.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        base_channels: int = 64,
        depth: int = 4,
        padding: bool = False,
        upsample: Upsample = "transposed",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        self.depth = depth
        self.padding = padding
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], padding, batch_norm)
        self.pool = nn.MaxPool2d(2)
        self.down = nn.ModuleList(
            DoubleConv(widths[i], widths[i + 1], padding, batch_norm) for i in range(depth)
        )
        self.up = nn.ModuleList(
            Up(widths[i + 1], upsample, padding, batch_norm) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def output_size(self, size: int) -> int:
        """The output's height for an input ``size`` high; ValueError where a pool gets an
        odd map (a 2x2 pool would drop a row, and the crops would no longer line up)."""
        trim = 0 if self.padding else 4
        sizes = [size - trim]
        for _ in range(self.depth):
            if sizes[-1] % 2 or sizes[-1] <= 0:
                raise ValueError(
                    f"input size {size} gives a {sizes[-1]}-pixel map before a 2x2 pool; "
                    f"choose a size whose maps stay even (572 for the paper's net)"
                )
            sizes.append(sizes[-1] // 2 - trim)
        out = sizes[-1]
        for _ in range(self.depth):
            out = 2 * out - trim
        if out <= 0:
            raise ValueError(f"input size {size} is too small for depth {self.depth}")
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.output_size(x.shape[-2])
        self.output_size(x.shape[-1])
        skips = [self.inc(x)]  # (N, base, H - 4, W - 4)
        for down in self.down:
            skips.append(down(self.pool(skips[-1])))
        x = skips.pop()  # the bottom: (N, base * 2**depth, h, w)
        for up in self.up:
            x = up(x, skips.pop())
        return self.head(x)  # (N, num_classes, H', W')


@register_model()
def unet(**kwargs: Any) -> UNet:
    """The paper's U-Net: valid convolutions, 2x2 up-convolutions, 1 channel in, 2 classes."""
    return UNet(**kwargs)


@register_model()
def unet_padded(**kwargs: Any) -> UNet:
    """U-Net with padded convolutions: the output has the input's height and width."""
    return UNet(**{"padding": True, **kwargs})


@register_model()
def unet_small(**kwargs: Any) -> UNet:
    """A CPU-sized padded U-Net: RGB in, 2 classes, widths 8-16-32-64-128, batch norm."""
    defaults: dict[str, Any] = {
        "in_channels": 3, "base_channels": 8, "padding": True, "batch_norm": True,
    }  # fmt: skip
    return UNet(**{**defaults, **kwargs})
