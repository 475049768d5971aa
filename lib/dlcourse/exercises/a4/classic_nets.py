"""``classic_nets.ipynb``: LeNet-5, AlexNet and VGG in PyTorch, with their layer tables.

Thin over :mod:`dlcourse.models` (``lenet``, ``alexnet``, ``vgg``), :mod:`dlcourse.models.summary`
and :mod:`dlcourse.convarith`. The notebook fixes the attribute names of every graded module,
because the grader loads the reference's ``state_dict`` into the student's:

* LeNet-5 (LeCun et al., "Gradient-Based Learning Applied to Document Recognition", 1998):
  ``c1, c3, c5`` (5x5 convolutions), ``f6`` and ``output`` (linear), tanh and 2x2 average
  pooling, on 32x32 inputs;
* AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional
  Neural Networks", 2012): ``conv1 ... conv5``, ``fc6, fc7, fc8``; ``groups`` splits conv2,
  conv4 and conv5 into the paper's two towers;
* the VGG block (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale
  Image Recognition", 2015): ``layers``, a ``Sequential`` of ``num_convs`` (3x3 conv, ReLU)
  pairs and a 2x2 max pool.

The tables are built by running the reference modules on the ``meta`` device, where the
forward hooks of :func:`dlcourse.models.summary.layer_table` see every shape and no
arithmetic (nor memory) is spent on the full-sized networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import convarith
from dlcourse.models import alexnet as _alexnet
from dlcourse.models import lenet, summary, vgg

Scalar = int | np.integer | np.ndarray

__all__ = [
    "AlexNet",
    "LeNet5",
    "VGGBlock",
    "alexnet_table",
    "stack_vs_single",
    "vgg16_table",
]

ALEXNET_WIDTHS = (96, 256, 384, 384, 256)  # conv1 ... conv5 of the paper
ALEXNET_HIDDEN = 4096  # fc6 and fc7
POOL5_SIZE = 6  # the adaptive pool in front of fc6
_TABLE_KINDS = ("Conv2d", "MaxPool2d", "Linear")


class LeNet5(lenet.LeNet5):
    """LeNet-5 on (N, in_channels, 32, 32) images -> scores (N, num_classes).

    C1 (6 maps, 5x5), S2 (2x2 average pool), C3 (16 maps, 5x5), S4, C5 (120 maps, 5x5,
    one position on the 5x5 map), F6 (84 units), output; tanh after C1, C3, C5 and F6.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        # The base class named (not super()): the student edition withholds what a
        # reference names, and the library's LeNet5 has the notebook's attribute names.
        lenet.LeNet5.__init__(self, num_classes=num_classes, in_channels=in_channels)


class AlexNet(nn.Module):
    """AlexNet (Krizhevsky et al., 2012): (N, in_channels, H, W), H, W >= 67 -> (N, num_classes).

    conv1 11x11 stride 4, ReLU, LRN, 3x3/2 max pool; conv2 5x5 pad 2 (``groups``), ReLU, LRN,
    pool; conv3 3x3 pad 1; conv4, conv5 3x3 pad 1 (``groups``), each with ReLU; pool; an
    adaptive average pool to 6x6; fc6, fc7 (ReLU, dropout before each) and fc8. ``widths``
    are the filters of conv1 ... conv5 and ``hidden`` the width of fc6 and fc7, so that tiny
    copies can be checked; the defaults are the paper's.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        groups: int = 1,
        widths: Sequence[int] = ALEXNET_WIDTHS,
        hidden: int = ALEXNET_HIDDEN,
    ) -> None:
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"widths must give the filters of conv1 ... conv5, got {widths}")
        w1, w2, w3, w4, w5 = (int(w) for w in widths)
        self.conv1 = nn.Conv2d(in_channels, w1, kernel_size=11, stride=4)
        self.conv2 = nn.Conv2d(w1, w2, kernel_size=5, padding=2, groups=groups)
        self.conv3 = nn.Conv2d(w2, w3, kernel_size=3, padding=1)  # reads both towers
        self.conv4 = nn.Conv2d(w3, w4, kernel_size=3, padding=1, groups=groups)
        self.conv5 = nn.Conv2d(w4, w5, kernel_size=3, padding=1, groups=groups)
        self.fc6 = nn.Linear(w5 * POOL5_SIZE * POOL5_SIZE, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, num_classes)
        self.lrn = nn.LocalResponseNorm(
            _alexnet.LRN_SIZE, alpha=_alexnet.LRN_ALPHA, beta=_alexnet.LRN_BETA, k=_alexnet.LRN_K
        )
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(POOL5_SIZE)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.lrn(F.relu(self.conv1(x))))  # (N, w1, 27, 27) at 227
        x = self.pool(self.lrn(F.relu(self.conv2(x))))  # (N, w2, 13, 13)
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        x = self.pool(F.relu(self.conv5(x)))  # (N, w5, 6, 6)
        x = torch.flatten(self.avgpool(x), 1)  # (N, w5 * 36)
        x = F.relu(self.fc6(self.dropout(x)))
        x = F.relu(self.fc7(self.dropout(x)))
        return self.fc8(x)  # (N, num_classes)


class VGGBlock(nn.Module):
    """A VGG stage: ``num_convs`` x (3x3 conv pad 1, ReLU), then 2x2 max pool stride 2.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H // 2, W // 2). ``layers`` is the
    ``Sequential`` (conv, ReLU, ..., conv, ReLU, pool), indices as torchvision's VGG.
    """

    def __init__(self, in_channels: int, out_channels: int, num_convs: int) -> None:
        super().__init__()
        config: list[vgg.Layer] = [out_channels] * num_convs + ["M"]
        self.layers = vgg.make_layers(config, in_channels=in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _rows(model: nn.Module, input_size: Sequence[int]) -> list[summary.LayerRow]:
    """The conv, max-pool and linear rows of ``model``'s layer table on a meta input."""
    rows = summary.layer_table(model, input_size)
    return [row for row in rows if row.kind in _TABLE_KINDS]


