"""The references of going_deeper.ipynb against independent float64 oracles.

Each block is rewritten here with ``torch.nn.functional`` from the reference's own
weights (read by name from its ``state_dict``, so the names the notebook fixes are tested
too), and its gradients are checked with finite differences (``gradcheck``). Operation
counts are checked against counts of every multiply-add that a hook sees in a real
forward pass.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.exercises.a4 import going_deeper as ex


def _randomise(module: nn.Module, seed: int) -> nn.Module:
    """float64, with random norm statistics and affine parameters (else BN is ~identity)."""
    torch.manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.normal_(0, 0.2)
                layer.running_mean.normal_(0, 0.2)
                layer.running_var.uniform_(0.5, 1.5)
            elif isinstance(layer, nn.Conv2d) and layer.bias is not None:
                layer.bias.normal_(0, 0.2)
    return module.eval()


def _bn(x: torch.Tensor, s: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    return F.batch_norm(
        x, s[f"{name}.running_mean"], s[f"{name}.running_var"], s[f"{name}.weight"],
        s[f"{name}.bias"], training=False, eps=1e-5,
    )  # fmt: skip


def _conv(x: torch.Tensor, w: torch.Tensor, stride: int = 1) -> torch.Tensor:
    return F.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2)


def _shortcut(x: torch.Tensor, s: dict[str, torch.Tensor], stride: int) -> torch.Tensor:
    if "downsample.0.weight" not in s:
        return x
    return _bn(F.conv2d(x, s["downsample.0.weight"], stride=stride), s, "downsample.1")


def _basic(x, s, stride):
    out = F.relu(_bn(_conv(x, s["conv1.weight"], stride), s, "bn1"))
    out = _bn(_conv(out, s["conv2.weight"]), s, "bn2")
    return F.relu(out + _shortcut(x, s, stride))


def _state(module: nn.Module, device: str) -> dict[str, torch.Tensor]:
    return {k: v.detach().to(device) for k, v in module.state_dict().items()}


def _gradcheck(module: nn.Module, x: torch.Tensor) -> None:
    """Finite differences of the input and of every parameter at once."""
    params = list(module.parameters())

    names = [name for name, _ in module.named_parameters()]

    def fn(x_in, *values):
        return torch.func.functional_call(module, dict(zip(names, values, strict=True)), x_in)

    values = [p.detach().clone().requires_grad_(True) for p in params]
    assert torch.autograd.gradcheck(fn, (x.requires_grad_(True), *values), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize(
    ("c_in", "c_out", "stride", "projects"),
    [(4, 4, 1, False), (3, 5, 1, True), (4, 4, 2, True), (3, 6, 2, True)],
)
def test_residual_block_matches_the_functional_oracle(device, c_in, c_out, stride, projects):
    block = _randomise(ex.ResidualBlock(c_in, c_out, stride), seed=c_in + c_out + stride)
    assert (block.downsample is not None) == projects
    block = block.to(device)
    x = torch.randn(2, c_in, 7, 6, dtype=torch.float64, device=device)
    expected = _basic(x, _state(block, device), stride)
    assert expected.shape == (2, c_out, -(-7 // stride), -(-6 // stride))
    torch.testing.assert_close(block(x), expected, rtol=1e-10, atol=1e-12)


def test_residual_block_gradients_match_finite_differences():
    block = _randomise(ex.ResidualBlock(2, 3, 2), seed=1)
    _gradcheck(block, torch.randn(1, 2, 5, 5, dtype=torch.float64))


@pytest.mark.parametrize(("c_in", "planes", "stride"), [(8, 2, 1), (3, 2, 1), (8, 2, 2)])
def test_bottleneck_matches_the_functional_oracle(device, c_in, planes, stride):
    block = _randomise(ex.Bottleneck(c_in, planes, stride), seed=c_in + stride).to(device)
    s = _state(block, device)
    assert s["conv3.weight"].shape == (4 * planes, planes, 1, 1)  # the expansion is 4
    assert ("downsample.0.weight" in s) == (stride != 1 or c_in != 4 * planes)
    x = torch.randn(2, c_in, 6, 6, dtype=torch.float64, device=device)
    out = F.relu(_bn(F.conv2d(x, s["conv1.weight"]), s, "bn1"))
    out = F.relu(_bn(_conv(out, s["conv2.weight"], stride), s, "bn2"))
    out = _bn(F.conv2d(out, s["conv3.weight"]), s, "bn3")
    expected = F.relu(out + _shortcut(x, s, stride))
    torch.testing.assert_close(block(x), expected, rtol=1e-10, atol=1e-12)


def test_bottleneck_gradients_match_finite_differences():
    block = _randomise(ex.Bottleneck(3, 1, 2), seed=2)
    _gradcheck(block, torch.randn(1, 3, 4, 4, dtype=torch.float64))


@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(4, 4, 1), (3, 5, 2)])
def test_preact_block_matches_the_functional_oracle(device, c_in, c_out, stride):
    block = _randomise(ex.PreActBlock(c_in, c_out, stride), seed=c_in).to(device)
    s = _state(block, device)
    x = torch.randn(2, c_in, 6, 5, dtype=torch.float64, device=device)
    pre = F.relu(_bn(x, s, "bn1"))
    shortcut = (
        x if "shortcut.weight" not in s else F.conv2d(pre, s["shortcut.weight"], stride=stride)
    )
    out = _conv(F.relu(_bn(_conv(pre, s["conv1.weight"], stride), s, "bn2")), s["conv2.weight"])
    torch.testing.assert_close(block(x), out + shortcut, rtol=1e-10, atol=1e-12)


def test_preact_block_gradients_match_finite_differences():
    block = _randomise(ex.PreActBlock(2, 3, 2), seed=3)
    _gradcheck(block, torch.randn(1, 2, 5, 5, dtype=torch.float64))


def test_inception_matches_the_functional_oracle(device):
    module = _randomise(ex.Inception(5, 2, 3, 4, 2, 3, 2), seed=4).to(device)
    s = _state(module, device)
    x = torch.randn(2, 5, 7, 6, dtype=torch.float64, device=device)

    def conv_relu(t, name):
        return F.relu(_conv(t, s[f"{name}.conv.weight"]) + s[f"{name}.conv.bias"][:, None, None])

    branches = [
        conv_relu(x, "branch1"),
        conv_relu(conv_relu(x, "branch2.0"), "branch2.1"),
        conv_relu(conv_relu(x, "branch3.0"), "branch3.1"),
        conv_relu(F.max_pool2d(x, 3, stride=1, padding=1), "branch4.1"),
    ]
    assert s["branch3.1.conv.weight"].shape[-1] == 5  # the paper's 5x5, not torchvision's 3x3
    expected = torch.cat(branches, dim=1)
    assert expected.shape == (2, 2 + 4 + 3 + 2, 7, 6)
    torch.testing.assert_close(module(x), expected, rtol=1e-10, atol=1e-12)


def test_inception_gradients_match_finite_differences():
    module = _randomise(ex.Inception(2, 1, 2, 1, 1, 1, 1), seed=5)
    _gradcheck(module, torch.randn(1, 2, 4, 4, dtype=torch.float64))


def _hooked_macs(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of every convolution in a forward pass, counted from its output."""
    total = 0

    def hook(layer, _inputs, out):
        nonlocal total
        kh, kw = layer.kernel_size
        total += out.numel() * (layer.in_channels // layer.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        module(x)
    for handle in handles:
        handle.remove()
    return total


class _NaiveInception(nn.Module):
    """Figure 2(a): 1x1, 3x3 and 5x5 convolutions of the input and its 3x3 max pool."""

    def __init__(self, c, ch1x1, ch3x3, ch5x5):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(c, width, k, padding=k // 2)
            for width, k in ((ch1x1, 1), (ch3x3, 3), (ch5x5, 5))
        )

    def forward(self, x):
        pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([conv(x) for conv in self.convs] + [pooled], dim=1)


@pytest.mark.parametrize(
    "widths",
    [(192, 64, 96, 128, 16, 32, 32), (256, 128, 64, 192, 64, 96, 64), (5, 2, 3, 4, 1, 3, 2)],
)
def test_inception_macs_count_what_the_modules_compute(widths):
    h, w = 9, 7
    x = torch.zeros(1, widths[0], h, w)
    with_red, without = ex.inception_macs(*widths, h, w)
    assert with_red == _hooked_macs(ex.Inception(*widths), x)
    c, ch1x1, _, ch3x3, _, ch5x5, _ = widths
    assert without == _hooked_macs(_NaiveInception(c, ch1x1, ch3x3, ch5x5), x)


def test_inception_3a_figures():
    # Module 3a of GoogLeNet on its 28x28 map: the weights of the docstring of
    # dlcourse.models.googlenet (163,328) times the 784 positions.
    macs = ex.inception_macs(192, 64, 96, 128, 16, 32, 32, 28, 28)
    assert macs[0] == 163_328 * 28 * 28
    assert macs[1] > 2.3 * macs[0]


@pytest.mark.parametrize(
    ("widths", "blocks", "size"), [((4, 8), (1, 2), 9), ((3, 5, 6), (2, 1, 1), 8)]
)
def test_small_resnet_stacks_residual_blocks(device, widths, blocks, size):
    net = _randomise(ex.SmallResNet(widths, blocks, num_classes=5, in_channels=2), seed=6).to(
        device
    )
    s = _state(net, device)
    x = torch.randn(3, 2, size, size, dtype=torch.float64, device=device)
    out = F.relu(_bn(_conv(x, s["conv1.weight"]), s, "bn1"))
    for i, count in enumerate(blocks):
        for j in range(count):
            prefix = f"stages.{i}.{j}."
            sub = {k[len(prefix) :]: v for k, v in s.items() if k.startswith(prefix)}
            out = _basic(out, sub, 2 if (i > 0 and j == 0) else 1)
    expected = out.mean(dim=(2, 3)) @ s["fc.weight"].T + s["fc.bias"]
    torch.testing.assert_close(net(x), expected, rtol=1e-10, atol=1e-12)
    # Parameters: the stem, two 3x3 convolutions and two norms per block, a projection
    # at each stage whose shape changes, and the classifier.
    count = 9 * 2 * widths[0] + 2 * widths[0]
    c_prev = widths[0]
    for i, (width, n) in enumerate(zip(widths, blocks, strict=True)):
        count += 9 * c_prev * width + 9 * width * width + 4 * width
        count += (n - 1) * (18 * width * width + 4 * width)
        if i > 0 or c_prev != width:
            count += c_prev * width + 2 * width
        c_prev = width
    count += (widths[-1] + 1) * 5
    assert sum(p.numel() for p in net.parameters()) == count


def test_small_resnet_rejects_mismatched_stages():
    with pytest.raises(ValueError, match="widths and blocks"):
        ex.SmallResNet((4, 8), (1,), 3)


def test_zero_initialised_last_norm_makes_the_block_its_shortcut():
    # With bn2's weight and bias at zero the branch is zero: out = relu(shortcut(x)).
    block = _randomise(ex.ResidualBlock(3, 5, 2), seed=7)
    with torch.no_grad():
        block.bn2.weight.zero_()
        block.bn2.bias.zero_()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    s = _state(block, "cpu")
    torch.testing.assert_close(block(x), F.relu(_shortcut(x, s, 2)), rtol=0, atol=0)


def test_bottleneck_per_position_figures():
    # The lecture's bottleneck figure: a 3x3 convolution 256 -> 256 against 1x1 256 -> 64,
    # 3x3 64 -> 64, 1x1 64 -> 256, multiply-adds per output position, counted by hooks.
    x = torch.zeros(1, 256, 3, 3)
    plain = _hooked_macs(nn.Conv2d(256, 256, 3, padding=1, bias=False), x) // 9
    bottleneck = ex.Bottleneck(256, 64)
    branch = nn.Sequential(bottleneck.conv1, bottleneck.conv2, bottleneck.conv3)
    reduced = _hooked_macs(branch, x) // 9
    assert (plain, reduced) == (589_824, 69_632)
    assert np.isclose(plain / reduced, 8.47, atol=0.01)
