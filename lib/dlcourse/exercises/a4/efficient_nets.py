"""``efficient_nets.ipynb``: depthwise-separable convolution and its cost, MobileNet v1's
body table under a width multiplier, MobileNet v2's inverted residual,
squeeze-and-excitation, and DenseNet's layers, blocks and channel counts.

The graded classes are thin over the library's models (:mod:`dlcourse.models`), whose
attribute names the notebook fixes so that the trusted side's ``state_dict`` loads into
the student's module:

- Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
  Applications", 2017 (:mod:`dlcourse.models.mobilenet_v1`);
- Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018
  (:mod:`dlcourse.models.mobilenet_v2`);
- Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018 (:mod:`dlcourse.models.senet`);
- Huang et al., "Densely Connected Convolutional Networks", CVPR 2017
  (:mod:`dlcourse.models.densenet`).

The counting functions take their numbers as 0-d arrays (as the checks pass them) and
return NumPy values; they are built on :mod:`dlcourse.convarith`.
"""

from __future__ import annotations

import numpy as np
import torch

from dlcourse import convarith
from dlcourse.models import densenet, mobilenet_v1, mobilenet_v2, senet

Scalar = int | float | np.ndarray

__all__ = [
    "DenseBlock",
    "DenseLayer",
    "DepthwiseSeparable",
    "InvertedResidual",
    "SqueezeExcitation",
    "densenet_channels",
    "mobilenet_v1_table",
    "separable_cost",
]

KERNEL = 3  # every depthwise filter of MobileNet is 3x3
STEM_CHANNELS = 32  # MobileNet v1's first, full 3x3 convolution (stride 2)


def separable_cost(
    in_channels: Scalar, out_channels: Scalar, kernel_size: Scalar, height: Scalar, width: Scalar
) -> tuple[int, int, float]:
    """``(standard, separable, ratio)``: mult-adds of a ``kernel_size`` convolution from
    ``in_channels`` (M) to ``out_channels`` (N) maps on a ``height x width`` output, of
    its depthwise-separable replacement (depthwise ``D_K x D_K`` then pointwise 1x1), and
    their ratio ``separable / standard = 1/N + 1/D_K^2`` (Howard et al., 2017, eq. 5).
    """
    m, n, k = int(in_channels), int(out_channels), int(kernel_size)
    size = (int(height), int(width))
    standard = convarith.conv_macs(m, n, k, size)
    separable = convarith.conv_macs(m, m, k, size, groups=m) + convarith.conv_macs(m, n, 1, size)
    return standard, separable, separable / standard


class DepthwiseSeparable(mobilenet_v1.DepthwiseSeparable):
    """Depthwise 3x3 (bn, relu) then pointwise 1x1 (bn, relu), as ``depthwise`` and
    ``pointwise``, each ``nn.Sequential(conv, bn, relu)`` with bias-free convolutions.

    ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.
    """


def mobilenet_v1_table(alpha: Scalar, resolution: Scalar, num_classes: Scalar) -> np.ndarray:
    """MobileNet v1's layer table at width multiplier ``alpha`` on ``resolution`` pixels.

    One row per layer with weights: the stem convolution, then for each of the 13
    separable blocks its depthwise and its pointwise convolution, then the classifier
    (28 rows). Columns: ``(output size, output channels, parameters, mult-adds)``, the
    size being the side of the square output map (1 for the classifier). Every channel
    count is ``int(alpha * c)``; convolutions have no bias (batch norm follows, its
    parameters not counted); the classifier has weights and biases. The table's
    "Conv dw / s2" on the 7x7 map is taken with stride 1, as its next row's size and the
    paper's 4.2M parameters require. Returns an int64 array ``(28, 4)``.
    """
    size = int(resolution)
    if size < 1:
        raise ValueError(f"resolution must be >= 1, got {size}")
    alpha_value = float(alpha)
    if alpha_value <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha_value}")
    rows = []

    def add(c_in: int, c_out: int, kernel: int, stride: int, groups: int = 1) -> None:
        nonlocal size
        size = convarith.conv_output_size(size, kernel, stride, (kernel - 1) // 2)
        params = convarith.conv_param_count(c_in, c_out, kernel, groups, bias=False)
        macs = convarith.conv_macs(c_in, c_out, kernel, size, groups)
        rows.append((size, c_out, params, macs))

    channels = int(alpha_value * STEM_CHANNELS)
    add(3, channels, KERNEL, 2)
    for width, stride in mobilenet_v1.BODY:
        out_channels = int(alpha_value * width)
        add(channels, channels, KERNEL, stride, groups=channels)
        add(channels, out_channels, 1, 1)
        channels = out_channels
    k = int(num_classes)
    rows.append((1, k, (channels + 1) * k, channels * k))
    return np.array(rows, dtype=np.int64)


class InvertedResidual(mobilenet_v2.InvertedResidual):
    """Expand 1x1 (bn, relu6), depthwise 3x3 (bn, relu6), linear 1x1 projection (bn), plus
    the input when ``stride == 1`` and ``in_channels == out_channels``.

    ``self.conv = nn.Sequential([expand,] depthwise, project conv, project bn)``, the
    expansion ``nn.Sequential(conv, bn, ReLU6)`` left out when ``expand_ratio == 1``.
    ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.
    """


class SqueezeExcitation(senet.SqueezeExcitation):
    """Global average pool, ``fc1`` (C -> C // reduction), relu, ``fc2`` (-> C), sigmoid,
    and each channel of the input scaled by its gate: ``(N, C, H, W) -> (N, C, H, W)``."""


class DenseLayer(densenet.DenseLayer):
    """bn-relu-conv1x1 (to ``bn_size * growth_rate``), bn-relu-conv3x3 (to ``growth_rate``)
    on the concatenated earlier maps, given as ONE tensor ``(N, in_channels, H, W)``;
    returns the ``growth_rate`` new maps ``(N, growth_rate, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward([x])


class DenseBlock(densenet.DenseBlock):
    """``num_layers`` dense layers named ``denselayer1``...; each sees the concatenation of
    the input and every earlier layer's output:
    ``(N, in_channels, H, W) -> (N, in_channels + num_layers * growth_rate, H, W)``."""


def densenet_channels(
    in_channels: Scalar, growth_rate: Scalar, block_config: np.ndarray, compression: Scalar
) -> np.ndarray:
    """Channels after each dense block and each transition of a DenseNet body.

    A block of ``l`` layers turns ``k0`` channels into ``k0 + l * growth_rate``; a
    transition (between blocks, not after the last) keeps ``int(compression * c)``.
    Returns an int64 array of length ``2 * len(block_config) - 1``: block 1, transition 1,
    block 2, ..., the last block.
    """
    channels = int(in_channels)
    counts = []
    layers = [int(n) for n in np.asarray(block_config).reshape(-1)]
    for i, num_layers in enumerate(layers):
        channels += num_layers * int(growth_rate)
        counts.append(channels)
        if i != len(layers) - 1:
            channels = int(channels * float(compression))
            counts.append(channels)
    return np.array(counts, dtype=np.int64)
