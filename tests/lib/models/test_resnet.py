"""ResNet-18/34/50/101/152 against torchvision, the CIFAR variant, zero-init residuals, and
the lectures' bottleneck operation count.

Every depth is compared twice against torchvision: the parameter count, and the outputs
in float64 (eval mode) after loading torchvision's randomly initialised ``state_dict``
(randomised norm statistics) into ours under the identity key mapping, on a 2x3x32x32 input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from tv_compare import (
    assert_same_function,
    param_count,
    smoke_forward_backward,
    torchvision_model,
)

from dlcourse.models import get_model
from dlcourse.models._layers import conv3x3
from dlcourse.models.resnet import BasicBlock, Bottleneck, ResidualBlock, ResNet

REPO = Path(__file__).resolve().parents[3]

DEPTHS = [
    "resnet18",
    "resnet34",
    "resnet50",
    pytest.param("resnet101", marks=pytest.mark.slow),
    pytest.param("resnet152", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name", DEPTHS)
def test_resnet_matches_torchvision_count_and_outputs(name: str) -> None:
    """Does each depth have torchvision's parameters and compute torchvision's function?"""
    torch.manual_seed(0)
    ours, theirs = get_model(name), torchvision_model(name)
    assert param_count(ours) == param_count(theirs)
    assert_same_function(ours, theirs)


def test_resnet18_cifar_matches_torchvision_made_the_same_shape() -> None:
    """Is resnet18_cifar torchvision's ResNet-18 with a 3x3/1 stem, no max pool, 10 classes?"""
    torch.manual_seed(0)
    theirs = torchvision_model("resnet18", num_classes=10)
    theirs.conv1 = conv3x3(3, 64)
    theirs.maxpool = nn.Identity()
    ours = get_model("resnet18_cifar")
    assert param_count(ours) == param_count(theirs) == 11_173_962
    assert_same_function(ours, theirs)


def test_cifar_stem_keeps_32x32_until_layer2() -> None:
    """Does the CIFAR stem leave a 32x32 map for layer1 (and 4x4 after layer4)?"""
    model = get_model("resnet18_cifar").eval()
    shapes = {}
    for name in ("layer1", "layer4"):
        getattr(model, name).register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    assert shapes == {"layer1": (1, 64, 32, 32), "layer4": (1, 512, 4, 4)}


def _block_inputs_outputs(model: nn.Module, x: torch.Tensor) -> list[tuple]:
    records = []
    for module in model.modules():
        if isinstance(module, BasicBlock | Bottleneck):
            module.register_forward_hook(
                lambda m, args, out: records.append((m, args[0].clone(), out.clone()))
            )
    with torch.no_grad():
        model(x)
    return records


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_zero_init_residual_makes_every_block_its_shortcut(block: ResidualBlock) -> None:
    """With zero_init_residual, is each block's output relu(shortcut(x)) at init, and not
    without it? (Two blocks a stage: identity and projection shortcuts both occur.)"""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    for zero, expect_equal in ((True, True), (False, False)):
        model = ResNet(block, [2, 2, 2, 2], zero_init_residual=zero).eval()
        records = _block_inputs_outputs(model, x)
        assert len(records) == 8
        for module, block_in, block_out in records:
            last = module.bn2 if isinstance(module, BasicBlock) else module.bn3
            assert module.last_norm is last
            with torch.no_grad():
                shortcut = block_in if module.downsample is None else module.downsample(block_in)
            equal = torch.equal(block_out, torch.relu(shortcut))
            assert equal is expect_equal, f"{block.__name__}, zero_init_residual={zero}"


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_zero_init_residual_zeroes_the_norms_torchvision_zeroes(name: str) -> None:
    """Does zero_init_residual zero exactly the norm weights torchvision's option zeroes?"""

    def zeroed(model: nn.Module) -> list[str]:
        return sorted(
            key
            for key, value in model.state_dict().items()
            if key.endswith("weight") and value.dim() == 1 and not value.any()
        )

    ours = zeroed(get_model(name, zero_init_residual=True))
    assert ours == zeroed(torchvision_model(name, zero_init_residual=True))
    assert len(ours) == (8 if name == "resnet18" else 16)


