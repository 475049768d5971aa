"""Fully convolutional networks for semantic segmentation: Long, Shelhamer and Darrell,
"Fully Convolutional Networks for Semantic Segmentation", CVPR 2015.

VGG-16's classifier becomes convolutions (fc6 a 7x7 convolution, fc7 a 1x1), a 1x1 "score"
convolution gives num_classes maps at 1/32 of the input, and transposed convolutions
initialised to bilinear interpolation bring them back to the input size. With no fully
connected layer, the network takes any input size (here: H and W multiples of 32). Skip
connections refine the coarse scores with shallower, finer layers:

* FCN-32s: scores at 1/32, upsampled x32 in one step.
* FCN-16s: scores at 1/32 upsampled x2 (learned) + 1x1 scores of pool4 (1/16), then x16.
* FCN-8s: that sum upsampled x2 (learned) + 1x1 scores of pool3 (1/8), then x8.

Shapes: ``x`` (N, 3, H, W) -> per-pixel scores (N, num_classes, H, W); pool3 (N, 256, H/8,
W/8), pool4 (N, 512, H/16, W/16), pool5 (N, 512, H/32, W/32), fc7 (N, head_channels, H/32,
W/32).

As in the paper, the last upsampling is fixed bilinear interpolation (a buffer, not a
parameter), the x2 upsamplings are learned from a bilinear start, and the skip scores start
at zero so training begins from FCN-32s' predictions. One departure: the paper pads conv1_1
by 100 and crops the output, so that its unpadded 7x7 fc6 works on small maps; here fc6 is
padded by 3, which keeps the map size and makes the crop unnecessary. ``head_channels``
(4096 in the paper) may be lowered to make the network small enough for a CPU.
:func:`convolutionalize_` starts an FCN from a trained VGG-16, as the paper does.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.models.registry import register_model
from dlcourse.models.vgg import CONFIGS, make_layers

Variant = Literal["32s", "16s", "8s"]


def bilinear_kernel(factor: int) -> torch.Tensor:
    """The (2*factor, 2*factor) kernel with which a stride-``factor`` transposed convolution
    (padding ``factor // 2``) interpolates bilinearly: the outer product of a tent."""
    size = 2 * factor
    center = factor - 0.5  # between the two middle taps: the kernel size is even
    # Made on the CPU, whatever the default device: the kernel is a constant, and arange on
    # the meta device would cost seconds of one-time setup for nothing.
    taps = 1 - (torch.arange(size, dtype=torch.float64, device="cpu") - center).abs() / factor
    return torch.outer(taps, taps).to(torch.get_default_dtype())


class BilinearUpsample(nn.Module):
    """Fixed bilinear upsampling of each channel by an even ``factor`` (at least 2).

    Shapes: (N, C, H, W) -> (N, C, factor * H, factor * W). The kernel is a buffer: the
    paper keeps its final upsampling fixed.
    """

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        if factor < 2 or factor % 2:
            raise ValueError(f"factor must be an even integer >= 2, got {factor}")
        self.factor = factor
        self.weight: torch.Tensor
        kernel = bilinear_kernel(factor).expand(channels, 1, 2 * factor, 2 * factor).clone()
        self.register_buffer("weight", kernel, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # groups=C: each class map is interpolated on its own.
        return F.conv_transpose2d(
            x, self.weight, stride=self.factor, padding=self.factor // 2, groups=x.shape[1]
        )


def learned_upsample2x(channels: int) -> nn.ConvTranspose2d:
    """A x2 transposed convolution (N, C, H, W) -> (N, C, 2H, 2W), initialised to bilinear."""
    up = nn.ConvTranspose2d(channels, channels, kernel_size=4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.zero_()
        for c in range(channels):  # channel c reads only channel c at the start
            up.weight[c, c] = bilinear_kernel(2)
    return up


def _split_at_pools(features: nn.Sequential) -> tuple[nn.Sequential, ...]:
    """Cut a VGG feature stack after its 3rd, 4th and 5th max pools."""
    layers = list(features)
    pools = [i for i, layer in enumerate(layers) if isinstance(layer, nn.MaxPool2d)]
    cut3, cut4, cut5 = pools[2] + 1, pools[3] + 1, pools[4] + 1
    return (
        nn.Sequential(*layers[:cut3]),
        nn.Sequential(*layers[cut3:cut4]),
        nn.Sequential(*layers[cut4:cut5]),
    )


def skip_score(in_channels: int, num_classes: int) -> nn.Conv2d:
    """A 1x1 score layer on a skip, zero at the start: (N, C, h, w) -> (N, num_classes, h, w)."""
    score = nn.Conv2d(in_channels, num_classes, kernel_size=1)
    nn.init.zeros_(score.weight)
    nn.init.zeros_(score.bias)  # type: ignore[arg-type]  # Conv2d(bias=True) has a Tensor
    return score


class FCN(nn.Module):
    """FCN-32s/16s/8s on a VGG-16 backbone; see the module docstring for the shapes."""

    def __init__(
        self,
        num_classes: int = 21,
        variant: Variant = "32s",
        head_channels: int = 4096,
        dropout: float = 0.5,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if variant not in ("32s", "16s", "8s"):
            raise ValueError(f"variant must be '32s', '16s' or '8s', got {variant!r}")
        self.variant = variant
        self.to_pool3, self.to_pool4, self.to_pool5 = _split_at_pools(
            make_layers(CONFIGS["D"], batch_norm)
        )
        self.fc6 = nn.Conv2d(512, head_channels, kernel_size=7, padding=3)
        self.fc7 = nn.Conv2d(head_channels, head_channels, kernel_size=1)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.score_fr = nn.Conv2d(head_channels, num_classes, kernel_size=1)
        self.score_pool4 = skip_score(512, num_classes) if variant != "32s" else None
        self.score_pool3 = skip_score(256, num_classes) if variant == "8s" else None
        self.upscore2 = learned_upsample2x(num_classes) if variant != "32s" else None
        self.upscore_pool4 = learned_upsample2x(num_classes) if variant == "8s" else None
        self.upscore_final = BilinearUpsample(num_classes, {"32s": 32, "16s": 16, "8s": 8}[variant])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise ValueError(
                f"x must be (N, 3, H, W) with H and W multiples of 32, got {tuple(x.shape)}"
            )
        pool3 = self.to_pool3(x)  # (N, 256, H/8, W/8)
        pool4 = self.to_pool4(pool3)  # (N, 512, H/16, W/16)
        pool5 = self.to_pool5(pool4)  # (N, 512, H/32, W/32)
        h = self.dropout(self.relu(self.fc6(pool5)))  # (N, head_channels, H/32, W/32)
        h = self.dropout(self.relu(self.fc7(h)))
        scores = self.score_fr(h)  # (N, num_classes, H/32, W/32)
        if self.upscore2 is not None and self.score_pool4 is not None:
            scores = self.upscore2(scores) + self.score_pool4(pool4)  # (N, K, H/16, W/16)
        if self.upscore_pool4 is not None and self.score_pool3 is not None:
            scores = self.upscore_pool4(scores) + self.score_pool3(pool3)  # (N, K, H/8, W/8)
        return self.upscore_final(scores)  # (N, num_classes, H, W)


def convolutionalize_(model: FCN, vgg: nn.Module) -> FCN:
    """Give ``model`` the weights of a trained VGG-16 (``dlcourse.models.vgg16()`` or
    torchvision's): the conv stack as it is, and fc6/fc7 reshaped into the 7x7 and 1x1
    convolutions that compute the same sums at every position (section 3.1 of the paper).

    The reshaped tensors are views of the source's, so no copy of the 120M weights is made.
    ``model`` needs ``head_channels=4096``. Returns ``model``.
    """
    fc6, fc7 = vgg.get_submodule("classifier.0"), vgg.get_submodule("classifier.3")
    if not (isinstance(fc6, nn.Linear) and isinstance(fc7, nn.Linear)):
        raise ValueError("vgg must be a VGG-16 with Linear layers at classifier.0 and .3")
    if fc6.in_features != 512 * 7 * 7 or model.fc6.out_channels != fc6.out_features:
        raise ValueError(
            f"fc6 must map 512x7x7 to head_channels={model.fc6.out_channels} values, "
            f"got a Linear({fc6.in_features}, {fc6.out_features})"
        )
    # The three stages, side by side, index their layers as VGG's ``features`` does.
    stages = nn.Sequential(*model.to_pool3, *model.to_pool4, *model.to_pool5)
    stages.load_state_dict(vgg.get_submodule("features").state_dict(), assign=True)
    # Linear stores (out, in) with in = C*7*7 flattened in (C, H, W) order: the conv layout.
    model.fc6.weight = nn.Parameter(fc6.weight.data.view(fc6.out_features, 512, 7, 7))
    model.fc6.bias = nn.Parameter(fc6.bias.data)
    model.fc7.weight = nn.Parameter(fc7.weight.data.view(fc7.out_features, fc7.in_features, 1, 1))
    model.fc7.bias = nn.Parameter(fc7.bias.data)
    return model


@register_model()
def fcn32s_vgg16(num_classes: int = 21, head_channels: int = 4096, dropout: float = 0.5) -> FCN:
    """FCN-32s on VGG-16 (Long et al., 2015): one x32 bilinear upsampling."""
    return FCN(num_classes, "32s", head_channels, dropout)


@register_model()
def fcn16s_vgg16(num_classes: int = 21, head_channels: int = 4096, dropout: float = 0.5) -> FCN:
    """FCN-16s on VGG-16: adds the pool4 skip."""
    return FCN(num_classes, "16s", head_channels, dropout)


@register_model()
def fcn8s_vgg16(num_classes: int = 21, head_channels: int = 4096, dropout: float = 0.5) -> FCN:
    """FCN-8s on VGG-16: adds the pool4 and pool3 skips."""
    return FCN(num_classes, "8s", head_channels, dropout)
