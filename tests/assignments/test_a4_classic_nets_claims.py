"""Claims of classic_nets.ipynb: the parameter and memory figures of LeNet-5, AlexNet and
VGG-16 in its prose, counted on the course library's models (``dlcourse.models``,
torchvision's VGG-16), and the accuracy of its two-epoch LeNet-5 run, trained exactly as
the notebook's cell does with the reference ``LeNet5``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision_oracle import import_torchvision

from dlcourse.exercises.a4 import classic_nets as ex
from dlcourse.models import alexnet, lenet, summary

from .notebook_text import claim, code_cells, number, numbers

NAME = "a4/classic_nets"


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_lenet5_counts():
    model = lenet.lenet5()
    assert number(NAME, r"LeNet-5 has \*\*{num} parameters\*\*") == _params(model)
    c5, share = numbers(NAME, r"C5 alone holds {num} of them \({num}%\)")
    assert c5 == _params(model.c5)
    assert share == round(100 * _params(model.c5) / _params(model))


def test_alexnet_counts():
    one, two = numbers(
        NAME,
        r"As one tower, AlexNet has \*\*{num} parameters\*\*; with the paper's two "
        r"towers it has \*\*{num}\*\*",
    )
    with torch.device("meta"):
        paper = alexnet.alexnet_original()  # the library's two-tower network
        # The one-tower network: the paper's widths without groups, built from torch layers.
        tower = nn.ModuleList(
            [nn.Conv2d(3, 96, 11, 4), nn.Conv2d(96, 256, 5, padding=2),
             nn.Conv2d(256, 384, 3, padding=1), nn.Conv2d(384, 384, 3, padding=1),
             nn.Conv2d(384, 256, 3, padding=1), nn.Linear(9216, 4096), nn.Linear(4096, 4096),
             nn.Linear(4096, 1000)]
        )  # fmt: skip
    assert two == _params(paper)
    assert one == _params(tower)
    assert number(NAME, r"saves {num} weights") == one - two
    fc, share = numbers(NAME, r"which hold {num} parameters, {num}% of the one-tower network")
    assert fc == sum(_params(layer) for layer in tower[5:])
    assert share == round(100 * fc / one)
    assert number(NAME, r"fc6 alone, .{0,80}? has {num}") == _params(tower[5])


def test_vgg16_counts_and_memory():
    torchvision = import_torchvision()
    with torch.device("meta"):
        model = torchvision.models.vgg16()
    total = _params(model)
    assert number(NAME, r"VGG-16 has \*\*{num} parameters\*\*") == total
    fc6, share = numbers(NAME, r"holds {num} of them, \*\*{num}%\*\*")
    assert fc6 == _params(model.classifier[0])
    assert share == round(100 * fc6 / total)
    # Memory: the input and the output of every conv and pool, one image, float32.
    rows = summary.layer_table(model, (1, 3, 224, 224))
    kept = 3 * 224 * 224 + sum(
        r.activations for r in rows if r.kind in ("Conv2d", "MaxPool2d", "Linear")
    )
    values, mib = numbers(NAME, r"keeps \*\*{num} values, about {num} MiB per image\*\*")
    assert values == kept
    assert mib == round(kept * 4 / 2**20)
    batch, gib = numbers(NAME, r"A mini-batch of {num} images needs {num} GiB")
    assert math.isclose(batch * kept * 4 / 2**30, gib, rel_tol=0.05)
    # The answer's estimate with a global-average-pool head (512 -> 1000).
    convs = sum(_params(layer) for layer in model.features)
    stated_convs, head = numbers(NAME, r"the {num} of the convolutions plus {num}")
    assert (stated_convs, head) == (convs, 513 * 1000)
    assert number(NAME, r"about {num} million, nine times fewer") == round((convs + head) / 1e6, 1)
    assert round(total / (convs + head)) == 9


def test_stack_ratios_in_the_notebook_follow_the_formula():
    claim(NAME, r"27C\^2\$ weights, the single \$7\\times7\$ layer \$49C\^2\$")
    # Three 3x3 layers against one 7x7, measured on torch layers with C = 4.
    stack = sum(nn.Conv2d(4, 4, 3, bias=False).weight.numel() for _ in range(3))
    single = nn.Conv2d(4, 4, 7, bias=False).weight.numel()
    assert (stack / 16, single / 16) == (27, 49)


def test_lenet5_reaches_the_stated_accuracy_in_two_epochs():
    stated = number(NAME, r"LeNet-5 reaches a test accuracy \*\*above {num}%\*\*")
    steps = number(NAME, r"fewer than {num} mini-batch steps")
    (cell,) = [source for source in code_cells(NAME) if "def train_lenet5" in source]
    namespace: dict[str, object] = {"np": np, "torch": torch, "F": F, "nn": nn}
    namespace["LeNet5"] = ex.LeNet5
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the grader runs it; several threads only contend here
    try:
        exec(cell, namespace)  # noqa: S102 -- the notebook's own cell, training included
    finally:
        torch.set_num_threads(threads)
    accuracies = namespace["accuracies"]
    assert len(accuracies) == namespace["NUM_EPOCHS"] == 2
    assert accuracies[-1] > stated / 100, f"test accuracy {accuracies[-1]:.1%}"
    assert len(namespace["losses"]) < steps
    assert len(namespace["digits"].y_test) == number(NAME, r"on the {num} test digits")
