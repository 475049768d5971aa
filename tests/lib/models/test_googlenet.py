"""GoogLeNet: torchvision as the oracle for its variant, the paper for the default."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision_oracle import import_torchvision
from tv_compare import adopt_state, float64_on_cpu, param_count

from dlcourse.models.googlenet import BasicConv2d, GoogLeNetOutputs, Inception, googlenet

# torchvision's choices: a 3x3 kernel in the "5x5" branch, batch norm instead of biases.
TORCHVISION_OPTIONS = {"batch_norm": True, "branch3_kernel": 3, "dropout": 0.2}


def _meta(build):
    with torch.device("meta"):
        return build()


def _tv_googlenet(aux_logits: bool):
    tv = import_torchvision()
    return lambda: tv.models.googlenet(aux_logits=aux_logits, init_weights=False)


@pytest.mark.parametrize("aux_logits", [False, True])
def test_torchvision_option_has_torchvisions_parameters_and_keys(aux_logits):
    ours = _meta(lambda: googlenet(aux_logits=aux_logits, **TORCHVISION_OPTIONS))
    theirs = _meta(_tv_googlenet(aux_logits))
    assert param_count(ours) == param_count(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    if not aux_logits:  # torchvision publishes the count of its network without aux heads
        tv = import_torchvision()
        assert param_count(ours) == tv.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["num_params"]


def test_torchvision_option_equals_torchvision_in_float64_in_eval_mode():
    theirs = float64_on_cpu(_tv_googlenet(aux_logits=False)).eval()
    ours = adopt_state(lambda: googlenet(**TORCHVISION_OPTIONS), theirs).eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.std() > 0.01
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_auxiliary_classifiers_equal_torchvisions_in_training_mode():
    """Training mode (batch statistics in BN), dropout switched off on both sides."""
    theirs = float64_on_cpu(_tv_googlenet(aux_logits=True)).train()
    ours = adopt_state(lambda: googlenet(aux_logits=True, **TORCHVISION_OPTIONS), theirs).train()
    for model in (theirs, ours):
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    expected, got = theirs(x), ours(x)
    assert isinstance(got, GoogLeNetOutputs)
    # torchvision orders its outputs (logits, aux2, aux1).
    torch.testing.assert_close(got.logits, expected.logits, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got.aux1, expected.aux_logits1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got.aux2, expected.aux_logits2, rtol=1e-12, atol=1e-12)


def test_the_default_follows_the_paper_5x5_branch_biases_and_no_batch_norm():
    model = _meta(googlenet)
    conv = model.inception3a.branch3[1].conv
    assert conv.kernel_size == (5, 5)  # Table 1, inception (3a): "#5x5" 32 after "#5x5 reduce" 16
    assert conv.weight.shape == (32, 16, 5, 5)
    assert conv.bias is not None
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 2  # Figure 3


# Table 1 of the paper: each stage's output on a 224x224 input, (channels, size).
TABLE_1 = {
    "conv1": (64, 112), "maxpool1": (64, 56), "conv3": (192, 56), "maxpool2": (192, 28),
    "inception3a": (256, 28), "inception3b": (480, 28), "maxpool3": (480, 14),
    "inception4a": (512, 14), "inception4b": (512, 14), "inception4c": (512, 14),
    "inception4d": (528, 14), "inception4e": (832, 14), "maxpool4": (832, 7),
    "inception5a": (832, 7), "inception5b": (1024, 7),
}  # fmt: skip


@pytest.mark.parametrize("branch3_kernel", [5, 3])
def test_stage_outputs_match_the_papers_table_1(branch3_kernel):
    model = _meta(lambda: googlenet(branch3_kernel=branch3_kernel)).eval()
    seen = {}
    for name in TABLE_1:
        module = model.get_submodule(name)
        module.register_forward_hook(lambda m, i, out, name=name: seen.__setitem__(name, out.shape))
    model(torch.zeros(1, 3, 224, 224, device="meta"))
    assert {name: (s[1], s[2]) for name, s in seen.items()} == TABLE_1


def test_googlenet_is_22_layers_deep_counting_layers_with_parameters():
    """Paper, section 5: "The network is 22 layers deep when counting only layers with
    parameters" -- three stem convolutions, two per Inception module on its deepest path,
    and the classifier."""
    model = _meta(googlenet)
    stem = [model.conv1, model.conv2, model.conv3]
    modules = [m for m in model.modules() if isinstance(m, Inception)]
    deepest = max(len([c for c in b.modules() if isinstance(c, nn.Conv2d)])
                  for b in (modules[0].branch1, modules[0].branch2, modules[0].branch3,
                            modules[0].branch4))  # fmt: skip
    assert len(stem) + deepest * len(modules) + 1 == 22


def test_1x1_reductions_cost_fewer_parameters_than_the_naive_module():
    """Lecture 002: the 1x1 "bottleneck" before the 3x3 and 5x5 convolutions makes the
    module cheaper than applying them to all the incoming maps (module 3a's widths)."""
    reduced = Inception(192, 64, 96, 128, 16, 32, 32)
    naive = nn.ModuleList([
        nn.Conv2d(192, 64, 1), nn.Conv2d(192, 128, 3, padding=1),
        nn.Conv2d(192, 32, 5, padding=2), nn.Conv2d(192, 32, 1),
    ])  # fmt: skip
    assert param_count(reduced) < param_count(naive)


def test_auxiliary_outputs_only_in_training_mode(device):
    torch.manual_seed(0)
    model = googlenet(num_classes=7, aux_logits=True).to(device)
    x = torch.randn(2, 3, 32, 32, device=device)
    out = model.train()(x)
    assert isinstance(out, GoogLeNetOutputs)
    assert [t.shape for t in out] == [(2, 7)] * 3
    # The paper weights each auxiliary loss by 0.3.
    y = torch.tensor([1, 6], device=device)
    loss = nn.functional.cross_entropy(out.logits, y) + 0.3 * sum(
        nn.functional.cross_entropy(aux, y) for aux in (out.aux1, out.aux2)
    )
    loss.backward()
    grad = model.conv1.conv.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert model.aux1 is not None and model.aux1.fc2.weight.grad is not None
    logits = model.eval()(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 7)


def test_an_unsupported_branch_kernel_is_refused_by_name():
    with pytest.raises(ValueError, match="branch3_kernel"):
        googlenet(branch3_kernel=7)


def test_basic_conv_with_batch_norm_has_no_bias():
    block = BasicConv2d(3, 4, batch_norm=True, kernel_size=1)
    assert block.conv.bias is None and isinstance(block.bn, nn.BatchNorm2d)
