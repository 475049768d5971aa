"""DenseNet-121/169/201 (and 161) against torchvision: parameter counts for all, and float64
outputs (eval mode, torchvision's state_dict loaded unchanged) for all, on 2x3x32x32 (the
smallest size four transitions and the stem leave at least 1x1)."""

from __future__ import annotations

import pytest
import torch
from tv_compare import assert_same_function, param_count, smoke_forward_backward, torchvision_model

from dlcourse.models import get_model
from dlcourse.models.densenet import DenseBlock, DenseNet, Transition


@pytest.mark.parametrize(
    "name",
    [
        "densenet121",
        pytest.param("densenet169", marks=pytest.mark.slow),
        pytest.param("densenet201", marks=pytest.mark.slow),
        pytest.param("densenet161", marks=pytest.mark.slow),
    ],
)
def test_densenet_matches_torchvision_count_and_outputs(name: str) -> None:
    """Does each DenseNet have torchvision's parameters and compute torchvision's function?"""
    torch.manual_seed(0)
    ours, theirs = get_model(name), torchvision_model(name)
    assert param_count(ours) == param_count(theirs)
    assert_same_function(ours, theirs)


def test_dense_block_grows_by_the_growth_rate() -> None:
    """Does a block of L layers add L * k channels, keeping the input as its first channels?"""
    torch.manual_seed(0)
    block = DenseBlock(num_layers=3, in_channels=5, growth_rate=4, bn_size=2).eval()
    x = torch.randn(2, 5, 6, 6)
    with torch.no_grad():
        out = block(x)
    assert out.shape == (2, 5 + 3 * 4, 6, 6)
    assert torch.equal(out[:, :5], x)


def test_transition_compresses_and_halves() -> None:
    """Does DenseNet-121's first transition take 256 channels at 8x8 to 128 at 4x4?"""
    model = get_model("densenet121")
    transition = model.features.transition1
    assert isinstance(transition, Transition)
    assert transition(torch.randn(2, 256, 8, 8)).shape == (2, 128, 4, 4)


def test_densenet_rejects_bad_compression() -> None:
    """Is a compression outside (0, 1] refused, naming the argument?"""
    with pytest.raises(ValueError, match="compression"):
        DenseNet(compression=1.5)


def test_densenet_forward_backward_on_device(device: str) -> None:
    """Does a small DenseNet-BC (k = 12) run a training step on the device?"""
    torch.manual_seed(0)
    model = DenseNet(12, (2, 2, 2), 24, num_classes=10).to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 32, 32, device=device), (2, 10))
