"""The references of ``efficient_nets.ipynb`` against independent oracles.

Modules are compared in float64 with torchvision's blocks (the inverted residual, the
dense block) or with functional PyTorch written here (the separable block, SE), with
the same random weights and batch-norm statistics loaded into both; their gradients are
checked with finite differences. The counts are compared with brute force: hooks on the
library's MobileNet v1 and DenseNet, and the depthwise-separable cost formula.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision_oracle import import_torchvision

from autograder.specs.modules import reference_module
from dlcourse.exercises.a4 import efficient_nets as ex
from dlcourse.models.densenet import DenseNet
from dlcourse.models.mobilenet_v1 import MobileNetV1

torchvision = import_torchvision()


def _module(cls, seed: int, **args) -> nn.Module:
    """``cls(**args)`` in float64 with random weights and batch-norm statistics."""
    return reference_module(cls, np.random.default_rng(seed), args).eval()


def _bn(x: torch.Tensor, state: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x,
        state[f"{prefix}.running_mean"],
        state[f"{prefix}.running_var"],
        state[f"{prefix}.weight"],
        state[f"{prefix}.bias"],
        training=False,
        eps=1e-5,
    )


def _gradcheck(module: nn.Module, x: torch.Tensor) -> None:
    x = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5)


# --------------------------------------------------------------------------- separable


@pytest.mark.parametrize(
    ("m", "n", "k", "h", "w"), [(32, 64, 3, 112, 112), (3, 5, 5, 7, 9), (8, 1, 1, 2, 3)]
)
def test_separable_cost_counts_and_ratio(m, n, k, h, w):
    standard, separable, ratio = ex.separable_cost(
        np.array(m), np.array(n), np.array(k), np.array(h), np.array(w)
    )
    # Brute force: one dot product of length k*k*m (standard) or k*k (depthwise) or m
    # (pointwise) per output value.
    assert standard == (h * w * n) * (k * k * m)
    assert separable == (h * w * m) * (k * k) + (h * w * n) * m
    assert ratio == pytest.approx(1 / n + 1 / k**2, rel=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_separable_matches_functional_ops(device, stride):
    block = _module(ex.DepthwiseSeparable, 0, in_channels=3, out_channels=5, stride=stride)
    block = block.to(device)
    state = block.state_dict()
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64, device=device)
    h = F.conv2d(x, state["depthwise.0.weight"], stride=stride, padding=1, groups=3)
    h = F.relu(_bn(h, state, "depthwise.1"))
    expected = F.relu(_bn(F.conv2d(h, state["pointwise.0.weight"]), state, "pointwise.1"))
    out = block(x)
    assert out.shape == (2, 5, -(-7 // stride), -(-8 // stride))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    _gradcheck(block, x)


def test_depthwise_separable_parameter_count():
    c, f = 32, 64
    block = ex.DepthwiseSeparable(c, f)
    assert sum(p.numel() for p in block.parameters()) == 9 * c + c * f + 2 * c + 2 * f


# --------------------------------------------------------------------------- MobileNet v1


def _hook_table(alpha: float, resolution: int, num_classes: int) -> np.ndarray:
    """The layer table of the library's MobileNetV1, read off a forward pass with hooks."""
    model = MobileNetV1(num_classes=num_classes, width_mult=alpha).eval()
    rows: list[tuple[int, int, int, int]] = []

    def hook(layer, inputs, output):
        if isinstance(layer, nn.Conv2d):
            per_output = layer.weight[0].numel()  # (C_in / groups) * kh * kw
            rows.append((output.shape[-1], output.shape[1], layer.weight.numel(),
                         output[0].numel() * per_output))  # fmt: skip
        else:
            params = layer.weight.numel() + layer.bias.numel()
            rows.append((1, output.shape[1], params, output[0].numel() * layer.in_features))

    for layer in model.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            layer.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))
    return np.array(rows, dtype=np.int64)


@pytest.mark.parametrize(
    ("alpha", "resolution", "num_classes"), [(1.0, 224, 1000), (0.5, 97, 10), (0.25, 64, 3)]
)
def test_mobilenet_v1_table_matches_the_library_model(alpha, resolution, num_classes):
    table = ex.mobilenet_v1_table(np.array(alpha), np.array(resolution), np.array(num_classes))
    assert table.shape == (28, 4) and table.dtype == np.int64
    np.testing.assert_array_equal(table, _hook_table(alpha, resolution, num_classes))


def test_mobilenet_v1_totals_are_the_papers():
    # Howard et al. 2017, Table 7: 1.0 MobileNet-224 has 4.2M parameters and 569M
    # mult-adds; 0.5 MobileNet-224 1.3M and 149M.
    for alpha, params, macs in [(1.0, 4.2e6, 569e6), (0.5, 1.3e6, 149e6)]:
        table = ex.mobilenet_v1_table(alpha, 224, 1000)
        assert round(table[:, 2].sum() / 1e5) == round(params / 1e5)
        assert round(table[:, 3].sum() / 1e6) == pytest.approx(macs / 1e6, abs=1)
    # The sizes of the lecture's "Input Size" column, with the last dw row at stride 1.
    sizes = ex.mobilenet_v1_table(1.0, 224, 1000)[:-1, 0]
    assert sorted(set(sizes.tolist()), reverse=True) == [112, 56, 28, 14, 7]


