"""dlcourse.torchnn GroupNorm, LayerNorm and InstanceNorm2d against torch's, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.functional.norms import groupnorm_forward
from dlcourse.torchnn import GroupNorm, InstanceNorm2d, LayerNorm

DT = torch.float64


def _randomize(module):
    """Non-trivial affine parameters, so a wrong broadcast cannot hide behind 1 and 0."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name == "weight":
                param.uniform_(0.5, 1.5)
            else:
                param.normal_()


def _compare(ours, theirs, x):
    """Forward, dx and parameter gradients of ``ours`` against ``theirs`` on ``x``."""
    _randomize(ours)
    theirs.load_state_dict(ours.state_dict())
    x = x.requires_grad_()
    out, expected = ours(x), theirs(x)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)
    dout = torch.randn_like(out)
    grads = torch.autograd.grad(out, [x, *ours.parameters()], dout)
    expected_grads = torch.autograd.grad(expected, [x, *theirs.parameters()], dout)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(
    ("groups", "shape"),
    [(1, (2, 6, 3, 3)), (2, (2, 6, 3, 3)), (3, (3, 6, 4)), (6, (2, 6, 2, 3)), (2, (4, 6))],
)
@pytest.mark.parametrize("affine", [True, False])
def test_groupnorm_matches_torch(device, groups, shape, affine):
    """Do outputs and gradients equal nn.GroupNorm's for 1, some and C groups, any rank?"""
    torch.manual_seed(0)
    ours = GroupNorm(groups, 6, eps=1e-4, affine=affine, dtype=DT, device=device)
    theirs = nn.GroupNorm(groups, 6, eps=1e-4, affine=affine, dtype=DT, device=device)
    _compare(ours, theirs, torch.randn(shape, dtype=DT, device=device) * 2 + 1)


@pytest.mark.parametrize(
    ("normalized_shape", "shape"),
    [((5,), (4, 5)), ((3, 4), (2, 3, 4)), ((2, 3, 3), (2, 2, 3, 3)), (5, (2, 3, 5))],
)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"elementwise_affine": False}, {"bias": False}],
    ids=["affine", "plain", "nobias"],
)
def test_layernorm_matches_torch(device, normalized_shape, shape, kwargs):
    """Do outputs and gradients equal nn.LayerNorm's, with weight of normalized_shape?"""
    torch.manual_seed(1)
    ours = LayerNorm(normalized_shape, **kwargs, dtype=DT, device=device)
    theirs = nn.LayerNorm(normalized_shape, **kwargs, dtype=DT, device=device)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    _compare(ours, theirs, torch.randn(shape, dtype=DT, device=device) - 3)


@pytest.mark.parametrize("affine", [False, True])
def test_instancenorm_matches_torch_in_train_and_eval(device, affine):
    """Do outputs and gradients equal nn.InstanceNorm2d's (no running stats) in both modes?"""
    torch.manual_seed(2)
    ours = InstanceNorm2d(3, affine=affine, dtype=DT, device=device)
    theirs = nn.InstanceNorm2d(3, affine=affine, dtype=DT, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _compare(ours, theirs, torch.randn(2, 3, 4, 3, dtype=DT, device=device) * 5)
    ours.eval()
    theirs.eval()
    x = torch.randn(2, 3, 4, 3, dtype=DT, device=device)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-12)


def test_groupnorm_agrees_with_numpy_reference():
    """Does the torch GroupNorm equal dlcourse.functional.groupnorm_forward?"""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3, 3))
    gamma, beta = rng.uniform(0.5, 1.5, 6), rng.standard_normal(6)
    expected, _ = groupnorm_forward(x, gamma, beta, 3, eps=1e-5)
    norm = GroupNorm(3, 6, dtype=DT)
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(gamma))
        norm.bias.copy_(torch.from_numpy(beta))
    np.testing.assert_allclose(norm(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GroupNorm(2, 4, dtype=DT),
        lambda: LayerNorm((4, 3), dtype=DT),
        lambda: InstanceNorm2d(4, affine=True, dtype=DT),
    ],
    ids=["group", "layer", "instance"],
)
def test_norms_pass_gradcheck(device, make):
    """Do finite differences confirm the gradients of x and the affine parameters?"""
    torch.manual_seed(4)
    module = make().to(device)
    _randomize(module)
    x = torch.randn(2, 4, 4, 3, dtype=DT, device=device, requires_grad=True)
    names = [name for name, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in module.parameters()]

    def as_function(x, *params):
        return torch.func.functional_call(module, dict(zip(names, params, strict=True)), (x,))

    assert torch.autograd.gradcheck(as_function, (x, *params))


@pytest.mark.parametrize(
    ("module", "shape", "message"),
    [
        (GroupNorm(2, 4), (2, 3, 5), r"\(N, C, \*\) with C = 4, got shape \(2, 3, 5\)"),
        (InstanceNorm2d(4), (4, 5, 5), r"\(N, C, H, W\) with C = 4, got shape \(4, 5, 5\)"),
        (LayerNorm((3, 4)), (2, 4, 3), r"\(\*, 3, 4\), got shape \(2, 4, 3\)"),
        (LayerNorm((3, 4)), (4,), r"\(\*, 3, 4\), got shape \(4,\)"),
    ],
)
def test_wrong_shape_raises_value_error_naming_layout(module, shape, message):
    """Does a wrong input name the layout expected and the shape that came?"""
    with pytest.raises(ValueError, match=message):
        module(torch.zeros(shape))


def test_groupnorm_refuses_groups_that_do_not_divide_channels():
    """Is GroupNorm(4, 6) refused, naming num_groups?"""
    with pytest.raises(ValueError, match="num_groups"):
        GroupNorm(4, 6)
