"""References of ``classic_nets.ipynb`` against independent oracles.

The modules are compared with the same networks written here in float64 with
``torch.nn.functional`` (the local response normalization from the paper's formula), their
gradients with finite differences (``gradcheck``); the tables with layers of ``torch.nn``
run on the ``meta`` device, torchvision's VGG-16 and the lectures' figures.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision_oracle import import_torchvision

from dlcourse.exercises.a4 import classic_nets as ex
from dlcourse.models import alexnet as library_alexnet


def _weights(module: nn.Module, device: str) -> dict[str, torch.Tensor]:
    return {key: value.to(device) for key, value in module.state_dict().items()}


def _lenet_oracle(w: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    x = F.avg_pool2d(torch.tanh(F.conv2d(x, w["c1.weight"], w["c1.bias"])), 2)
    x = F.avg_pool2d(torch.tanh(F.conv2d(x, w["c3.weight"], w["c3.bias"])), 2)
    x = torch.tanh(F.conv2d(x, w["c5.weight"], w["c5.bias"])).reshape(len(x), -1)
    x = torch.tanh(x @ w["f6.weight"].T + w["f6.bias"])
    return x @ w["output.weight"].T + w["output.bias"]


def _lrn_paper(a: torch.Tensor) -> torch.Tensor:
    """b = a / (2 + 1e-4 * sum of a^2 over the 5 neighbouring maps)^0.75 (Krizhevsky et al.)."""
    squares = F.pad(a * a, (0, 0, 0, 0, 2, 2))  # pad the channel axis by 2 on each side
    window = sum(squares[:, i : i + a.shape[1]] for i in range(5))
    return a / (2.0 + 1e-4 * window) ** 0.75


def _alexnet_oracle(w: dict[str, torch.Tensor], x: torch.Tensor, groups: int) -> torch.Tensor:
    def conv(x: torch.Tensor, name: str, stride: int, pad: int, g: int) -> torch.Tensor:
        return F.relu(F.conv2d(x, w[f"{name}.weight"], w[f"{name}.bias"], stride, pad, 1, g))

    x = F.max_pool2d(_lrn_paper(conv(x, "conv1", 4, 0, 1)), 3, 2)
    x = F.max_pool2d(_lrn_paper(conv(x, "conv2", 1, 2, groups)), 3, 2)
    x = conv(conv(x, "conv3", 1, 1, 1), "conv4", 1, 1, groups)
    x = F.max_pool2d(conv(x, "conv5", 1, 1, groups), 3, 2)
    x = F.adaptive_avg_pool2d(x, 6).flatten(1)
    x = F.relu(x @ w["fc6.weight"].T + w["fc6.bias"])
    x = F.relu(x @ w["fc7.weight"].T + w["fc7.bias"])
    return x @ w["fc8.weight"].T + w["fc8.bias"]


@pytest.mark.parametrize("in_channels, num_classes", [(1, 10), (3, 7)])
def test_lenet5_matches_the_functional_network(device, in_channels, num_classes):
    torch.manual_seed(in_channels)
    model = ex.LeNet5(in_channels, num_classes).double().to(device).eval()
    x = torch.randn(3, in_channels, 32, 32, dtype=torch.float64, device=device)
    torch.testing.assert_close(model(x), _lenet_oracle(_weights(model, device), x))
    assert sorted(k for k, _ in model.named_parameters()) == sorted(
        f"{layer}.{kind}"
        for layer in ("c1", "c3", "c5", "f6", "output")
        for kind in ("weight", "bias")
    )


def test_lenet5_gradients_match_finite_differences(device):
    torch.manual_seed(0)
    model = ex.LeNet5(1, 3).double().to(device)
    x = torch.randn(1, 1, 32, 32, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,), eps=1e-6, atol=1e-5)


def test_lenet5_has_the_papers_parameter_count():
    # The paper's layers (C1 156, C3 2,416 fully connected, C5 48,120, F6 10,164) plus a
    # linear output of 85 * 10: its docstring's figures, summed.
    assert sum(p.numel() for p in ex.LeNet5().parameters()) == 156 + 2416 + 48120 + 10164 + 850


@pytest.mark.parametrize("groups", [1, 2])
def test_alexnet_matches_the_functional_network(device, groups):
    torch.manual_seed(groups)
    widths = (4, 6, 8, 6, 4)
    model = ex.AlexNet(5, 2, groups, widths, hidden=9).double().to(device).eval()
    with torch.no_grad():  # non-zero biases, so that a bias in the wrong place shows
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    x = 3 * torch.randn(2, 2, 70, 75, dtype=torch.float64, device=device)
    expected = _alexnet_oracle(_weights(model, device), x, groups)
    torch.testing.assert_close(model(x), expected)


def test_alexnet_gradients_match_finite_differences(device):
    torch.manual_seed(1)
    model = ex.AlexNet(3, 1, 2, (2, 2, 2, 2, 2), hidden=3).double().to(device).eval()
    x = torch.randn(1, 1, 67, 67, dtype=torch.float64, device=device)
    # Finite differences of the weights of every layer (the 67x67 input alone would be
    # 4,489 evaluations); the input gradient comes from the same autograd graph.
    params = tuple(model.parameters())

    def scores(*weights: torch.Tensor) -> torch.Tensor:
        state = dict(zip((k for k, _ in model.named_parameters()), weights, strict=True))
        return torch.func.functional_call(model, state, (x,))

    assert torch.autograd.gradcheck(scores, tuple(p.detach().requires_grad_() for p in params))


def test_alexnet_with_two_groups_has_the_library_models_parameters():
    # dlcourse.models.alexnet.alexnet_original is the paper's network with other names:
    # every parameter must have the same shape under the name map.
    names = {
        "features.0": "conv1", "features.4": "conv2", "features.8": "conv3",
        "features.10": "conv4", "features.12": "conv5",
        "classifier.1": "fc6", "classifier.4": "fc7", "classifier.6": "fc8",
    }  # fmt: skip
    with torch.device("meta"):
        library = library_alexnet.alexnet_original()
        ours = ex.AlexNet(groups=2)
    expected = {
        f"{names[key.rpartition('.')[0]]}.{key.rpartition('.')[2]}": tuple(p.shape)
        for key, p in library.named_parameters()
    }
    assert {key: tuple(p.shape) for key, p in ours.named_parameters()} == expected


def _alexnet_layers(in_channels: int, num_classes: int, groups: int) -> list[nn.Module]:
    pool = nn.MaxPool2d(3, 2)
    return [
        nn.Conv2d(in_channels, 96, 11, 4), pool,
        nn.Conv2d(96, 256, 5, 1, 2, groups=groups), pool,
        nn.Conv2d(256, 384, 3, 1, 1), nn.Conv2d(384, 384, 3, 1, 1, groups=groups),
        nn.Conv2d(384, 256, 3, 1, 1, groups=groups), pool,
        nn.Linear(256 * 36, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "size, in_channels, num_classes", [(227, 3, 1000), (67, 1, 2), (299, 4, 17)]
)
def test_alexnet_table_follows_torch_layers(size, in_channels, num_classes):
    table = ex.alexnet_table(np.array(size), np.array(in_channels), np.array(num_classes))
    assert table.shape == (11, 5) and table.dtype == np.int64
    for column, groups in ((3, 1), (4, 2)):
        with torch.device("meta"):
            layers = _alexnet_layers(in_channels, num_classes, groups)
            x = torch.zeros(1, in_channels, size, size)
            for row, layer in zip(table, layers, strict=True):
                if isinstance(layer, nn.Linear) and x.ndim == 4:
                    x = torch.zeros(1, layer.in_features)  # the adaptive pool
                x = layer(x)
                shape = (*x.shape[1:], 1, 1)[:3]
                assert tuple(row[:3]) == shape
                assert row[column] == sum(p.numel() for p in layer.parameters())


def test_alexnet_table_gives_the_lectures_sizes_and_the_seeds_counts():
    table = ex.alexnet_table(227, 3, 1000)
    # The lectures' table: 55x55x96, 27x27x96, 27x27x256, 13x13x256, 13x13x384 (twice),
    # 13x13x256, 6x6x256, then 4096, 4096, 1000.
    assert [tuple(row[:3]) for row in table[:8]] == [
        (96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13),
        (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6),
    ]  # fmt: skip
    assert list(table[8:, 0]) == [4096, 4096, 1000]
    # "60 million parameters" (the paper) only with the two towers; the seeds' F17.
    with torch.device("meta"):
        paper = library_alexnet.alexnet_original()
    assert table[:, 4].sum() == sum(p.numel() for p in paper.parameters())
    assert table[:, 3].sum() == 62_378_344 and table[:, 4].sum() == 60_965_224


def _vgg_block_oracle(w: dict[str, torch.Tensor], x: torch.Tensor, n: int) -> torch.Tensor:
    for i in range(n):
        x = F.relu(F.conv2d(x, w[f"layers.{2 * i}.weight"], w[f"layers.{2 * i}.bias"], padding=1))
    return F.max_pool2d(x, 2, 2)


@pytest.mark.parametrize("num_convs", [1, 3])
def test_vgg_block_matches_the_functional_block(device, num_convs):
    torch.manual_seed(num_convs)
    block = ex.VGGBlock(3, 4, num_convs).double().to(device)
    x = torch.randn(2, 3, 9, 6, dtype=torch.float64, device=device)
    out = block(x)
    assert out.shape == (2, 4, 4, 3)
    torch.testing.assert_close(out, _vgg_block_oracle(_weights(block, device), x, num_convs))


def test_vgg_block_gradients_match_finite_differences(device):
    torch.manual_seed(2)
    block = ex.VGGBlock(2, 3, 2).double().to(device)
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,))


def test_vgg_blocks_make_torchvisions_vgg16_features():
    torchvision = import_torchvision()
    with torch.device("meta"):
        reference = torchvision.models.vgg16().features
        ours = nn.Sequential(
            *(ex.VGGBlock(c_in, c_out, n).layers for c_in, c_out, n in
              [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)])
        )  # fmt: skip
    flat = [layer for block in ours for layer in block]
    assert [type(m) for m in flat] == [type(m) for m in reference]
    assert [tuple(p.shape) for p in ours.parameters()] == [
        tuple(p.shape) for p in reference.parameters()
    ]


@pytest.mark.parametrize("channels, num_layers", [(1, 1), (64, 3), (5, 6)])
def test_stack_vs_single_measures_the_field_and_counts_weights(channels, num_layers):
    field, stack, single = ex.stack_vs_single(np.array(channels), np.array(num_layers))
    # The field, measured: which inputs does the centre output of a 3x3 stack depend on?
    size = 2 * num_layers + 5
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = x
    for _ in range(num_layers):
        out = F.conv2d(out, torch.ones(1, 1, 3, 3, dtype=torch.float64))
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].sum(dim=1)).flatten()
    assert field == int(rows.max() - rows.min() + 1)
    layers = [nn.Conv2d(channels, channels, 3, bias=False) for _ in range(num_layers)]
    assert stack == sum(layer.weight.numel() for layer in layers)
    assert single == nn.Conv2d(channels, channels, field, bias=False).weight.numel()
    assert all(isinstance(v, int) for v in (field, stack, single))


def _vgg16_rows(size: int, num_classes: int) -> list[tuple[int, int]]:
    """(values, parameters) per layer of VGG-16 from nn layers run on the meta device."""
    with torch.device("meta"):
        x = torch.zeros(1, 3, size, size)
        rows = [(x.numel(), 0)]
        for c_in, c_out, n in [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3),
                               (512, 512, 3)]:  # fmt: skip
            for i in range(n):
                conv = nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1)
                x = conv(x)
                rows.append((x.numel(), sum(p.numel() for p in conv.parameters())))
            x = F.max_pool2d(x, 2)
            rows.append((x.numel(), 0))
        x = x.flatten(1)
        for units in (4096, 4096, num_classes):
            fc = nn.Linear(x.shape[1], units)
            x = fc(x)
            rows.append((x.numel(), sum(p.numel() for p in fc.parameters())))
    return rows


@pytest.mark.parametrize("size, num_classes", [(224, 1000), (32, 10), (97, 3)])
def test_vgg16_table_follows_torch_layers(size, num_classes):
    table = ex.vgg16_table(np.array(size), np.array(num_classes))
    assert table.dtype == np.int64
    assert [tuple(row) for row in table] == _vgg16_rows(size, num_classes)


def test_vgg16_table_counts_torchvisions_vgg16():
    torchvision = import_torchvision()
    with torch.device("meta"):
        model = torchvision.models.vgg16()
    table = ex.vgg16_table(224, 1000)
    assert table[:, 1].sum() == sum(p.numel() for p in model.parameters())
    # "Most of these parameters are in the first fully connected layer" (the lectures).
    assert table[-3, 1] == model.classifier[0].weight.numel() + model.classifier[0].bias.numel()
    assert table[-3, 1] > 0.7 * table[:, 1].sum()
