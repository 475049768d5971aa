"""Convolution arithmetic: output sizes, parameter counts, receptive fields, multiply-adds.

These are the pen-and-paper formulas of the lectures, written once so that the layers
and the notebooks agree. For one spatial dimension, a window of ``kernel`` taps spread
``dilation`` apart covers ``dilation * (kernel - 1) + 1`` input positions (its *effective*
size), and sliding it by ``stride`` over an input of ``size`` positions padded by ``pad``
on both sides gives::

    out = (size + 2*pad - dilation*(kernel - 1) - 1) / stride + 1

With ``dilation = 1`` this is the familiar ``(size + 2*pad - kernel) / stride + 1``, e.g.
a 5x5 filter on a 32x32 image without padding gives ``32 - 5 + 1 = 28``.

When the division is not exact, the last window would hang over the border. Like PyTorch
and every other framework, the library then rounds down and drops the leftover rows and
columns (ResNet's stride-2 layers: ``(56 - 1) / 2 + 1 = 28.5`` gives 28). Pass
``exact=True`` to refuse such a configuration instead: :func:`conv_output_size` then
says why, showing the arithmetic and the nearest padding or kernel size that fits.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import SupportsIndex, cast

__all__ = [
    "as_pair",
    "conv_macs",
    "conv_output_shape",
    "conv_output_size",
    "conv_param_count",
    "receptive_field",
]


def _as_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` as a Python int ``>= minimum``; refuse floats and booleans."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got the boolean {value}")
    try:
        # A value without __index__ raises TypeError here, which becomes the ValueError.
        number = operator.index(cast(SupportsIndex, value))
    except TypeError:
        raise ValueError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}"
        ) from None
    if number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {number}")
    return number


def as_pair(value: int | Sequence[int], name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``(height_value, width_value)`` from an int or a pair of ints.

    ``stride=2`` means ``(2, 2)``; ``pad=(1, 2)`` pads rows by 1 and columns by 2.
    """
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or a pair (height, width), got {len(value)} values: "
                f"{tuple(value)}"
            )
        return (
            _as_int(value[0], f"{name}[0]", minimum),
            _as_int(value[1], f"{name}[1]", minimum),
        )
    number = _as_int(value, name, minimum)
    return number, number


def _formula(size: int, kernel: int, stride: int, pad: int, dilation: int) -> str:
    """The output-size formula with the numbers filled in, as the lectures write it."""
    covered = f"{kernel}" if dilation == 1 else f"{dilation}*({kernel} - 1) - 1"
    return f"({size} + 2*{pad} - {covered}) / {stride} + 1"


def _fixes(size: int, kernel: int, stride: int, pad: int, dilation: int) -> str:
    """Suggest the nearest padding and kernel size that make the division exact."""

    def fits(k: int, p: int) -> bool:
        span = size + 2 * p - dilation * (k - 1) - 1
        return span >= 0 and span % stride == 0

    hints = []
    # Padding adds 2 positions per step, so with an even stride it can never repair
    # an odd remainder; search one full stride period around the current value.
    pads = [p for p in range(max(0, pad - stride), pad + stride + 1) if fits(kernel, p)]
    if pads:
        best = min(pads, key=lambda p: (abs(p - pad), p))
        hints.append(f"pad={best}")
    kernels = [k for k in range(max(1, kernel - stride), kernel + stride + 1) if fits(k, pad)]
    if kernels:
        best = min(kernels, key=lambda k: (abs(k - kernel), k))
        hints.append(f"kernel={best}")
    hints.append("stride=1")
    return ", ".join(hints)


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    pad: int = 0,
    dilation: int = 1,
    *,
    exact: bool = False,
) -> int:
    """Number of positions a sliding window produces along one spatial dimension.

    Parameters are the input ``size``, the window ``kernel`` size, the ``stride``, the
    zero padding ``pad`` added on *each* side and the ``dilation`` (spacing of the taps).
    By default the size is rounded down as in PyTorch, dropping the leftover rows or
    columns of a window that does not tile the padded input. With ``exact=True`` such a
    window raises ``ValueError`` showing the arithmetic, e.g.
    ``(32 + 2*0 - 5) / 2 + 1 = 14.5 is not an integer``.

    >>> conv_output_size(32, 5)  # a 5x5 filter on a 32x32 image
    28
    >>> conv_output_size(7, 3, stride=2)
    3
    >>> conv_output_size(56, 1, stride=2)  # ResNet's 1x1 stride-2 shortcut: 28.5 -> 28
    28
    """
    size = _as_int(size, "size", 1)
    kernel = _as_int(kernel, "kernel", 1)
    stride = _as_int(stride, "stride", 1)
    pad = _as_int(pad, "pad", 0)
    dilation = _as_int(dilation, "dilation", 1)
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if span < 0:
        effective = dilation * (kernel - 1) + 1
        raise ValueError(
            f"{_formula(size, kernel, stride, pad, dilation)} = {span / stride + 1:g} "
            f"is less than 1: the window covers {effective} positions but the padded input "
            f"has only {size} + 2*{pad} = {size + 2 * pad}; use a smaller kernel or more padding"
        )
    if exact and span % stride:
        raise ValueError(
            f"{_formula(size, kernel, stride, pad, dilation)} = {span / stride + 1:g} is not "
            f"an integer: stepping by {stride} leaves the last {span % stride} position(s) of "
            f"the padded input uncovered. Try {_fixes(size, kernel, stride, pad, dilation)}, "
            f"or drop exact=True to round down to {span // stride + 1} as PyTorch does"
        )
    return span // stride + 1


