"""References of ``going_deeper.ipynb``: Inception, residual blocks and a small ResNet.

Each class has the notebook's constructor and the notebook's attribute names (the
grader loads the reference's ``state_dict`` into the student's module, so the names
are part of the exercise). They are thin over :mod:`dlcourse.models`:

* :class:`Inception` is :class:`dlcourse.models.googlenet.Inception` with biased
  convolutions and ReLUs, no batch norm (Szegedy et al., "Going Deeper with
  Convolutions", CVPR 2015, Figure 2(b));
* :class:`ResidualBlock` and :class:`Bottleneck` are :mod:`dlcourse.models.resnet`'s
  blocks with the projection shortcut (1x1 convolution of stride ``s`` + batch norm) built
  by the block itself (He et al., "Deep Residual Learning for Image Recognition", CVPR
  2016);
* :class:`PreActBlock` is :class:`dlcourse.models.preact_resnet.PreActBasicBlock` (He et
  al., "Identity Mappings in Deep Residual Networks", ECCV 2016);
* :class:`SmallResNet` stacks :class:`ResidualBlock` stages with ``_make_layer``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from dlcourse.models import googlenet, preact_resnet, resnet
from dlcourse.models._layers import conv1x1, conv3x3

__all__ = [
    "Bottleneck",
    "Inception",
    "PreActBlock",
    "ResidualBlock",
    "SmallResNet",
    "inception_macs",
]


def inception_macs(
    in_channels: int,
    ch1x1: int,
    ch3x3red: int,
    ch3x3: int,
    ch5x5red: int,
    ch5x5: int,
    pool_proj: int,
    height: int,
    width: int,
) -> np.ndarray:
    """Multiply-adds of one Inception module on a ``height`` x ``width`` map (stride 1,
    "same" padding, biases not counted).

    Returns ``[with_reductions, without_reductions]`` (int64, shape (2,)): the module of
    Figure 2(b), and the naive module of Figure 2(a) with the same 1x1, 3x3 and 5x5 output
    widths, whose 3x3 and 5x5 convolutions read all ``in_channels`` and whose pooling branch
    passes the pooled input through (no 1x1 projection, so no multiply-adds).
    """
    c = int(in_channels)
    per_position_with = (
        c * ch1x1
        + c * ch3x3red + 9 * ch3x3red * ch3x3
        + c * ch5x5red + 25 * ch5x5red * ch5x5
        + c * pool_proj
    )  # fmt: skip
    per_position_without = c * ch1x1 + 9 * c * ch3x3 + 25 * c * ch5x5
    positions = int(height) * int(width)
    return np.array(
        [per_position_with * positions, per_position_without * positions], dtype=np.int64
    )


class _ConvReLU(nn.Sequential):
    """A biased convolution with "same" padding, then ReLU, named ``conv`` and ``relu``.

    (N, in_channels, H, W) -> (N, out_channels, H, W) for odd ``kernel_size``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, **_: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.relu = nn.ReLU()


class Inception(googlenet.Inception):
    """The Inception module with 1x1 reductions, without batch norm (the paper's).

    (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W). Branches
    ``branch1`` (1x1), ``branch2`` (1x1 reduce, 3x3), ``branch3`` (1x1 reduce, 5x5),
    ``branch4`` (3x3 max pool stride 1, 1x1 projection); each convolution is a module
    with a biased ``conv`` followed by a ReLU.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
    ) -> None:
        super().__init__(
            in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
            conv_block=_ConvReLU, branch3_kernel=5,
        )  # fmt: skip


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    """The shortcut's projection (1x1 conv of stride ``stride`` + BN) where the shapes
    differ, else None (the identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class ResidualBlock(resnet.BasicBlock):
    """The basic residual block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    ``downsample`` is a 1x1 convolution of stride ``stride`` + batch norm when ``stride``
    is not 1 or the channel count changes, else None (identity shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)
        # Made after the branch, as the notebook does, so a seed gives the same weights.
        self.downsample = _projection(in_channels, out_channels, stride)


class Bottleneck(resnet.Bottleneck):
    """The bottleneck block: 1x1 reduce to ``planes``, 3x3 (stride), 1x1 expand to
    ``planes * 4``, each followed by batch norm; add the shortcut; ReLU.

    (N, in_channels, H, W) -> (N, 4 * planes, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__(in_channels, planes, stride)
        self.downsample = _projection(in_channels, planes * self.expansion, stride)


class PreActBlock(preact_resnet.PreActBasicBlock):
    """Pre-activation basic block: conv2(relu(bn2(conv1(relu(bn1(x)))))) + shortcut.

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    ``shortcut`` is a bare 1x1 convolution of stride ``stride`` applied to relu(bn1(x))
    where the shapes change, else None (then the shortcut is x itself).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)


class SmallResNet(nn.Module):
    """A ResNet for small images: stem, one stage of :class:`ResidualBlock` per width,
    global average pool, linear classifier.

    (N, in_channels, H, W) -> (N, num_classes). The stem is ``conv1`` (3x3, stride 1,
    no bias) + ``bn1`` + ReLU to ``widths[0]`` channels; stage ``i`` (``stages[i]``) has
    ``blocks[i]`` blocks of ``widths[i]`` channels, the first of which has stride 2 for
    every stage but the first; ``fc`` maps ``widths[-1]`` pooled features to the classes.
    ``block`` is the block class (``ResidualBlock`` when None; the notebook passes a plain
    block without shortcut to compare the two).
    """

    def __init__(
        self,
        widths: Sequence[int],
        blocks: Sequence[int],
        num_classes: int,
        in_channels: int = 3,
        block: type[nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if len(widths) != len(blocks) or not widths:
            raise ValueError(
                f"widths and blocks must be non-empty and equally long, got widths="
                f"{list(widths)}, blocks={list(blocks)}"
            )
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.block = ResidualBlock if block is None else block
        self.in_channels = widths[0]
        self.stages = nn.Sequential(
            *(
                self._make_layer(width, count, stride=1 if i == 0 else 2)
                for i, (width, count) in enumerate(zip(widths, blocks, strict=True))
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)

    def _make_layer(self, out_channels: int, num_blocks: int, stride: int) -> nn.Sequential:
        """One stage: the first block strides and projects as needed, the rest keep the shape."""
        layers = [self.block(self.in_channels, out_channels, stride)]
        layers += [self.block(out_channels, out_channels) for _ in range(1, num_blocks)]
        self.in_channels = out_channels
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))  # (N, widths[0], H, W)
        x = self.stages(x)  # (N, widths[-1], H / 2**(stages - 1), ...)
        return self.fc(torch.flatten(self.pool(x), 1))  # (N, num_classes)
