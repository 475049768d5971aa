"""LeNet-5: LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proceedings of the IEEE, 1998.

The lectures' sizes on a 32x32 grey image (5x5 convolutions at stride 1, 2x2 average
pooling at stride 2, tanh), the pattern [CONV-POOL-CONV-POOL-CONV-FC]::

    input   (N, 1, 32, 32)
    C1      (N, 6, 28, 28)    6 maps, 5x5 kernels               156 parameters
    S2      (N, 6, 14, 14)    2x2 average pooling
    C3      (N, 16, 10, 10)   16 maps, 5x5 kernels              2,416 (full) / 1,516 (table)
    S4      (N, 16, 5, 5)     2x2 average pooling
    C5      (N, 120, 1, 1)    120 maps, 5x5 kernels             48,120 parameters
    F6      (N, 84)           fully connected                   10,164 parameters
    output  (N, num_classes)  fully connected                   850 parameters (10 classes)

Two simplifications of the paper, the usual ones: S2 and S4 are plain average pools (the
paper gives each map a trainable coefficient and bias, 12 and 32 parameters), and the
output is a linear layer (the paper uses 84-dimensional Euclidean RBF units). C3 connects
every S2 map to every C3 map by default; ``connection_table=True`` uses the paper's Table I,
in which each C3 map sees a subset of 3, 4 or 6 S2 maps (1,516 parameters, as the paper
counts them).
"""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.models.registry import register_model

# Table I of the paper: which of the six S2 maps each of the sixteen C3 maps reads.
# Maps 0-5 read three neighbouring maps, 6-11 four neighbouring, 12-14 four non-neighbouring
# maps, and map 15 reads all six; the asymmetry forces the maps to learn different features.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class TableConv2d(nn.Module):
    """A convolution whose output map ``j`` reads only the input maps ``table[j]``.

    Shapes: ``x`` (N, C_in, H, W) -> (N, len(table), H - k + 1, W - k + 1). One small
    convolution per output map, so the parameters are exactly those the table connects.
    """

    def __init__(self, table: tuple[tuple[int, ...], ...], kernel_size: int) -> None:
        super().__init__()
        self.table = table
        for j, inputs in enumerate(table):
            # Buffers, so the index tensors follow the module to its device.
            self.register_buffer(f"index{j}", torch.tensor(inputs), persistent=False)
        self.maps = nn.ModuleList(nn.Conv2d(len(inputs), 1, kernel_size) for inputs in table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [
            conv(x.index_select(1, getattr(self, f"index{j}"))) for j, conv in enumerate(self.maps)
        ]
        return torch.cat(outs, dim=1)


class LeNet5(nn.Module):
    """LeNet-5 on (N, in_channels, 32, 32) images; returns scores (N, num_classes).

    The layers are named after the paper's (``c1``, ``s2``, ``c3``, ``s4``, ``c5``, ``f6``)
    and ``output``.
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, connection_table: bool = False
    ) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(in_channels, 6, kernel_size=5)
        self.s2 = nn.AvgPool2d(kernel_size=2, stride=2)
        self.c3: nn.Module = (
            TableConv2d(C3_TABLE, kernel_size=5)
            if connection_table
            else nn.Conv2d(6, 16, kernel_size=5)
        )
        self.s4 = nn.AvgPool2d(kernel_size=2, stride=2)
        self.c5 = nn.Conv2d(16, 120, kernel_size=5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.act = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(self.act(self.c1(x)))  # (N, 6, 14, 14)
        x = self.s4(self.act(self.c3(x)))  # (N, 16, 5, 5)
        x = self.act(self.c5(x))  # (N, 120, 1, 1)
        x = self.act(self.f6(torch.flatten(x, 1)))  # (N, 84)
        return self.output(x)  # (N, num_classes)


@register_model()
def lenet5(num_classes: int = 10, in_channels: int = 1, connection_table: bool = False) -> LeNet5:
    """LeNet-5 (LeCun et al., 1998) for 32x32 inputs; see :class:`LeNet5`."""
    return LeNet5(num_classes, in_channels, connection_table)
