"""Wide ResNets (Zagoruyko and Komodakis 2016): the paper's CIFAR counts and torchvision's
``wide_resnet50_2`` (count and float64 outputs after loading its state_dict unchanged)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from tv_compare import assert_same_function, param_count, smoke_forward_backward, torchvision_model

from dlcourse.models import get_model
from dlcourse.models.wide_resnet import wide_resnet_cifar

# The paper's Tables 1 and 4: WRN-depth-k and its parameters in millions (10 classes).
PAPER_COUNTS = [(40, 1, 0.6), (40, 2, 2.2), (40, 4, 8.9), (16, 8, 11.0), (22, 8, 17.2),
                (28, 10, 36.5)]  # fmt: skip


@pytest.mark.parametrize(("depth", "k", "millions"), PAPER_COUNTS)
def test_wide_resnet_cifar_has_the_papers_parameter_count(
    depth: int, k: int, millions: float
) -> None:
    """Does WRN-d-k have the parameter count the paper states, to its 0.1M rounding?"""
    assert round(param_count(wide_resnet_cifar(depth, k)) / 1e6, 1) == millions


def test_wrn_28_10_is_registered_with_the_papers_layout() -> None:
    """Is wrn_28_10 4 blocks a stage of widths 160, 320, 640 behind a 16-channel stem?"""
    model = get_model("wrn_28_10")
    assert model.conv1.out_channels == 16
    widths = [[block.conv2.out_channels for block in stage] for stage in model.layers]
    assert widths == [[160] * 4, [320] * 4, [640] * 4]
    assert model.fc.out_features == 10


def test_wide_resnet50_2_matches_torchvision() -> None:
    """Does wide_resnet50_2 have torchvision's parameters and compute its function?"""
    torch.manual_seed(0)
    ours, theirs = get_model("wide_resnet50_2"), torchvision_model("wide_resnet50_2")
    assert param_count(ours) == param_count(theirs)
    assert_same_function(ours, theirs)


def test_wide_resnet101_2_has_torchvisions_count() -> None:
    """Does wide_resnet101_2 have torchvision's parameter count (outputs: see the 50-2 test,
    the same code path)?"""
    assert param_count(get_model("wide_resnet101_2")) == param_count(
        torchvision_model("wide_resnet101_2")
    )


def test_dropout_sits_between_the_convolutions() -> None:
    """With dropout, is there one Dropout per block, and does train mode become random?"""
    torch.manual_seed(0)
    model = wide_resnet_cifar(10, 1, dropout=0.3)
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 3
    x = torch.randn(2, 3, 16, 16)
    model.train()
    assert not torch.equal(model(x), model(x))


def test_wide_resnet_cifar_rejects_bad_depth() -> None:
    """Is a depth that is not 6n + 4 refused, naming the argument?"""
    with pytest.raises(ValueError, match="depth must be 6n"):
        wide_resnet_cifar(27, 10)
    with pytest.raises(ValueError, match="widen_factor"):
        wide_resnet_cifar(28, 0)


def test_wide_resnet_forward_backward_on_device(device: str) -> None:
    """Does WRN-16-4 (with dropout) run a training step on the device?"""
    torch.manual_seed(0)
    model = get_model("wrn_16_4", dropout=0.3).to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 16, 16, device=device), (2, 10))
