"""A model's layer table: output shape, parameters, activation memory and multiply-adds.

In the style of torchinfo's summary, built on forward hooks so that each number has a
stated definition:

* ``params``: the parameters the layer owns (a layer called twice is counted once);
* ``activations``: the number of values in its output, and ``activation_bytes`` what they
  take in memory (kept for the backward pass, which is why the batch size is bounded by
  memory);
* ``mult_adds``: the multiplications by weights of convolutions and fully connected layers
  (output values times the weights each one reads; additions of biases and the work of
  norms, activations and pools are not counted), summed over the batch.

:func:`layer_table` returns the rows as data for a notebook; :func:`format_table` renders
them and :func:`print_summary` prints them. Build the model on the ``meta`` device
(``with torch.device("meta"): model = vgg16()``) to tabulate a large network at no cost:
hooks see the shapes without any arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    """One call of one leaf module during the forward pass."""

    name: str  # the module's qualified name, e.g. "features.0"
    kind: str  # its class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]
    params: int
    activations: int
    activation_bytes: int
    mult_adds: int


@dataclass(frozen=True)
class Totals:
    """Column totals of a layer table; ``params`` counts every parameter of the model."""

    params: int
    trainable_params: int
    activations: int
    activation_bytes: int
    mult_adds: int


def _mult_adds(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> int:
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        # Each input value is multiplied by C_out / groups * prod(kernel) weights.
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return inputs[0].numel() * per_input
    if isinstance(module, nn.modules.conv._ConvNd):
        # Each output value reads C_in / groups * prod(kernel) weights.
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return out.numel() * per_output
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def layer_table(
    model: nn.Module,
    input_size: Sequence[int],
    dtype: torch.dtype | None = None,
) -> list[LayerRow]:
    """The rows of ``model``'s leaf modules in the order they run on a zero input.

    ``input_size`` is the full input shape, batch included, e.g. ``(1, 3, 224, 224)``; the
    input is made on the device and with the dtype of the model's first parameter (``dtype``
    overrides). The model runs in eval mode under ``no_grad`` and its mode is restored.
    """
    if len(input_size) < 2 or any(int(s) < 1 for s in input_size):
        raise ValueError(
            f"input_size must be a shape (N, C, ...) of positive sizes, got {input_size}"
        )
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = dtype or (first.dtype if first is not None else torch.get_default_dtype())
    x = torch.zeros(tuple(input_size), device=device, dtype=dtype)

    rows: list[LayerRow] = []
    counted: set[int] = set()
    names = {module: name for name, module in model.named_modules()}

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: object) -> None:
        if not isinstance(out, torch.Tensor):
            return
        params = 0
        if id(module) not in counted:  # a module called twice owns its weights once
            counted.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(
            LayerRow(
                name=names[module],
                kind=type(module).__name__,
                output_shape=tuple(out.shape),
                params=params,
                activations=out.numel(),
                activation_bytes=out.numel() * out.element_size(),
                mult_adds=_mult_adds(module, inputs, out),
            )
        )

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rows


def totals(model: nn.Module, rows: Sequence[LayerRow]) -> Totals:
    """Sum the columns of ``rows``; the parameter totals come from ``model`` itself."""
    return Totals(
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        activations=sum(r.activations for r in rows),
        activation_bytes=sum(r.activation_bytes for r in rows),
        mult_adds=sum(r.mult_adds for r in rows),
    )


def format_table(model: nn.Module, rows: Sequence[LayerRow]) -> str:
    """The rows and their totals as a fixed-width text table."""
    header = ("layer", "kind", "output shape", "params", "activations", "memory (KiB)", "mult-adds")
    body = [
        (r.name, r.kind, str(list(r.output_shape)), f"{r.params:,}", f"{r.activations:,}",
         f"{r.activation_bytes / 1024:,.1f}", f"{r.mult_adds:,}")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(line: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )

    rule = "-" * len(render(header))
    t = totals(model, rows)
    footer = [
        f"total params: {t.params:,} (trainable {t.trainable_params:,})",
        f"total activations: {t.activations:,} values, {t.activation_bytes / 2**20:,.2f} MiB",
        f"total mult-adds: {t.mult_adds:,}",
    ]
    return "\n".join([render(header), rule, *(render(line) for line in body), rule, *footer])


def print_summary(
    model: nn.Module, input_size: Sequence[int], dtype: torch.dtype | None = None
) -> None:
    """Print the layer table of ``model`` on an input of shape ``input_size``."""
    print(format_table(model, layer_table(model, input_size, dtype)))
