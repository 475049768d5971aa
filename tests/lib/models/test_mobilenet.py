"""MobileNet v1 (the paper's Table 1 and its counts) and v2 (torchvision: count and float64
outputs with its state_dict loaded unchanged)."""

from __future__ import annotations

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
from dlcourse.models.mobilenet_v1 import DepthwiseSeparable
from dlcourse.models.mobilenet_v2 import InvertedResidual

# Howard et al. 2017, Table 6: width multiplier -> millions of parameters (224, 1000 classes).
PAPER_V1_COUNTS = [(1.0, 4.2), (0.75, 2.6), (0.5, 1.3), (0.25, 0.5)]

# The lectures' Table 1, one row per separable block: (dw channels, pw out channels, input
# size, output size); the last dw row follows its sizes (7 -> 7), see the module docstring.
TABLE_1 = [(32, 64, 112, 112), (64, 128, 112, 56), (128, 128, 56, 56), (128, 256, 56, 28),
           (256, 256, 28, 28), (256, 512, 28, 14)] + [(512, 512, 14, 14)] * 5 + [
          (512, 1024, 14, 7), (1024, 1024, 7, 7)]  # fmt: skip


@pytest.mark.parametrize(("width_mult", "millions"), PAPER_V1_COUNTS)
def test_mobilenet_v1_has_the_papers_parameter_count(width_mult: float, millions: float) -> None:
    """Does MobileNet v1 at each width have the paper's parameter count (0.1M rounding)?"""
    model = get_model("mobilenet_v1", width_mult=width_mult)
    assert round(param_count(model) / 1e6, 1) == millions


def test_mobilenet_v1_follows_the_lectures_body_table() -> None:
    """Do the separable blocks have Table 1's channels and sizes for a 224x224 image?"""
    model = get_model("mobilenet_v1").eval()
    seen = []
    for module in model.modules():
        if isinstance(module, DepthwiseSeparable):
            module.register_forward_hook(
                lambda m, args, out: seen.append(
                    (m.depthwise[0].in_channels, out.shape[1], args[0].shape[-1], out.shape[-1])
                )
            )
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
    assert seen == TABLE_1
    assert out.shape == (1, 1000)
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    assert len(depthwise) == 13


def test_mobilenet_v2_matches_torchvision() -> None:
    """Does MobileNet v2 have torchvision's parameters and compute torchvision's function?"""
    torch.manual_seed(0)
    ours, theirs = get_model("mobilenet_v2"), torchvision_model("mobilenet_v2")
    assert param_count(ours) == param_count(theirs)
    assert_same_function(ours, theirs)


@pytest.mark.parametrize("width_mult", [0.35, 0.5, 0.75, 1.4])
def test_mobilenet_v2_width_multiplier_matches_torchvision(width_mult: float) -> None:
    """Does the width multiplier round channels as torchvision does (counts and outputs)?"""
    torch.manual_seed(0)
    ours = get_model("mobilenet_v2", width_mult=width_mult)
    theirs = torchvision_model("mobilenet_v2", width_mult=width_mult)
    assert param_count(ours) == param_count(theirs)
    assert_same_function(ours, theirs)


def test_inverted_residual_adds_only_where_the_shape_is_kept() -> None:
    """Is the shortcut used for stride 1 with equal channels, and only there? Is the last
    layer linear (no activation after the projection's norm)?"""
    assert InvertedResidual(24, 24, 1, 6).use_residual
    assert not InvertedResidual(24, 32, 1, 6).use_residual
    assert not InvertedResidual(24, 24, 2, 6).use_residual
    block = InvertedResidual(16, 24, 2, 6)
    assert isinstance(block.conv[-1], nn.BatchNorm2d)
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        InvertedResidual(16, 16, 3, 6)


def test_zeroing_last_norm_makes_an_inverted_residual_the_identity() -> None:
    """Is last_norm the norm after the linear projection, so that zeroing it leaves x?"""
    torch.manual_seed(0)
    block = InvertedResidual(16, 16, 1, 6).eval()
    assert block.last_norm is block.conv[3]
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert not torch.equal(block(x), x)
        block.last_norm.weight.zero_()
        assert torch.equal(block(x), x)


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2"])
def test_mobilenet_forward_backward_on_device(name: str, device: str) -> None:
    """Does a thin MobileNet run a training step on the device?"""
    torch.manual_seed(0)
    model = get_model(name, width_mult=0.25, num_classes=10).to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 32, 32, device=device), (2, 10))


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2"])
def test_mobilenet_rejects_a_non_positive_width(name: str) -> None:
    """Is width_mult <= 0 refused, naming the argument?"""
    with pytest.raises(ValueError, match="width_mult"):
        get_model(name, width_mult=0)
