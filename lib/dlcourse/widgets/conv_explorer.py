"""Convolution explorer: a window sliding over a padded input, the output size, the field.

Controls set the input size, kernel size, stride, padding and dilation of a square
convolution, an output position, and a number of identical layers stacked on each other.
The figure draws the padded input (padding in grey) with the taps of the chosen output
position's window highlighted, next to the output grid with that position marked; the
text evaluates the output-size formula with the numbers filled in,

    H_out = (H + 2*pad - dilation*(kernel - 1) - 1) / stride + 1,

and gives the receptive field of the stack. When the windows do not tile the padded
input, the leftover rows and columns are drawn hatched: a framework drops them.

The output size comes from the student's ``conv_output_size(size, kernel, stride, pad,
dilation)`` when it works (found in the notebook's namespace), and from the exercise's
reference (:mod:`dlcourse.exercises.a3.convolution`) otherwise, with a notice saying so.
Everything a test needs comes from :func:`explore`, a pure function of the control values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from dlcourse import convarith
from dlcourse.exercises.a3 import convolution as exercise
from dlcourse.widgets.base import WidgetApp, resolve_impl

OutputSize = Callable[..., object]

MAX_SIZE = 16
"""Largest input side the sliders offer (the grid stays readable)."""


@dataclass(frozen=True)
class ConvExplorerState:
    """What the explorer shows for one setting (one spatial axis; the other is the same).

    ``out_size`` is the number of output positions per axis, rounded down as frameworks do
    when the windows do not tile the padded input (then ``leftover`` > 0 positions at the
    bottom/right are never read); ``row`` and ``col`` are the chosen output position,
    clamped into the output; ``tap_rows`` and ``tap_cols`` the padded-input coordinates of
    the window's taps, each of shape (kernel,); ``receptive_field`` the input side one unit
    of the top layer of ``layers`` identical layers sees.
    """

    size: int
    kernel: int
    stride: int
    pad: int
    dilation: int
    layers: int
    out_size: int
    leftover: int
    row: int
    col: int
    tap_rows: np.ndarray
    tap_cols: np.ndarray
    formula: str
    receptive_field: int
    notice: str = ""


def window_taps(index: int, kernel: int, stride: int, dilation: int) -> np.ndarray:
    """Padded-input positions (kernel,) that output ``index`` reads along one axis."""
    return index * stride + dilation * np.arange(kernel)


def formula_text(size: int, kernel: int, stride: int, pad: int, dilation: int) -> str:
    """The output-size formula with the numbers filled in and its exact value."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    value = span / stride + 1
    shown = f"{value:g}" if span % stride == 0 else f"{value:.3g} -> {span // stride + 1}"
    return f"({size} + 2*{pad} - {dilation}*({kernel} - 1) - 1) / {stride} + 1 = {shown}"


def explore(
    size: int,
    kernel: int,
    stride: int,
    pad: int,
    dilation: int,
    row: int,
    col: int,
    layers: int,
    output_size: OutputSize | None = None,
    notice: str = "",
) -> ConvExplorerState:
    """The state for one setting; ``output_size`` is the (student's) output-size function.

    A configuration whose windows do not tile the padded input is shown with the
    rounded-down size and its ``leftover``; one whose window does not fit at all raises
    ``ValueError`` with the arithmetic (from :func:`dlcourse.convarith.conv_output_size`).
    """
    floor = convarith.conv_output_size(size, kernel, stride, pad, dilation, exact=False)
    leftover = (size + 2 * pad - dilation * (kernel - 1) - 1) % stride
    out_size = floor
    if output_size is not None and leftover == 0:
        # The reference refuses inexact tilings, so the function is asked only when the
        # division is exact; its answer is what the grid shows.
        out_size = int(np.asarray(output_size(size, kernel, stride, pad, dilation)))
        if out_size < 1:
            raise ValueError(f"conv_output_size returned {out_size}, expected {floor}")
    row, col = min(max(row, 0), out_size - 1), min(max(col, 0), out_size - 1)
    return ConvExplorerState(
        size=size,
        kernel=kernel,
        stride=stride,
        pad=pad,
        dilation=dilation,
        layers=layers,
        out_size=out_size,
        leftover=leftover,
        row=row,
        col=col,
        tap_rows=window_taps(row, kernel, stride, dilation),
        tap_cols=window_taps(col, kernel, stride, dilation),
        formula=formula_text(size, kernel, stride, pad, dilation),
        receptive_field=convarith.receptive_field([(kernel, stride, dilation)] * layers),
        notice=notice,
    )


