"""dlcourse.torchnn.BatchNorm1d/2d against torch's batch norms in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.torchnn import BatchNorm1d, BatchNorm2d

DT = torch.float64
CASES = [
    (BatchNorm1d, nn.BatchNorm1d, (8, 3)),
    (BatchNorm1d, nn.BatchNorm1d, (4, 3, 5)),
    (BatchNorm2d, nn.BatchNorm2d, (4, 3, 2, 3)),
]
IDS = ["1d-(N,C)", "1d-(N,C,L)", "2d"]
SETTINGS = [
    {},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"track_running_stats": False},
]
SETTING_IDS = ["default", "cumulative", "momentum-eps", "no-affine", "no-running-stats"]


def _pair(ours_cls, theirs_cls, kwargs, device):
    """Our norm and torch's with the same random affine parameters, on ``device``."""
    ours = ours_cls(3, **kwargs, dtype=DT, device=device)
    theirs = theirs_cls(3, **kwargs, dtype=DT, device=device)
    if ours.affine:
        with torch.no_grad():
            ours.weight.copy_(torch.rand(3, dtype=DT) + 0.5)
            ours.bias.copy_(torch.randn(3, dtype=DT))
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _assert_state_equal(ours, theirs):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", SETTINGS, ids=SETTING_IDS)
@pytest.mark.parametrize(("ours_cls", "theirs_cls", "shape"), CASES, ids=IDS)
def test_batchnorm_matches_torch_over_train_steps_then_eval(
    device, ours_cls, theirs_cls, shape, kwargs
):
    """Do outputs, dx, dweight, dbias and the running statistics after several train steps,
    then the eval-mode outputs, equal torch's?"""
    torch.manual_seed(0)
    ours, theirs = _pair(ours_cls, theirs_cls, kwargs, device)
    for step in range(4):
        # Shifted, scaled batches so the running statistics move away from (0, 1).
        x = (torch.randn(shape, dtype=DT, device=device) * (1 + step) + step).requires_grad_()
        out, expected = ours(x), theirs(x)
        torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)
        dout = torch.randn_like(out)
        inputs_ours = [x, *ours.parameters()]
        inputs_theirs = [x, *theirs.parameters()]
        grads = torch.autograd.grad(out, inputs_ours, dout)
        expected_grads = torch.autograd.grad(expected, inputs_theirs, dout)
        for got, want in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)
        _assert_state_equal(ours, theirs)
    ours.eval()
    theirs.eval()
    x = torch.randn(shape, dtype=DT, device=device) * 3 + 1
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-12)


def test_running_var_takes_unbiased_variance_and_momentum_weights_the_new_value(device):
    """After one step from (0, 1) with momentum 0.1: running_mean = 0.1 * mean and
    running_var = 0.9 + 0.1 * unbiased variance, computed here with torch.var?"""
    torch.manual_seed(1)
    bn = BatchNorm2d(2, dtype=DT, device=device)
    x = torch.randn(3, 2, 2, 2, dtype=DT, device=device)
    bn(x)
    flat = x.transpose(0, 1).reshape(2, -1)
    torch.testing.assert_close(bn.running_mean, 0.1 * flat.mean(dim=1))
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * flat.var(dim=1, unbiased=True))
    assert int(bn.num_batches_tracked) == 1


def test_cumulative_average_with_momentum_none_is_the_mean_of_batch_means(device):
    """With momentum=None, is running_mean the plain mean of every batch's mean?"""
    torch.manual_seed(2)
    bn = BatchNorm1d(3, momentum=None, dtype=DT, device=device)
    batches = [torch.randn(5, 3, dtype=DT, device=device) + k for k in range(3)]
    for x in batches:
        bn(x)
    expected = torch.stack([x.mean(dim=0) for x in batches]).mean(dim=0)
    torch.testing.assert_close(bn.running_mean, expected)


@pytest.mark.parametrize(("ours_cls", "theirs_cls", "shape"), CASES, ids=IDS)
def test_state_dicts_interchange_both_ways(device, ours_cls, theirs_cls, shape):
    """Does torch's norm load ours after training, and ours load torch's?"""
    torch.manual_seed(3)
    ours, _ = _pair(ours_cls, theirs_cls, {}, device)
    ours(torch.randn(shape, dtype=DT, device=device) + 2)
    theirs = theirs_cls(3, dtype=DT, device=device)
    theirs.load_state_dict(ours.state_dict())
    again = ours_cls(3, dtype=DT, device=device)
    again.load_state_dict(theirs.state_dict())
    _assert_state_equal(again, ours)


@pytest.mark.parametrize(("cls", "shape"), [(BatchNorm1d, (6, 2, 3)), (BatchNorm2d, (3, 2, 2, 2))])
def test_batchnorm_passes_gradcheck(device, cls, shape):
    """Do finite differences confirm the gradients of x, weight and bias in train mode?"""
    torch.manual_seed(4)
    bn = cls(2, dtype=DT, device=device, track_running_stats=False)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
    x = torch.randn(shape, dtype=DT, device=device, requires_grad=True)

    def as_function(x, weight, bias):
        # Functional form: the parameters as inputs, so gradcheck can perturb them.
        return torch.func.functional_call(bn, {"weight": weight, "bias": bias}, (x,))

    weight = bn.weight.detach().clone().requires_grad_()
    bias = bn.bias.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(as_function, (x, weight, bias))


@pytest.mark.parametrize(
    ("cls", "shape", "layout"),
    [
        (BatchNorm1d, (2, 3, 4, 5), r"\(N, C\) or \(N, C, L\)"),
        (BatchNorm1d, (2, 4), r"\(N, C\) or \(N, C, L\)"),
        (BatchNorm2d, (2, 3, 4), r"\(N, C, H, W\)"),
    ],
)
def test_wrong_shape_raises_value_error_naming_layout(cls, shape, layout):
    """Does a wrong rank or channel count name the layouts expected and the shape that came?"""
    with pytest.raises(ValueError, match=layout + r".*C = 3.*" + str(shape[-1])):
        cls(3)(torch.zeros(shape))


def test_train_mode_refuses_one_value_per_channel():
    """Is a batch of one (N, C) example refused in train mode, as torch refuses it?"""
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(torch.zeros(1, 3))
