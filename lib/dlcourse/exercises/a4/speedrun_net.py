"""``speedrun_net.ipynb``: the network of the fast CIFAR-10 training records, and two
CPU-checkable facts about training it fast on a GPU (channels-last strides and the
dynamic loss-scaling rule of mixed precision).

The network follows David Page's "How to train your ResNet" series (Myrtle.ai, 2018),
which took the DAWNBench CIFAR-10 time-to-94% task from minutes to seconds on one GPU:
a conv-bn-relu "prep" layer, three stages that each double the width and halve the map
with a 2x2 max pool (the first and last with a residual pair of conv-bn-relu units), a
global max pool and a linear head without bias whose scores are multiplied by a small
constant (0.125). At ``width = 64`` it is the net often called "ResNet-9".

Shapes for ``x (N, C, H, W)`` with ``H, W >= 8``::

    prep     ConvBN(C, w)               (N, w,  H,    W)
    layer1   ConvBN(w, 2w, pool) + Res  (N, 2w, H/2,  W/2)
    layer2   ConvBN(2w, 4w, pool)       (N, 4w, H/4,  W/4)
    layer3   ConvBN(4w, 8w, pool) + Res (N, 8w, H/8,  W/8)
    pool     global max                 (N, 8w)
    fc       linear, no bias, * weight  (N, num_classes)

The module classes are thin over torch.nn and the library's ``conv3x3``; the attribute
names are the ones the notebook asks for, so the trusted side's ``state_dict`` loads into
the student's classes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.models._layers import conv3x3

__all__ = [
    "ConvBN",
    "Residual",
    "SpeedrunNet",
    "channels_last_strides",
    "update_loss_scale",
]


class ConvBN(nn.Module):
    """3x3 convolution (no bias, padding 1) -> batch norm -> ReLU -> optional 2x2 max pool.

    ``(N, in_channels, H, W) -> (N, out_channels, H, W)``, or ``(N, out_channels, H // 2,
    W // 2)`` with ``pool``. Layers: ``conv``, ``bn``.
    """

    def __init__(self, in_channels: int, out_channels: int, pool: bool = False) -> None:
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels)
        self.pool = bool(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.conv(x)))
        return F.max_pool2d(out, 2) if self.pool else out


class Residual(nn.Module):
    """``x + res2(res1(x))`` with two ConvBN units of ``channels`` channels (no pool).

    ``(N, channels, H, W) -> (N, channels, H, W)``. Page's residual pair: both units end in
    a ReLU and nothing follows the sum (unlike He et al.'s basic block).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.res1 = ConvBN(channels, channels)
        self.res2 = ConvBN(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res2(self.res1(x))


class SpeedrunNet(nn.Module):
    """The speed-run ResNet (Page, "How to train your ResNet", 2018); see the module doc.

    ``(N, in_channels, H, W) -> (N, num_classes)`` scores; ``H, W >= 8``. Layers:
    ``prep``, ``layer1 = Sequential(ConvBN(pool), Residual)``, ``layer2 = ConvBN(pool)``,
    ``layer3 = Sequential(ConvBN(pool), Residual)``, ``fc`` (bias-free); the scores are
    ``weight * fc(max over positions)``.
    """

    def __init__(
        self, width: int = 64, num_classes: int = 10, in_channels: int = 3, weight: float = 0.125
    ) -> None:
        super().__init__()
        w = int(width)
        self.prep = ConvBN(in_channels, w)
        self.layer1 = nn.Sequential(ConvBN(w, 2 * w, pool=True), Residual(2 * w))
        self.layer2 = ConvBN(2 * w, 4 * w, pool=True)
        self.layer3 = nn.Sequential(ConvBN(4 * w, 8 * w, pool=True), Residual(8 * w))
        self.fc = nn.Linear(8 * w, num_classes, bias=False)
        self.weight = float(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.weight * self.fc(torch.amax(out, dim=(2, 3)))


def channels_last_strides(shape: np.ndarray | tuple[int, ...]) -> np.ndarray:
    """Strides, in elements, of an ``(N, C, H, W)`` tensor stored channels-last (NHWC).

    ``shape``: 4 ints. Returns an int64 array ``(4,)`` in the axis order N, C, H, W:
    ``(H*W*C, 1, W*C, C)``, what ``tensor.stride()`` gives after
    ``.to(memory_format=torch.channels_last)``.
    """
    size = tuple(int(s) for s in np.asarray(shape).reshape(-1))
    if len(size) != 4:
        raise ValueError(f"shape must have 4 entries (N, C, H, W), got {size}")
    strides = torch.empty(size, memory_format=torch.channels_last).stride()
    return np.asarray(strides, dtype=np.int64)


def update_loss_scale(
    scale: float,
    found_inf: bool,
    good_steps: int,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[float, int]:
    """One step of dynamic loss scaling (``torch.amp.GradScaler.update``).

    An overflow (``found_inf``) multiplies the scale by ``backoff_factor`` and resets the
    count of good steps; otherwise the count grows by one, and when it reaches
    ``growth_interval`` the scale is multiplied by ``growth_factor`` and the count restarts
    at 0. Returns ``(new_scale, new_good_steps)``. Computed by PyTorch's own kernel.
    """
    scale_t = torch.tensor([float(scale)], dtype=torch.float32)
    tracker = torch.tensor([int(good_steps)], dtype=torch.int32)
    inf_t = torch.tensor([1.0 if bool(found_inf) else 0.0], dtype=torch.float32)
    torch._amp_update_scale_(
        scale_t, tracker, inf_t, float(growth_factor), float(backoff_factor), int(growth_interval)
    )
    return float(scale_t.item()), int(tracker.item())
