"""Squeeze-and-excitation (Hu et al. 2018): the block against its formula in float64, and
SE-ResNet-50/101 against the paper's parameter counts and its formula for the SE overhead
on top of torchvision's ResNet."""

from __future__ import annotations

import pytest
import torch
from tv_compare import param_count, smoke_forward_backward, torchvision_model

from dlcourse.models import get_model
from dlcourse.models.resnet import ResNet
from dlcourse.models.senet import SEBottleneck, SqueezeExcitation

# Stage output channels C_s and blocks N_s of ResNet-50 and ResNet-101.
STAGES = {"resnet50": [(256, 3), (512, 4), (1024, 6), (2048, 3)],
          "resnet101": [(256, 3), (512, 4), (1024, 23), (2048, 3)]}  # fmt: skip


def test_squeeze_excitation_matches_its_formula() -> None:
    """Is SE(x) = x * sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2), channel by channel?"""
    torch.manual_seed(0)
    se = SqueezeExcitation(32, reduction=4).double()
    x = torch.randn(2, 32, 5, 7, dtype=torch.float64)
    z = x.mean(dim=(2, 3))  # (N, C)
    gate = torch.sigmoid(
        torch.relu(z @ se.fc1.weight.T + se.fc1.bias) @ se.fc2.weight.T + se.fc2.bias
    )
    torch.testing.assert_close(se(x), x * gate[:, :, None, None], rtol=1e-12, atol=1e-12)
    assert se.fc1.out_features == 8


@pytest.mark.parametrize(
    ("name", "base", "millions"), [("se_resnet50", "resnet50", 28.09),
                                   ("se_resnet101", "resnet101", 49.33)],
)  # fmt: skip
def test_se_resnet_has_the_papers_parameter_count(name: str, base: str, millions: float) -> None:
    """Is SE-ResNet torchvision's ResNet plus the paper's 2/r sum N_s C_s^2 SE weights (and
    their biases), and does the total round to the paper's Table 7 figure?"""
    r = 16
    weights = sum(2 * n * c * c // r for c, n in STAGES[base])
    biases = sum(n * (c // r + c) for c, n in STAGES[base])
    count = param_count(get_model(name))
    assert count == param_count(torchvision_model(base)) + weights + biases
    assert round(count / 1e6, 2) == millions


def test_zero_init_residual_makes_se_blocks_their_shortcut() -> None:
    """With zero_init_residual, is each SE bottleneck relu(shortcut(x)) at init?"""
    torch.manual_seed(0)
    model = ResNet(SEBottleneck, [1, 1, 1, 1], zero_init_residual=True).eval()
    records = []
    for module in model.modules():
        if isinstance(module, SEBottleneck):
            module.register_forward_hook(
                lambda m, args, out: records.append((m, args[0].clone(), out.clone()))
            )
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
        assert len(records) == 4
        for module, block_in, block_out in records:
            assert module.last_norm is module.bn3
            assert torch.equal(block_out, torch.relu(module.downsample(block_in)))


def test_squeeze_excitation_rejects_a_bad_reduction() -> None:
    """Is a reduction that leaves no hidden unit refused, naming the argument?"""
    with pytest.raises(ValueError, match="reduction"):
        SqueezeExcitation(8, reduction=16)


def test_se_resnet_forward_backward_on_device(device: str) -> None:
    """Does SE-ResNet-50 run a training step on the device?"""
    torch.manual_seed(0)
    model = get_model("se_resnet50", num_classes=10).to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 16, 16, device=device), (2, 10))