def alexnet_table(image_size: Scalar, in_channels: Scalar, num_classes: Scalar) -> np.ndarray:
    """AlexNet's layer table on a square image, an int array (11, 5).

    Rows: conv1, pool1, conv2, pool2, conv3, conv4, conv5, pool5, fc6, fc7, fc8. Columns:
    output channels (units for fc), height, width (1 for fc), parameters as one tower
    (``groups=1``), parameters with the two towers (``groups=2`` on conv2, conv4, conv5).
    fc6 reads the 256 x 6 x 6 values of the adaptive pool whatever the image size.
    """
    size, channels = int(image_size), int(in_channels)
    columns = []
    for groups in (1, 2):
        with torch.device("meta"):
            model = AlexNet(int(num_classes), channels, groups)
        columns.append(_rows(model, (1, channels, size, size)))
    table = []
    for one, two in zip(*columns, strict=True):
        shape = one.output_shape[1:]
        c, h, w = (*shape, 1, 1) if len(shape) == 1 else shape
        table.append((c, h, w, one.params, two.params))
    return np.array(table, dtype=np.int64)


def stack_vs_single(channels: Scalar, num_layers: Scalar) -> tuple[int, int, int]:
    """``(field, stack, single)``: the receptive field of ``num_layers`` stacked 3x3
    convolutions (stride 1), the weights of that stack with C -> C channels, and those of
    one convolution with the same field (biases not counted): ``2n + 1``, ``9nC^2`` and
    ``(2n + 1)^2 C^2`` (27C^2 against 49C^2 for three layers)."""
    c, n = int(channels), int(num_layers)
    field = convarith.receptive_field([(3, 1)] * n)
    stack = n * convarith.conv_param_count(c, c, 3, bias=False)
    return field, stack, convarith.conv_param_count(c, c, field, bias=False)


def vgg16_table(image_size: Scalar, num_classes: Scalar) -> np.ndarray:
    """VGG-16 (configuration D)'s memory and parameter table, an int array (22, 2).

    Rows: the input, then every conv and max-pool layer in order (conv1_1, conv1_2, pool1,
    ..., conv5_3, pool5), then fc6, fc7, fc8. Columns: the values of the layer's output for
    one image (what the forward pass keeps for the backward pass) and its parameters.
    fc6 reads the flattened pool5 (512 x S/32 x S/32 values on an S x S image).
    """
    size, pooled = int(image_size), int(image_size) // 32
    with torch.device("meta"):
        # The paper's head on the flattened pool5 (no adaptive pool, no dropout: they
        # change no count).
        model = nn.Sequential(
            vgg.make_layers(vgg.CONFIGS["D"]),
            nn.Flatten(),
            nn.Linear(512 * pooled * pooled, 4096),
            nn.ReLU(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, int(num_classes)),
        )
    rows = _rows(model, (1, 3, size, size))
    table = [(3 * size * size, 0)] + [(row.activations, row.params) for row in rows]
    return np.array(table, dtype=np.int64)
