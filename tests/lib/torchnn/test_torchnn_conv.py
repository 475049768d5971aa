"""dlcourse.torchnn.Conv2d (im2col through F.unfold) against torch.nn.Conv2d in float64."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from dlcourse.torchnn import Conv2d, conv2d_unfold

DT = torch.float64


@st.composite
def conv_configs(draw):
    """A convolution and an input it fits: any stride, padding, dilation and groups."""
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    f = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # The input must hold at least one dilated window once padded.
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 4))
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 4))
    n = draw(st.integers(1, 3))
    bias = draw(st.booleans())
    return {
        "args": (c, f, (kh, kw)),
        "kwargs": {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
            "bias": bias,
        },
        "x_shape": (n, c, h, w),
    }


def _pair(config, device):
    """Our conv and torch's, with the same parameters, in float64 on ``device``."""
    ours = Conv2d(*config["args"], **config["kwargs"], dtype=DT, device=device)
    theirs = nn.Conv2d(*config["args"], **config["kwargs"], dtype=DT, device=device)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


# The device fixture is the same for every example of one test, so sharing it is safe.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=conv_configs(), seed=st.integers(0, 2**16))
def test_conv_matches_torch_forward_and_gradients_for_any_stride_padding_dilation_groups(
    device, config, seed
):
    """Do outputs, dx, dw and db equal nn.Conv2d's for every drawn configuration?"""
    torch.manual_seed(seed)
    ours, theirs = _pair(config, device)
    x = torch.randn(config["x_shape"], dtype=DT, device=device, requires_grad=True)
    out = ours(x)
    expected = theirs(x)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)
    dout = torch.randn_like(out)
    grads = torch.autograd.grad(out, [x, *ours.parameters()], dout)
    expected_grads = torch.autograd.grad(expected, [x, *theirs.parameters()], dout)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_conv_matches_torch_on_device(device):
    """Does a strided, grouped, dilated conv agree with torch on each device?"""
    torch.manual_seed(0)
    config = {
        "args": (4, 6, 3),
        "kwargs": {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": True},
    }
    ours, theirs = _pair(config, device)
    x = torch.randn(2, 4, 9, 8, dtype=DT, device=device)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-12)


def test_conv_passes_gradcheck(device):
    """Do finite differences confirm the autograd gradients of x, weight and bias?"""
    torch.manual_seed(1)
    x = torch.randn(1, 4, 4, 5, dtype=DT, device=device, requires_grad=True)
    weight = torch.randn(4, 2, 2, 2, dtype=DT, device=device, requires_grad=True)
    bias = torch.randn(4, dtype=DT, device=device, requires_grad=True)

    def conv(x, weight, bias):
        return conv2d_unfold(x, weight, bias, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)

    assert torch.autograd.gradcheck(conv, (x, weight, bias))


def test_state_dicts_interchange_both_ways(device):
    """Does nn.Conv2d load our state dict and ours load nn.Conv2d's, giving equal outputs?"""
    torch.manual_seed(2)
    theirs = nn.Conv2d(3, 4, (3, 2), padding=(1, 0), bias=False, dtype=DT, device=device)
    ours = Conv2d(3, 4, (3, 2), padding=(1, 0), bias=False, dtype=DT, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 5, 5, dtype=DT, device=device)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-12)
    other = nn.Conv2d(3, 4, (3, 2), padding=(1, 0), bias=False, dtype=DT, device=device)
    other.load_state_dict(ours.state_dict())
    torch.testing.assert_close(other(x), F.conv2d(x, theirs.weight, padding=(1, 0)))


def test_reset_parameters_draws_what_nn_conv2d_draws(device):
    """Under one seed, are our initial weight and bias nn.Conv2d's, element for element?"""
    torch.manual_seed(3)
    ours = Conv2d(6, 8, 3, groups=2, device=device)
    torch.manual_seed(3)
    theirs = nn.Conv2d(6, 8, 3, groups=2, device=device)
    assert torch.equal(ours.weight, theirs.weight)
    assert torch.equal(ours.bias, theirs.bias)
    assert ours.weight.shape == (8, 3, 3, 3)


@pytest.mark.parametrize(
    "shape", [(3, 5, 5), (2, 4, 5, 5), (1, 3, 5, 5, 1)], ids=["3d", "wrong-C", "5d"]
)
def test_wrong_input_shape_raises_value_error_naming_layout(shape):
    """Does a wrong rank or channel count say "(N, C, H, W)" and what came?"""
    conv = Conv2d(3, 2, 3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) with C = 3.*" + re.escape(str(shape))):
        conv(torch.zeros(shape))


def test_input_smaller_than_the_window_raises_value_error():
    """Is a window that cannot fit the padded input refused with the arithmetic shown?"""
    conv = Conv2d(1, 1, 5)
    with pytest.raises(ValueError, match="less than 1"):
        conv(torch.zeros(1, 1, 3, 8))


def test_groups_must_divide_channels():
    """Is groups=2 with 3 input channels refused, naming groups?"""
    with pytest.raises(ValueError, match="groups"):
        Conv2d(3, 4, 3, groups=2)
