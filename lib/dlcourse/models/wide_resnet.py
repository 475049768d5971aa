"""Wide ResNets: Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016.

Fewer, wider residual blocks: "a wide 16-layer deep network has the same accuracy as a
1000-layer thin deep network" (the lectures). Two families:

- ``wrn_28_10`` (and :func:`wide_resnet_cifar` for any WRN-d-k): the paper's CIFAR network.
  A 3x3 stem of 16 channels, three stages of ``(d - 4) / 6`` pre-activation basic blocks
  ("B(3,3)") of widths ``16k, 32k, 64k`` at 32x32, 16x16 and 8x8, optional dropout between
  each block's convolutions, then bn-relu, pool and fc.
  ``(N, 3, 32, 32) -> (N, num_classes)``; WRN-28-10 has 36.5M parameters (paper, Table 2).
- ``wide_resnet50_2`` / ``wide_resnet101_2``: ImageNet bottleneck ResNets whose inner 3x3
  width is doubled (torchvision's variant; the paper's ImageNet WRN-50-2 differs only there).
"""

from __future__ import annotations

from typing import Any

from dlcourse.models.preact_resnet import PreActBasicBlock, PreActResNet
from dlcourse.models.registry import register_model
from dlcourse.models.resnet import Bottleneck, ResNet


def wide_resnet_cifar(
    depth: int, widen_factor: int, num_classes: int = 10, dropout: float = 0.0, **kwargs: Any
) -> PreActResNet:
    """WRN-``depth``-``widen_factor`` for 32x32 images; ``depth = 6 n + 4`` (n blocks a stage)."""
    if depth < 10 or (depth - 4) % 6 != 0:
        raise ValueError(f"depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {depth}")
    if widen_factor < 1:
        raise ValueError(f"widen_factor must be >= 1, got {widen_factor}")
    n = (depth - 4) // 6
    return PreActResNet(
        PreActBasicBlock,
        [n, n, n],
        widths=(16 * widen_factor, 32 * widen_factor, 64 * widen_factor),
        num_classes=num_classes,
        stem="cifar",
        stem_channels=16,
        dropout=dropout,
        **kwargs,
    )


@register_model()
def wrn_28_10(**kwargs: Any) -> PreActResNet:
    """WRN-28-10: 4 blocks a stage, widths 160, 320, 640; 36,479,194 parameters (10 classes)."""
    return wide_resnet_cifar(28, 10, **kwargs)


@register_model()
def wrn_16_4(**kwargs: Any) -> PreActResNet:
    """WRN-16-4, a CPU-sized wide network: 2 blocks a stage, widths 64, 128, 256 (2.7M)."""
    return wide_resnet_cifar(16, 4, **kwargs)


@register_model()
def wide_resnet50_2(**kwargs: Any) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with the bottlenecks' inner width doubled (68,883,240)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], width_per_group=128, **kwargs)


@register_model()
def wide_resnet101_2(**kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with the bottlenecks' inner width doubled (126,886,696)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], width_per_group=128, **kwargs)
