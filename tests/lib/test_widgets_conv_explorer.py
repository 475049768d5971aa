"""The convolution explorer's geometry, checked without a browser (and against torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.conv_explorer import ConvExplorer, explore, formula_text, window_taps


def _torch_out_size(size, kernel, stride, pad, dilation):
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    w = torch.zeros(1, 1, kernel, kernel, dtype=torch.float64)
    out = torch.nn.functional.conv2d(x, w, stride=stride, padding=pad, dilation=dilation)
    return out.shape[-1]


@pytest.mark.parametrize(
    "size, kernel, stride, pad, dilation",
    [(7, 3, 1, 0, 1), (7, 3, 2, 0, 1), (8, 3, 2, 0, 1), (5, 3, 1, 1, 1), (9, 3, 1, 0, 2),
     (16, 7, 4, 3, 1), (3, 1, 1, 0, 1), (10, 3, 3, 2, 2)],
)  # fmt: skip
def test_output_size_and_window_agree_with_torch(size, kernel, stride, pad, dilation):
    """Is the output size torch's, and does the last window read exactly what torch reads?"""
    state = explore(size, kernel, stride, pad, dilation, row=99, col=0, layers=1)
    assert state.out_size == _torch_out_size(size, kernel, stride, pad, dilation)
    assert state.row == state.out_size - 1  # clamped into the output
    # The taps of the last output row: a one-hot filter tap moves exactly that pixel.
    x = torch.arange(size * size, dtype=torch.float64).reshape(1, 1, size, size)
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    for u, r in enumerate(state.tap_rows):
        w = torch.zeros(1, 1, kernel, kernel, dtype=torch.float64)
        w[0, 0, u, 0] = 1
        out = torch.nn.functional.conv2d(x, w, stride=stride, padding=pad, dilation=dilation)
        assert out[0, 0, state.row, 0] == xp[0, 0, r, state.tap_cols[0]]


def test_leftover_counts_the_positions_no_window_reads():
    state = explore(8, 3, 2, 0, 1, 0, 0, 1)
    assert (state.out_size, state.leftover) == (3, 1)
    assert state.tap_rows.max() + 1 < 8  # the last row is never read
    assert "3.5 -> 3" in state.formula


def test_formula_shows_the_numbers_of_the_lecture_example():
    assert formula_text(32, 5, 1, 2, 1) == "(32 + 2*2 - 1*(5 - 1) - 1) / 1 + 1 = 32"


def test_window_taps_are_dilation_apart_from_the_strided_start():
    np.testing.assert_array_equal(window_taps(2, 3, 2, 3), [4, 7, 10])


@pytest.mark.parametrize(
    "kernel, stride, dilation, layers, expected",
    [(3, 1, 1, 3, 7), (3, 2, 1, 2, 7), (3, 1, 2, 2, 9), (5, 1, 1, 1, 5)],
)
def test_receptive_field_of_a_stack_matches_hand_counts(kernel, stride, dilation, layers, expected):
    """Counted by hand: each layer adds dilation*(kernel-1) steps of the layer below."""
    state = explore(12, kernel, stride, dilation * (kernel - 1) // 2, dilation, 0, 0, layers)
    assert state.receptive_field == expected


def test_a_window_larger_than_the_padded_input_is_refused_with_the_arithmetic():
    with pytest.raises(ValueError, match="less than 1"):
        explore(3, 7, 1, 0, 1, 0, 0, 1)


def test_missing_student_function_falls_back_to_the_reference_with_a_notice():
    app = ConvExplorer(namespace={})
    state = app.compute(**app.values())
    assert state.notice.startswith(REFERENCE_PREFIX)
    assert state.out_size == 5


def test_unfinished_student_function_is_reported_as_not_implemented():
    def conv_output_size(size, kernel, stride, pad, dilation):
        raise NotImplementedError

    app = ConvExplorer(namespace={"conv_output_size": conv_output_size})
    assert "not implemented yet" in app.compute(**app.values()).notice


def test_working_student_function_is_used_without_a_notice():
    calls = []

    def conv_output_size(size, kernel, stride, pad, dilation):
        calls.append(size)
        return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1

    app = ConvExplorer(namespace={"conv_output_size": conv_output_size})
    state = app.compute(**app.values())
    assert state.notice == "" and calls  # the probe and the state both called it


def test_a_wrong_student_size_is_what_the_grid_shows():
    """The explorer draws the student's answer, so a wrong formula is visible."""
    app = ConvExplorer(namespace={"conv_output_size": lambda *args: 2})
    assert app.compute(**app.values()).out_size == 2


def test_draw_and_describe_render_every_setting_of_the_defaults():
    app = ConvExplorer(namespace={})
    state = app.compute(**(app.values() | {"stride": 2, "size": 8, "layers": 3}))
    fig = Figure()
    app.draw(state, fig)
    assert len(fig.axes) == 2
    text = app.describe(state)
    assert "never read" in text and "receptive field of 15x15" in text
    assert app.update() is not None and app.image.value
