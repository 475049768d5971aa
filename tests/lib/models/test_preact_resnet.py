"""Pre-activation ResNet (He et al. 2016, "Identity Mappings in Deep Residual Networks").

torchvision has no pre-activation ResNet, so the oracles are: a float64 functional
re-statement of the paper's block (torch.nn.functional, written here), torchvision's
ResNet-18 for the convolution shapes (the two share every convolution and the fc), and the
zero-initialised branch leaving a pure identity path.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from tv_compare import randomize_norms, smoke_forward_backward, torchvision_model

from dlcourse.models import get_model
from dlcourse.models.preact_resnet import (
    PreActBasicBlock,
    PreActBlock,
    PreActBottleneck,
    PreActResNet,
)


def _bn(x: torch.Tensor, norm: nn.BatchNorm2d) -> torch.Tensor:
    return F.batch_norm(
        x, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
    )


def _paper_basic_block(block: PreActBasicBlock, x: torch.Tensor, stride: int) -> torch.Tensor:
    """Fig. 4(e) of the paper: x + conv(relu(bn(conv(relu(bn(x)))))), eval mode."""
    pre = F.relu(_bn(x, block.bn1))
    out = F.conv2d(pre, block.conv1.weight, stride=stride, padding=1)
    out = F.conv2d(F.relu(_bn(out, block.bn2)), block.conv2.weight, padding=1)
    shortcut = x if block.shortcut is None else F.conv2d(pre, block.shortcut.weight, stride=stride)
    return out + shortcut


@pytest.mark.parametrize(("in_channels", "planes", "stride"), [(16, 16, 1), (16, 32, 2)])
def test_preact_basic_block_matches_the_paper(in_channels: int, planes: int, stride: int) -> None:
    """Is the block bn-relu-conv-bn-relu-conv plus the (pre-activated, projected) shortcut,
    with nothing after the addition?"""
    torch.manual_seed(0)
    block = PreActBasicBlock(in_channels, planes, stride)
    randomize_norms(block)
    block.double().eval()
    x = torch.randn(2, in_channels, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        out = block(x)
        expected = _paper_basic_block(block, x, stride)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert (out < 0).any(), "no relu may follow the addition"


def test_preact_resnet18_has_resnet18s_convolutions() -> None:
    """Does pre-activation ResNet-18 carry exactly ResNet-18's convolution and fc weights,
    its norms on the block inputs plus one final norm (and none on the projections)?"""
    ours, theirs = get_model("preact_resnet18"), torchvision_model("resnet18")

    def shapes(model: nn.Module, kind: type[nn.Module]) -> list[tuple[int, ...]]:
        return sorted(tuple(m.weight.shape) for m in model.modules() if isinstance(m, kind))

    assert shapes(ours, nn.Conv2d) == shapes(theirs, nn.Conv2d)
    assert shapes(ours, nn.Linear) == shapes(theirs, nn.Linear)
    norms = [m.num_features for m in ours.modules() if isinstance(m, nn.BatchNorm2d)]
    # stem; per block bn1 over its input and bn2 over its planes; the final norm.
    blocks = [(64, 64)] * 2 + [(64, 128), (128, 128), (128, 256), (256, 256)]
    blocks += [(256, 512), (512, 512)]
    expected = [64] + [c for pair in blocks for c in pair] + [512]
    assert norms == expected


@pytest.mark.parametrize("block", [PreActBasicBlock, PreActBottleneck])
def test_zero_init_residual_leaves_a_pure_identity_path(block: PreActBlock) -> None:
    """With zero_init_residual, does every block output exactly its shortcut (x itself where
    the shape is kept), and not without it?"""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 16)
    for zero in (True, False):
        model = PreActResNet(block, [2, 2, 2, 2], stem="cifar", zero_init_residual=zero).eval()
        records = []
        for module in model.modules():
            if isinstance(module, PreActBasicBlock | PreActBottleneck):
                module.register_forward_hook(
                    lambda m, args, out, records=records: records.append(
                        (m, args[0].clone(), out.clone())
                    )
                )
        with torch.no_grad():
            model(x)
        assert len(records) == 8
        for module, block_in, block_out in records:
            assert module.last_norm is (module.bn2 if block is PreActBasicBlock else module.bn3)
            with torch.no_grad():
                pre = module.relu(module.bn1(block_in.clone()))
                shortcut = block_in if module.shortcut is None else module.shortcut(pre)
            assert torch.equal(block_out, shortcut) is zero, f"zero_init_residual={zero}"


@pytest.mark.parametrize("name", ["preact_resnet18_cifar", "preact_resnet50"])
def test_preact_resnet_forward_backward_on_device(name: str, device: str) -> None:
    """Does a training step run on the device with gradients reaching every weight?"""
    torch.manual_seed(0)
    model = get_model(name, num_classes=10).to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 16, 16, device=device), (2, 10))


def test_preact_resnet_rejects_mismatched_stages() -> None:
    """Are layers and widths of different lengths refused, naming both?"""
    with pytest.raises(ValueError, match="layers and widths"):
        PreActResNet(PreActBasicBlock, [2, 2], widths=(16, 32, 64))
    with pytest.raises(ValueError, match="stem must be"):
        PreActResNet(PreActBasicBlock, [2], widths=(16,), stem="big")  # type: ignore[arg-type]