def test_mobilenet_v1_table_rejects_bad_arguments():
    with pytest.raises(ValueError, match="resolution"):
        ex.mobilenet_v1_table(1.0, 0, 10)
    with pytest.raises(ValueError, match="alpha"):
        ex.mobilenet_v1_table(0.0, 224, 10)


# --------------------------------------------------------------------------- MobileNet v2


@pytest.mark.parametrize(
    ("c_in", "c_out", "stride", "t"), [(3, 3, 1, 6), (3, 5, 2, 2), (4, 4, 1, 1), (2, 3, 1, 3)]
)
def test_inverted_residual_matches_torchvision(device, c_in, c_out, stride, t):
    block = _module(
        ex.InvertedResidual, 1, in_channels=c_in, out_channels=c_out, stride=stride,
        expand_ratio=t,
    ).to(device)  # fmt: skip
    oracle = torchvision.models.mobilenetv2.InvertedResidual(c_in, c_out, stride, t)
    oracle = oracle.double().to(device).eval()
    oracle.load_state_dict(block.state_dict(), strict=True)
    x = torch.randn(2, c_in, 7, 6, dtype=torch.float64, device=device)
    torch.testing.assert_close(block(x), oracle(x), rtol=1e-12, atol=1e-12)
    assert block.use_residual == (stride == 1 and c_in == c_out)
    _gradcheck(block, x)


# --------------------------------------------------------------------------- SE


def test_squeeze_excitation_matches_functional_ops(device):
    se = _module(ex.SqueezeExcitation, 2, channels=8, reduction=3).to(device)
    state = se.state_dict()
    x = torch.randn(3, 8, 5, 4, dtype=torch.float64, device=device)
    s = x.mean(dim=(2, 3))
    s = F.relu(F.linear(s, state["fc1.weight"], state["fc1.bias"]))
    gate = torch.sigmoid(F.linear(s, state["fc2.weight"], state["fc2.bias"]))
    assert state["fc1.weight"].shape == (8 // 3, 8)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None], rtol=1e-12, atol=1e-12)
    _gradcheck(se, x)


# --------------------------------------------------------------------------- DenseNet


def test_dense_layer_takes_one_tensor(device):
    layer = _module(ex.DenseLayer, 3, in_channels=5, growth_rate=3, bn_size=2).to(device)
    state = layer.state_dict()
    x = torch.randn(2, 5, 6, 6, dtype=torch.float64, device=device)
    h = F.conv2d(F.relu(_bn(x, state, "norm1")), state["conv1.weight"])
    expected = F.conv2d(F.relu(_bn(h, state, "norm2")), state["conv2.weight"], padding=1)
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)
    _gradcheck(layer, x)


@pytest.mark.parametrize(("layers", "c_in", "k", "bn_size"), [(3, 4, 2, 2), (1, 3, 5, 1)])
def test_dense_block_matches_torchvision(device, layers, c_in, k, bn_size):
    block = _module(
        ex.DenseBlock, 4, num_layers=layers, in_channels=c_in, growth_rate=k, bn_size=bn_size
    ).to(device)
    oracle = torchvision.models.densenet._DenseBlock(layers, c_in, bn_size, k, drop_rate=0.0)
    oracle = oracle.double().to(device).eval()
    oracle.load_state_dict(block.state_dict(), strict=True)
    x = torch.randn(2, c_in, 5, 5, dtype=torch.float64, device=device)
    out = block(x)
    assert out.shape == (2, c_in + layers * k, 5, 5)
    torch.testing.assert_close(out, oracle(x), rtol=1e-12, atol=1e-12)
    _gradcheck(block, x)


def _model_channels(growth_rate: int, blocks: tuple[int, ...], stem: int, compression: float):
    """Channels after every block and transition of the library's DenseNet, read off the
    batch norms that follow them (a transition's norm follows its block)."""
    model = DenseNet(growth_rate, blocks, stem, compression=compression)
    counts = []
    for name, layer in model.features.named_children():
        if name.startswith("transition"):
            counts += [layer.norm.num_features, layer.conv.out_channels]
    counts.append(model.classifier.in_features)
    return counts


@pytest.mark.parametrize(
    ("stem", "k", "blocks", "compression"),
    [(64, 32, (6, 12, 24, 16), 0.5), (24, 12, (3, 5), 1.0), (17, 7, (2, 3, 4), 0.75)],
)
def test_densenet_channels_match_the_library_model(stem, k, blocks, compression):
    counts = ex.densenet_channels(np.array(stem), np.array(k), np.array(blocks),
                                  np.array(compression))  # fmt: skip
    assert counts.dtype == np.int64
    assert counts.tolist() == _model_channels(k, blocks, stem, compression)


def test_densenet121_channels_are_torchvisions():
    model = torchvision.models.densenet121()
    counts = ex.densenet_channels(64, 32, np.array([6, 12, 24, 16]), 0.5)
    assert counts[-1] == model.classifier.in_features == 1024
