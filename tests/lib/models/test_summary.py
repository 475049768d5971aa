"""The layer table: checked against torchvision's published figures, torchinfo, and the
lectures' operation counts."""

from __future__ import annotations

import pytest
import torch
import torchinfo
from torch import nn
from torchvision_oracle import import_torchvision

from dlcourse.models.alexnet import alexnet
from dlcourse.models.googlenet import googlenet
from dlcourse.models.lenet import lenet5
from dlcourse.models.summary import format_table, layer_table, print_summary, totals
from dlcourse.models.vgg import vgg16_bn


@pytest.mark.parametrize(
    ("build", "weights"),
    [
        (alexnet, "AlexNet_Weights"),
        (vgg16_bn, "VGG16_BN_Weights"),
        (lambda: googlenet(batch_norm=True, branch3_kernel=3), "GoogLeNet_Weights"),
    ],
)
def test_totals_match_torchvisions_published_parameters_and_gmacs(build, weights):
    """torchvision's weight metadata: "num_params" and "_ops" (billions of multiply-adds
    on 224x224, rounded to 3 decimals)."""
    meta = getattr(import_torchvision().models, weights).IMAGENET1K_V1.meta
    with torch.device("meta"):
        model = build()
    t = totals(model, layer_table(model, (1, 3, 224, 224)))
    assert t.params == meta["num_params"]
    assert round(t.mult_adds / 1e9, 3) == meta["_ops"]


def _bias_free_net() -> nn.Module:
    # No biases and no norms: torchinfo counts those as multiply-adds, the lectures do not.
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2, groups=2, bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 3 * 3, 5, bias=False),
    )


def test_shapes_parameters_and_mult_adds_equal_torchinfos():
    torch.manual_seed(0)
    model = _bias_free_net()
    rows = layer_table(model, (2, 3, 14, 14))
    theirs = torchinfo.summary(model, input_size=(2, 3, 14, 14), verbose=0)
    leaves = [layer for layer in theirs.summary_list if layer.is_leaf_layer]
    assert [r.output_shape for r in rows] == [tuple(layer.output_size) for layer in leaves]
    assert [r.params for r in rows] == [layer.num_params for layer in leaves]
    t = totals(model, rows)
    assert t.params == theirs.total_params
    assert t.mult_adds == theirs.total_mult_adds


def test_resnet_bottleneck_operation_counts_of_the_lecture():
    """Lecture 003, per output position: a 3x3 conv 256 -> 256 costs 256x256x3x3 (~600K);
    the bottleneck 256x64 + 64x64x3x3 + 64x256 (~70K)."""
    plain = nn.Conv2d(256, 256, 3, padding=1, bias=False)
    bottleneck = nn.Sequential(
        nn.Conv2d(256, 64, 1, bias=False),
        nn.Conv2d(64, 64, 3, padding=1, bias=False),
        nn.Conv2d(64, 256, 1, bias=False),
    )
    [row] = layer_table(plain, (1, 256, 1, 1))  # one output position
    assert row.mult_adds == 256 * 256 * 3 * 3
    assert round(row.mult_adds, -5) == 600_000
    rows = layer_table(bottleneck, (1, 256, 1, 1))
    assert [r.mult_adds for r in rows] == [256 * 64, 64 * 64 * 3 * 3, 64 * 256]
    assert round(sum(r.mult_adds for r in rows), -4) == 70_000


def test_lenet5_table_has_the_lectures_sizes():
    """Lecture 003 on a 32x32 input: 5x5 convs at stride 1 and 2x2 pools give 28, 14, 10, 5, 1."""
    rows = [r for r in layer_table(lenet5(), (1, 1, 32, 32)) if r.kind != "Tanh"]
    assert [r.output_shape for r in rows] == [
        (1, 6, 28, 28), (1, 6, 14, 14), (1, 16, 10, 10), (1, 16, 5, 5),
        (1, 120, 1, 1), (1, 84), (1, 10),
    ]  # fmt: skip


def test_activation_memory_is_values_times_bytes_per_value():
    model = _bias_free_net().double()
    rows = layer_table(model, (1, 3, 14, 14))
    for row in rows:
        assert row.activations == torch.Size(row.output_shape).numel()
        assert row.activation_bytes == 8 * row.activations  # float64
    rows32 = layer_table(model.float(), (1, 3, 14, 14))
    assert [r.activation_bytes for r in rows32] == [4 * r.activations for r in rows32]


def test_a_module_called_twice_owns_its_parameters_once():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.fc(x))

    model = Twice()
    rows = layer_table(model, (3, 4))
    assert [r.params for r in rows] == [20, 0]
    assert [r.mult_adds for r in rows] == [3 * 4 * 4] * 2
    assert totals(model, rows).params == 20


def test_the_model_keeps_its_training_mode_and_is_run_without_gradients():
    model = _bias_free_net().train()
    layer_table(model, (1, 3, 14, 14))
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_printed_summary_lists_every_layer_and_the_totals(capsys):
    model = lenet5()
    print_summary(model, (1, 1, 32, 32))
    printed = capsys.readouterr().out
    for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output"):
        assert f"\n{name} " in printed
    expected_total = sum(p.numel() for p in model.parameters())
    assert f"total params: {expected_total:,}" in printed
    assert printed.strip() == format_table(model, layer_table(model, (1, 1, 32, 32)))


@pytest.mark.parametrize("bad", [(3,), (1, 0, 4, 4)])
def test_a_malformed_input_size_is_refused(bad):
    with pytest.raises(ValueError, match="input_size"):
        layer_table(lenet5(), bad)
