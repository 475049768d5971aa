"""Claims of convolution.ipynb, each read from the notebook's text and proved with PyTorch.

The notebook states the lectures' worked example (a 5x5 image and a 3x3 filter give the
feature map 4 3 4 / 2 4 3 / 2 3 4), the lectures' layer (32x32x3, ten 5x5 filters,
stride 1, pad 2 -> 32x32x10 with 760 parameters, against about 31 million for a fully
connected layer), the structure of the convolution matrix (81 of 225 entries, 9 values),
the receptive field of three 3x3 layers (7), and in its rubrics AlexNet's first layer
(55x55x96, 34,944 parameters, about 105 million multiply-adds) and the explorer's cases
(3 outputs with the last row unread; 7x7 against 13x13 with dilation 2). None of these
numbers is computed by the course's references here: torch's layers, autograd and
convolutions of ones count them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "a3" / "convolution.ipynb"

LECTURE_IMAGE = [
    [1, 1, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 1, 1, 1],
    [0, 0, 1, 1, 0],
    [0, 1, 1, 0, 0],
]
LECTURE_KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]


@pytest.fixture(scope="module")
def cells() -> list[nbformat.NotebookNode]:
    return nbformat.read(NOTEBOOK, as_version=4).cells


@pytest.fixture(scope="module")
def text(cells) -> str:
    """All markdown of the notebook (explanations and rubrics) as one string."""
    return "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")


def _number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match, f"the notebook no longer states {pattern!r}"
    return int(match.group(1).replace(",", ""))


def _conv_ones(in_channels: int, out_channels: int, kernel: int, size: int, **kw) -> torch.Tensor:
    """Output of a convolution of ones with ones: each entry counts its multiply-adds."""
    x = torch.ones(1, in_channels, size, size, dtype=torch.float64)
    w = torch.ones(out_channels, in_channels, kernel, kernel, dtype=torch.float64)
    return torch.nn.functional.conv2d(x, w, **kw)


def test_the_worked_example_is_the_lectures_and_gives_the_stated_feature_map(cells, text):
    code = "".join(cell.source for cell in cells if cell.cell_type == "code").replace(" ", "")
    for row in LECTURE_IMAGE + LECTURE_KERNEL:
        assert str(row).replace(" ", "") in code, f"the lectures' row {row} is not in the notebook"
    match = re.search(r"\*\*(\d) (\d) (\d) / (\d) (\d) (\d) / (\d) (\d) (\d)\*\*", text)
    assert match, "the notebook no longer states the worked example's feature map"
    stated = torch.tensor([int(d) for d in match.groups()], dtype=torch.float64).reshape(3, 3)
    image = torch.tensor(LECTURE_IMAGE, dtype=torch.float64)[None, None]
    kernel = torch.tensor(LECTURE_KERNEL, dtype=torch.float64)[None, None]
    torch.testing.assert_close(torch.nn.functional.conv2d(image, kernel)[0, 0], stated)


def test_ten_5x5_filters_with_pad_2_keep_32x32_and_have_760_parameters(text):
    stated = _number(r"\*\*(\d+) parameters\*\*", text)
    assert "**32x32x10**" in text
    layer = torch.nn.Conv2d(3, 10, 5, stride=1, padding=2)
    assert sum(p.numel() for p in layer.parameters()) == stated == 760
    assert layer(torch.zeros(1, 3, 32, 32)).shape == (1, 10, 32, 32)


def test_a_fully_connected_layer_to_the_same_output_has_about_31_million_weights(text):
    millions = _number(r"≈ (\d+) million weights", text)
    weights = torch.nn.Linear(32 * 32 * 3, 32 * 32 * 10, bias=False, device="meta").weight.numel()
    assert round(weights / 1e6) == millions


def test_the_convolution_matrix_keeps_81_of_225_entries_tied_to_9_values(text):
    match = re.search(r"every one of its (\d+) entries free; the\s+convolution keeps (\d+)", text)
    assert match, "the notebook no longer states the matrix's entries"
    total, kept = (int(g) for g in match.groups())
    values = _number(r"ties those to (\d+) values", text)
    # The matrix of a 3x3 filter with weights 1..9 on a 5x5 image: its columns are the
    # convolutions of the 25 unit images.
    basis = torch.eye(25, dtype=torch.float64).reshape(25, 1, 5, 5)
    w = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
    matrix = torch.nn.functional.conv2d(basis, w).reshape(25, 9).T
    assert matrix.numel() == total
    assert int(torch.count_nonzero(matrix)) == kept
    assert len(torch.unique(matrix[matrix != 0])) == values


def _receptive_field(layers: int, kernel: int, dilation: int) -> int:
    """Side of the input region that changes the centre unit of a stack, by autograd."""
    size = 41
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = x
    for _ in range(layers):
        w = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
        out = torch.nn.functional.conv2d(out, w, dilation=dilation)
    centre = out.shape[-1] // 2
    (grad,) = torch.autograd.grad(out[0, 0, centre, centre], x)
    rows = torch.nonzero(grad[0, 0].abs().sum(dim=1)).ravel()
    return int(rows.max() - rows.min() + 1)


def test_three_3x3_layers_see_7x7_as_the_notebook_and_vgg_say(text):
    assert "1 + 2 + 2 + 2 = 7 pixels" in text
    assert _receptive_field(3, 3, 1) == 7


def test_alexnets_first_layer_numbers_in_the_rubric(text):
    side = _number(r"so the volume is (\d+)x\d+x96", text)
    params = _number(r"\(11·11·3 \+ 1\)·96 = ([\d,]+)", text)
    macs = _number(r"55·55·96 · 11·11·3 = ([\d,]+)", text)
    layer = torch.nn.Conv2d(3, 96, 11, stride=4)
    assert layer(torch.zeros(1, 3, 227, 227)).shape[-1] == side
    assert sum(p.numel() for p in layer.parameters()) == params
    assert int(_conv_ones(3, 96, 11, 227, stride=4).sum()) == macs


def test_the_explorers_inexact_case_gives_3_outputs_and_never_reads_the_last_row(text):
    assert "frameworks produce 3 outputs per axis" in text
    x = torch.zeros(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    w = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    out = torch.nn.functional.conv2d(x, w, stride=2)
    assert out.shape[-1] == 3
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.all(grad[0, 0, -1] == 0) and torch.all(grad[0, 0, :, -1] == 0)
    assert torch.all(grad[0, 0, :-1, :-1] > 0)


def test_dilation_2_widens_three_3x3_layers_from_7x7_to_13x13(text):
    assert "the stack sees 13x13" in text and "dilation 1 see 7x7" in text
    assert _receptive_field(3, 3, 1) == 7
    assert _receptive_field(3, 3, 2) == 13