def test_last_norm_is_not_a_second_state_dict_entry() -> None:
    """Is last_norm an alias (a property), so state_dict keys stay torchvision's?"""
    model = get_model("resnet18")
    assert not any("last_norm" in key for key in model.state_dict())
    assert isinstance(model.layer1[0].last_norm, nn.BatchNorm2d)


def _macs_per_position(module: nn.Module, x: torch.Tensor) -> list[int]:
    """Multiply-adds per output position of each convolution, measured on a real forward."""
    counts = []

    def hook(conv: nn.Conv2d, _args: tuple, out: torch.Tensor) -> None:
        kh, kw = conv.kernel_size
        per_output_value = conv.in_channels // conv.groups * kh * kw
        positions = out.shape[-2] * out.shape[-1]
        counts.append(out[0].numel() * per_output_value // positions)

    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            conv.register_forward_hook(hook)
    with torch.no_grad():
        module(x)
    return counts


def test_bottleneck_operations_match_the_lecture() -> None:
    """Lecture 003: a 3x3 conv on 256 maps costs 256x256x3x3 ~600K operations; the
    bottleneck's 1x1 (256->64), 3x3 (64->64), 1x1 (64->256) cost ~16K + ~36K + ~16K ~70K."""
    x = torch.randn(1, 256, 8, 8)
    bottleneck = Bottleneck(256, 64).eval()
    parts = _macs_per_position(bottleneck, x)
    plain = _macs_per_position(conv3x3(256, 256), x)
    assert parts == [256 * 64 * 1 * 1, 64 * 64 * 3 * 3, 64 * 256 * 1 * 1]
    assert plain == [256 * 256 * 3 * 3]
    lecture_figures = [16e3, 36e3, 16e3, 70e3, 600e3]
    for measured, lecture in zip([*parts, sum(parts), *plain], lecture_figures, strict=True):
        assert abs(measured - lecture) / lecture < 0.05, (measured, lecture)
    assert plain[0] / sum(parts) > 8


@pytest.mark.parametrize("name", ["resnet18_cifar", "resnet50"])
def test_resnet_forward_backward_on_device(name: str, device: str) -> None:
    """Does a training step's forward and backward run on the device, reaching every weight?"""
    torch.manual_seed(0)
    model = get_model(name, num_classes=10).to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 16, 16, device=device), (2, 10))


def test_resnet_rejects_bad_configuration() -> None:
    """Are a wrong stem name and a wrong number of stages refused, naming the argument?"""
    with pytest.raises(ValueError, match="stem must be"):
        ResNet(BasicBlock, [2, 2, 2, 2], stem="tiny")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layers must give 4"):
        ResNet(BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="BasicBlock supports groups=1"):
        BasicBlock(64, 64, groups=2)


@pytest.mark.slow
def test_resnet_benchmark_runs_and_writes_its_json(tmp_path: Path) -> None:
    """Does ``benchmarks/bench_resnet.py --quick`` run, compare ours with torchvision on one
    function (equal outputs), and write every figure with its target?"""
    report_path = tmp_path / "bench_resnet.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_resnet.py"), "--quick",
         "--json", str(report_path)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ratio" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["meta"]["threads"] == 2
    assert report["target"] == 1.05
    (row,) = report["rows"]
    assert row["device"] == "cpu"
    assert row["max_abs_diff_eval_output"] < 1e-5
    assert row["ours_images_per_s"] > 0 and row["torchvision_images_per_s"] > 0
    assert row["meets_target"] == (row["ratio"] <= 1.05)


@pytest.mark.parametrize("name", ["resnet18_cifar", "resnet50"])
def test_folding_batch_norm_keeps_a_resnet_s_outputs_in_eval_mode(name: str) -> None:
    """Does fold_batchnorm fold every block's declared conv/norm pairs and the shortcut's
    Sequential, leaving no BatchNorm2d and the eval-mode outputs unchanged (float64)?"""
    from dlcourse.torchnn import fold_batchnorm

    torch.manual_seed(0)
    model = get_model(name, num_classes=10).double()
    for module in model.modules():  # statistics and affine terms away from their defaults
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.5, 0.5)
    model.eval()
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-10, atol=1e-10)