class ConvExplorer(WidgetApp[ConvExplorerState]):
    """Sliders for a convolution's geometry; the window over the padded input and the output.

    In a notebook: ``ConvExplorer(namespace=globals())`` uses the student's
    ``conv_output_size`` where it works.
    """

    figsize = (9.0, 4.4)

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        resolved = resolve_impl(
            "conv_output_size",
            namespace,
            exercise.conv_output_size,
            probe=lambda f: f(7, 3, 2, 1, 1),
        )
        self.output_size: OutputSize = resolved.impl
        self.fallback_notice = resolved.notice
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Integer sliders for the geometry, the output position and the stack depth."""
        style = {"description_width": "initial"}

        def slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
            return widgets.IntSlider(
                value=value, min=low, max=high, description=description,
                continuous_update=False, style=style,
            )  # fmt: skip

        return {
            "size": slider("input size", 7, 3, MAX_SIZE),
            "kernel": slider("kernel", 3, 1, 7),
            "stride": slider("stride", 1, 1, 4),
            "pad": slider("pad", 0, 0, 3),
            # Up to 2: a 7-wide kernel then spans at most 13 inputs, so moving the sliders
            # up from their defaults never leaves the window wider than the padded input.
            "dilation": slider("dilation", 1, 1, 2),
            "row": slider("output row", 0, 0, MAX_SIZE),
            "col": slider("output col", 0, 0, MAX_SIZE),
            "layers": slider("layers stacked", 1, 1, 6),
        }

    def compute(
        self,
        size: int,
        kernel: int,
        stride: int,
        pad: int,
        dilation: int,
        row: int,
        col: int,
        layers: int,
    ) -> ConvExplorerState:
        """See :func:`explore`."""
        return explore(
            size, kernel, stride, pad, dilation, row, col, layers,
            output_size=self.output_size, notice=self.fallback_notice,
        )  # fmt: skip

    def draw(self, state: ConvExplorerState, fig: Figure) -> None:
        """The padded input with the window's taps, and the output grid."""
        ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        padded = state.size + 2 * state.pad
        for r in range(padded):
            for c in range(padded):
                inside = state.pad <= r < state.pad + state.size
                inside = inside and state.pad <= c < state.pad + state.size
                unread = r >= padded - state.leftover or c >= padded - state.leftover
                ax_in.add_patch(
                    Rectangle(
                        (c, r), 1, 1, facecolor="white" if inside else "#d9d9d9",
                        edgecolor="#999999", hatch="//" if unread else None, linewidth=0.5,
                    )
                )  # fmt: skip
        for r in state.tap_rows:
            for c in state.tap_cols:
                ax_in.add_patch(Rectangle((c, r), 1, 1, facecolor="tab:orange", alpha=0.8))
        ax_in.set_title(
            f"padded input {padded}x{padded} (grey: padding), window of output "
            f"({state.row}, {state.col})",
            fontsize=9,
        )
        for r in range(state.out_size):
            for c in range(state.out_size):
                chosen = (r, c) == (state.row, state.col)
                ax_out.add_patch(
                    Rectangle(
                        (c, r), 1, 1, facecolor="tab:orange" if chosen else "white",
                        edgecolor="#666666", linewidth=0.8,
                    )
                )  # fmt: skip
        ax_out.set_title(f"output {state.out_size}x{state.out_size}", fontsize=9)
        for ax, side in ((ax_in, padded), (ax_out, state.out_size)):
            ax.set_xlim(0, max(side, 1))
            ax.set_ylim(max(side, 1), 0)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"H_out = {state.formula}", fontsize=10)
        fig.tight_layout()

    def describe(self, state: ConvExplorerState) -> str:
        """The formula, the leftover (if any) and the stack's receptive field."""
        text = f"output size {state.formula}."
        if state.leftover:
            text += (
                f" The windows do not tile the padded input: the last {state.leftover} "
                "row(s)/column(s) are never read (hatched); this library refuses such a "
                "layer, PyTorch silently drops them."
            )
        effective = state.dilation * (state.kernel - 1) + 1
        text += (
            f" Each window covers {effective}x{effective} input positions; a stack of "
            f"{state.layers} such layer(s) has a receptive field of "
            f"{state.receptive_field}x{state.receptive_field}."
        )
        return text
