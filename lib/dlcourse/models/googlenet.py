"""GoogLeNet (Inception v1): Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke and
Rabinovich, "Going Deeper with Convolutions", CVPR 2015.

The Inception module runs four branches side by side and concatenates them on channels:
a 1x1 convolution, a 1x1 reduction then a 3x3, a 1x1 reduction then a 5x5, and a 3x3 max
pool then a 1x1 projection. The 1x1 reductions are the point: they shrink the channels
before the expensive 3x3 and 5x5 convolutions (module 3a: 163,328 weights; without its
reductions, 192 -> 128 3x3 and 192 -> 32 5x5 alone would cost 374,784).

Shapes on a 224x224 input (Table 1 of the paper)::

    conv1 7x7/2        (N, 64, 112, 112) -> maxpool (N, 64, 56, 56)
    conv2 1x1, conv3   (N, 192, 56, 56)  -> maxpool (N, 192, 28, 28)
    inception 3a, 3b   (N, 256, 28, 28), (N, 480, 28, 28) -> maxpool (N, 480, 14, 14)
    inception 4a-4e    (N, 512 | 512 | 512 | 528 | 832, 14, 14) -> maxpool (N, 832, 7, 7)
    inception 5a, 5b   (N, 832, 7, 7), (N, 1024, 7, 7)
    avgpool, dropout   (N, 1024)
    fc                 (N, num_classes)

The auxiliary classifiers (``aux_logits=True``) read 4a and 4d: a 5x5/3 average pool to
4x4 (written as an adaptive pool, equal at 14x14), a 1x1 convolution to 128 channels,
fc 2048 -> 1024, dropout 0.7, fc 1024 -> num_classes. In training mode the model then
returns ``GoogLeNetOutputs(logits, aux1, aux2)``; in eval mode, the logits alone.

The paper's network is the default: 5x5 convolutions in the third branch, convolutions
with biases and no batch norm (it predates batch norm), local response normalization after
the first pool and after conv3. torchvision's ``googlenet`` differs in two ways, both
options here: it puts a 3x3 kernel in the branch the paper calls 5x5 (a known slip,
pytorch/vision issue 906), ``branch3_kernel=3``, and follows every convolution with batch
norm (eps 1e-3) instead of a bias and LRN, ``batch_norm=True``. With both, the
``state_dict`` keys and the outputs equal torchvision's (its ``transform_input=False``).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import torch
from torch import nn

from dlcourse.models.alexnet import LRN_ALPHA, LRN_BETA, LRN_K, LRN_SIZE
from dlcourse.models.registry import register_model


class GoogLeNetOutputs(NamedTuple):
    """Training-mode outputs with auxiliary classifiers, each (N, num_classes)."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


class BasicConv2d(nn.Module):
    """Convolution, then batch norm (or a bias where there is no norm), then ReLU.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W') as the convolution's
    ``kwargs`` (kernel_size, stride, padding) decide.
    """

    def __init__(
        self, in_channels: int, out_channels: int, batch_norm: bool = False, **kwargs: Any
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=not batch_norm, **kwargs)
        self.bn: nn.Module = (
            nn.BatchNorm2d(out_channels, eps=0.001) if batch_norm else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """The Inception module with 1x1 reductions (Figure 2(b) of the paper).

    Shapes: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    ``branch3_kernel`` is the kernel of the branch the paper calls 5x5 (5, or torchvision's 3).
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
        conv_block: Any = BasicConv2d,
        branch3_kernel: int = 5,
    ) -> None:
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            conv_block(ch5x5red, ch5x5, kernel_size=branch3_kernel, padding=branch3_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            # ceil_mode as torchvision: it changes nothing at stride 1 with padding 1.
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # (N, sum of the branch widths, H, W)


class InceptionAux(nn.Module):
    """Auxiliary classifier: (N, in_channels, H, W) -> (N, num_classes)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        conv_block: Any = BasicConv2d,
        dropout: float = 0.7,
    ) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x))  # (N, 128, 4, 4)
        x = self.relu(self.fc1(torch.flatten(x, 1)))  # (N, 1024)
        return self.fc2(self.dropout(x))  # (N, num_classes)


def _lrn(enabled: bool) -> nn.Module:
    return nn.LocalResponseNorm(LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K) if enabled else nn.Identity()


class GoogLeNet(nn.Module):
    """GoogLeNet: (N, 3, H, W) with H, W >= 15 -> logits (N, num_classes); see the module."""

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = False,
        batch_norm: bool = False,
        branch3_kernel: int = 5,
        dropout: float = 0.4,
        dropout_aux: float = 0.7,
    ) -> None:
        super().__init__()
        if branch3_kernel not in (3, 5):
            raise ValueError(
                f"branch3_kernel must be 5 (the paper) or 3 (torchvision), got {branch3_kernel}"
            )
        conv = partial(BasicConv2d, batch_norm=batch_norm)
        block = partial(Inception, conv_block=conv, branch3_kernel=branch3_kernel)
        self.aux_logits = aux_logits
        self.conv1 = conv(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = _lrn(not batch_norm)
        self.conv2 = conv(64, 64, kernel_size=1)
        self.conv3 = conv(64, 192, kernel_size=3, padding=1)
        self.lrn2 = _lrn(not batch_norm)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        # (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj): Table 1 of the paper.
        self.inception3a = block(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = block(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = block(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = block(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = block(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = block(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = block(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = block(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = block(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = InceptionAux(512, num_classes, conv, dropout_aux) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes, conv, dropout_aux) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        x = self.lrn1(self.maxpool1(self.conv1(x)))  # (N, 64, H/4, W/4)
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))  # (N, 192, H/8, W/8)
        x = self.inception3b(self.inception3a(x))  # (N, 480, H/8, W/8)
        x = self.inception4a(self.maxpool3(x))  # (N, 512, H/16, W/16)
        aux_in1 = x
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, H/16, W/16)
        aux_in2 = x
        x = self.maxpool4(self.inception4e(x))  # (N, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))  # (N, 1024, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 1024)
        logits = self.fc(self.dropout(x))  # (N, num_classes)
        if self.training and self.aux1 is not None and self.aux2 is not None:
            return GoogLeNetOutputs(logits, self.aux1(aux_in1), self.aux2(aux_in2))
        return logits


@register_model()
def googlenet(
    num_classes: int = 1000,
    aux_logits: bool = False,
    batch_norm: bool = False,
    branch3_kernel: int = 5,
    dropout: float = 0.4,
) -> GoogLeNet:
    """GoogLeNet (Szegedy et al., 2015); the paper's by default.

    ``batch_norm=True, branch3_kernel=3, dropout=0.2`` (with ``aux_logits=True``) builds
    torchvision's ``googlenet``.
    """
    return GoogLeNet(num_classes, aux_logits, batch_norm, branch3_kernel, dropout)