def conv_output_shape(
    shape: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    pad: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    exact: bool = False,
) -> tuple[int, int]:
    """Output ``(height, width)`` of a 2-D convolution or pooling window.

    Every argument is an int (same for both dimensions) or a ``(height, width)`` pair.
    Errors from :func:`conv_output_size` are prefixed with the dimension they concern.

    >>> conv_output_shape((32, 32), 5)
    (28, 28)
    """
    sizes = as_pair(shape, "shape")
    kernels = as_pair(kernel, "kernel")
    strides = as_pair(stride, "stride")
    pads = as_pair(pad, "pad", minimum=0)
    dilations = as_pair(dilation, "dilation")
    result = []
    for axis, dim in enumerate(("height", "width")):
        try:
            result.append(
                conv_output_size(
                    sizes[axis],
                    kernels[axis],
                    strides[axis],
                    pads[axis],
                    dilations[axis],
                    exact=exact,
                )
            )
        except ValueError as err:
            raise ValueError(f"{dim}: {err}") from None
    return result[0], result[1]


def conv_param_count(
    in_channels: int,
    out_channels: int,
    kernel: int | Sequence[int],
    groups: int = 1,
    bias: bool = True,
) -> int:
    """Learnable parameters of a convolution layer.

    Each of the ``out_channels`` filters sees ``in_channels // groups`` input maps through
    a ``kernel`` window and has one bias: ``(kh*kw*in_channels/groups + bias) *
    out_channels``. The input's spatial size, the stride and the padding do not matter.

    >>> conv_param_count(3, 10, 5)  # ten 5x5 filters on an RGB image
    760
    """
    in_channels = _as_int(in_channels, "in_channels", 1)
    out_channels = _as_int(out_channels, "out_channels", 1)
    groups = _as_int(groups, "groups", 1)
    kh, kw = as_pair(kernel, "kernel")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both in_channels={in_channels} and "
            f"out_channels={out_channels}"
        )
    per_filter = kh * kw * (in_channels // groups) + (1 if bias else 0)
    return per_filter * out_channels


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    """Side of the input region that one unit of the last layer depends on.

    ``layers`` lists, bottom to top, ``(kernel, stride)`` or ``(kernel, stride, dilation)``
    for each convolution or pooling layer. Each layer widens the field by
    ``dilation*(kernel - 1)`` steps of the layer below, and a step of layer ``l`` spans the
    product of the strides of the layers under it.

    >>> receptive_field([(3, 1), (3, 1), (3, 1)])  # VGG: three 3x3 convs see 7x7
    7
    """
    field = 1
    jump = 1  # distance in input pixels between neighbouring units of the current layer
    for index, layer in enumerate(layers):
        if len(layer) not in (2, 3):
            raise ValueError(
                f"layers[{index}] must be (kernel, stride) or (kernel, stride, dilation), "
                f"got {tuple(layer)}"
            )
        kernel = _as_int(layer[0], f"layers[{index}] kernel", 1)
        stride = _as_int(layer[1], f"layers[{index}] stride", 1)
        dilation = _as_int(layer[2], f"layers[{index}] dilation", 1) if len(layer) == 3 else 1
        field += dilation * (kernel - 1) * jump
        jump *= stride
    return field


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel: int | Sequence[int],
    out_size: int | Sequence[int],
    groups: int = 1,
) -> int:
    """Multiply-adds of one convolution on one image (bias additions not counted).

    Every one of the ``out_h * out_w * out_channels`` outputs is a dot product of length
    ``kh * kw * in_channels / groups``. Pass ``out_size=1`` for the count per output
    position, as in the lectures' ResNet bottleneck comparison.

    >>> conv_macs(256, 256, 3, out_size=1)  # 3x3 conv, 256 maps in and out: ~600K
    589824
    """
    in_channels = _as_int(in_channels, "in_channels", 1)
    out_channels = _as_int(out_channels, "out_channels", 1)
    groups = _as_int(groups, "groups", 1)
    kh, kw = as_pair(kernel, "kernel")
    oh, ow = as_pair(out_size, "out_size")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both in_channels={in_channels} and "
            f"out_channels={out_channels}"
        )
    return oh * ow * out_channels * kh * kw * (in_channels // groups)
