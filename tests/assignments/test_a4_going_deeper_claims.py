"""Claims of going_deeper.ipynb, proved from the notebook's own text and code.

The operation counts of sections 1 and 3 are recomputed with the references (and, for
the bottleneck, from the layers' shapes); GoogLeNet's parameter count comes from the
library's model. The training claim of section 7 runs the notebook's data cell and its
training cell with the notebook's own ``ResidualBlock`` and ``SmallResNet`` (its solution
cells), so the figure it checks is the one the notebook prints.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.exercises.a4 import going_deeper as ex
from dlcourse.models.googlenet import googlenet

from .notebook_text import claim, code_cells, number

NAME = "a4/going_deeper"


def _millions(pattern: str) -> float:
    return number(NAME, pattern)


def test_inception_figures():
    macs_3a = ex.inception_macs(192, 64, 96, 128, 16, 32, 32, 28, 28)
    macs_256 = ex.inception_macs(256, 128, 64, 192, 64, 96, 64, 28, 28)
    match = claim(NAME, r"from \*\*{num}M\*\* to \*\*{num}M\*\* multiply-adds \({num} times")
    without, with_red, ratio = (float(g) for g in match.groups())
    assert (without, with_red) == (round(macs_3a[1] / 1e6, 1), round(macs_3a[0] / 1e6, 1))
    assert ratio == round(macs_3a[1] / macs_3a[0], 1)
    match = claim(NAME, r"from \*\*{num}M\*\* to \*\*{num}M\*\* \({num} times")
    without, with_red, ratio = (float(g) for g in match.groups())
    assert (without, with_red) == (round(macs_256[1] / 1e6, 1), round(macs_256[0] / 1e6, 1))
    assert ratio == round(macs_256[1] / macs_256[0], 1)
    # The channels handed on: the naive module passes the pool's 256 on, the other 64.
    claim(NAME, r"256 \+ 128 \+ 192 \+ 96 = 672 channels to the next one .* 480")
    assert 128 + 192 + 96 + 64 == 480


def test_googlenet_parameter_count():
    stated = _millions(r"has \*\*{num} million\*\* parameters")
    count = sum(p.numel() for p in googlenet(aux_logits=False).parameters())
    assert round(count / 1e6, 1) == stated


def test_bottleneck_figures():
    match = claim(NAME, r"exactly \*\*{num}\*\* multiply-adds against \*\*{num}\*\*, {num} times")
    reduced, plain, ratio = (float(g.replace(",", "")) for g in match.groups())
    block = ex.Bottleneck(256, 64)
    per_position = [
        conv.in_channels * conv.out_channels * math.prod(conv.kernel_size)
        for conv in (block.conv1, block.conv2, block.conv3)
    ]
    assert per_position == [16_384, 36_864, 16_384]
    assert reduced == sum(per_position)
    assert plain == 256 * 256 * 9
    assert ratio == round(plain / reduced, 1)
    assert (
        number(NAME, r"two 3x3 convolutions, \$2 \\cdot 9 \\cdot 64\^2\$ = {num}:") == 2 * 9 * 64**2
    )


def _notebook_namespace() -> dict[str, object]:
    """The notebook's imports, its ResidualBlock and SmallResNet (solution cells), data
    cell and training cell, executed in order."""
    cells = code_cells(NAME)
    wanted = ("class ResidualBlock", "class SmallResNet", "data = load_shapes(", "class PlainBlock")
    namespace: dict[str, object] = {"math": math, "np": np, "torch": torch, "nn": nn, "F": F}
    for marker in wanted:
        (cell,) = [source for source in cells if marker in source]
        exec(cell, namespace)  # noqa: S102
    return namespace


@pytest.mark.slow
def test_the_residual_network_trains_much_better_than_the_plain_one():
    stated = number(NAME, r"mean training loss is \*\*at least {num} lower\*\* than the plain")
    depth = number(NAME, r"the classifier: {num} weighted layers")
    threads = torch.get_num_threads()
    try:
        run = _notebook_namespace()  # the training cell sets one thread: restore ours after
    finally:
        torch.set_num_threads(threads)
    widths, blocks = run["WIDTHS"], run["BLOCKS"]
    # The weighted layers: the stem, two 3x3 convolutions per block, the classifier.
    assert 1 + 2 * sum(blocks) + 1 == depth
    assert len(widths) == len(blocks)
    curves = run["curves"]
    epochs = run["EPOCHS"]
    per_epoch = {
        name: np.asarray(losses).reshape(epochs, -1).mean(axis=1) for name, losses in curves.items()
    }
    # Both start near chance, ln 8.
    for losses in curves.values():
        assert abs(np.mean(losses[:5]) - math.log(8)) < 0.3
    plain, residual = per_epoch["plain"][-1], per_epoch["residual"][-1]
    assert plain - residual >= stated, f"residual {residual:.3f}, plain {plain:.3f}"
