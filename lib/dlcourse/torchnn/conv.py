"""A 2-D convolution computed as im2col and one matrix product (assignment 3, in torch).

``torch.nn.functional.unfold`` is im2col: it copies every receptive field of the padded
input into a column, ``(N, C * KH * KW, L)`` with ``L = OH * OW`` windows. The
convolution is then a single matrix product of the filters, flattened to
``(F, C * KH * KW)``, with those columns. With ``groups = G`` the channels split into
``G`` independent convolutions; ``unfold`` lists the rows channel by channel, so the
rows of group ``g`` are the ``g``-th contiguous block of ``C // G * KH * KW`` rows, and
one batched product over the group axis does all of them.

The parameters are named and shaped as in ``torch.nn.Conv2d`` (``weight`` of shape
``(F, C // groups, KH, KW)``, ``bias`` of shape ``(F,)``), so a state dict moves between
the two in both directions, and ``reset_parameters`` draws what ``nn.Conv2d`` draws.
Autograd differentiates the unfold and the product, which gives the backward pass of
the lectures (``dx`` is the ``fold`` of the column gradients: col2im).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from torch import Tensor, nn

from dlcourse.convarith import as_pair, conv_output_shape
from dlcourse.torchnn.init import fan_in_and_fan_out, kaiming_uniform_

__all__ = ["Conv2d", "conv2d_unfold"]


def conv2d_unfold(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """Convolution of ``x`` with ``weight`` through ``F.unfold`` and one matrix product.

    Args:
        x: input, shape ``(N, C, H, W)``.
        weight: filters, shape ``(F, C // groups, KH, KW)``.
        bias: shape ``(F,)``, or None.
        stride, padding, dilation: ints or ``(height, width)`` pairs, as in ``F.conv2d``.
        groups: number of channel groups; ``C`` and ``F`` must be divisible by it.

    Returns:
        ``(N, F, OH, OW)`` with ``OH = (H + 2 * pad - dilation * (KH - 1) - 1) // stride + 1``
        (rounded down, as torch does), likewise ``OW``.
    """
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {tuple(x.shape)}")
    if weight.ndim != 4:
        raise ValueError(
            f"weight must have shape (F, C // groups, KH, KW), got shape {tuple(weight.shape)}"
        )
    n, c, h, w = x.shape
    f, c_per_group, kh, kw = weight.shape
    if c != c_per_group * groups or f % groups:
        raise ValueError(
            f"x has {c} channels and weight has shape {tuple(weight.shape)} with groups={groups}: "
            f"expected C = {c_per_group} * {groups} = {c_per_group * groups} and F divisible "
            f"by {groups}"
        )
    strides = as_pair(stride, "stride")
    pads = as_pair(padding, "padding", minimum=0)
    dilations = as_pair(dilation, "dilation")
    oh, ow = conv_output_shape((h, w), (kh, kw), strides, pads, dilations, exact=False)
    cols = F.unfold(x, (kh, kw), dilation=dilations, padding=pads, stride=strides)
    # (N, C*KH*KW, L) -> (N, G, C/G*KH*KW, L): the rows of each group are contiguous.
    cols = cols.reshape(n, groups, c_per_group * kh * kw, oh * ow)
    filters = weight.reshape(groups, f // groups, c_per_group * kh * kw)  # (G, F/G, K)
    out = torch.matmul(filters, cols)  # (N, G, F/G, L), batched over N and G
    out = out.reshape(n, f, oh, ow)
    if bias is not None:
        out = out + bias.reshape(1, f, 1, 1)
    return out


class Conv2d(nn.Module):
    """``nn.Conv2d`` (zero padding) written as im2col: :func:`conv2d_unfold` with parameters.

    Args:
        in_channels: ``C``.
        out_channels: ``F`` (number of filters).
        kernel_size, stride, padding, dilation: ints or ``(height, width)`` pairs.
        groups: channel groups (``groups = C`` is a depthwise convolution).
        bias: whether to learn a bias of shape ``(F,)``.

    Shapes: input ``(N, C, H, W)``, output ``(N, F, OH, OW)``; ``weight`` is
    ``(F, C // groups, KH, KW)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"groups must be a positive divisor of in_channels ({in_channels}) and "
                f"out_channels ({out_channels}), got {groups}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = as_pair(stride, "stride")
        self.padding = as_pair(padding, "padding", minimum=0)
        self.dilation = as_pair(dilation, "dilation")
        self.groups = groups
        self.weight = nn.Parameter(
            torch.empty(
                out_channels, in_channels // groups, *self.kernel_size, device=device, dtype=dtype
            )
        )
        self.bias: nn.Parameter | None
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw what ``nn.Conv2d`` draws: weight, then bias, uniform in ``+-1/sqrt(fan_in)``.

        torch calls this Kaiming uniform with ``a = sqrt(5)``: the gain
        ``sqrt(2 / (1 + 5))`` times ``sqrt(3 / fan_in)`` is ``1 / sqrt(fan_in)``, with
        ``fan_in = C // groups * KH * KW``. The weight's bound is computed through the
        gain, as torch does, because the rounded results differ in the last bit for
        some fans; same bounds and draw order as torch, so one seed gives its parameters.
        """
        kaiming_uniform_(self.weight, nonlinearity="leaky_relu", negative_slope=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = fan_in_and_fan_out(self.weight)
            with torch.no_grad():
                self.bias.uniform_(-1.0 / math.sqrt(fan_in), 1.0 / math.sqrt(fan_in))

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, H, W)`` -> ``(N, F, OH, OW)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have shape (N, C, H, W) with C = {self.in_channels}, "
                f"got shape {tuple(x.shape)}"
            )
        return conv2d_unfold(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None}"
        )
