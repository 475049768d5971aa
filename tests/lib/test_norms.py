"""Layer, group and instance norm against torch's functional versions and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional.norms import (
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from dlcourse.gradcheck import check_layer

RTOL, ATOL = 1e-10, 1e-12


def _tensor(a: np.ndarray, grad: bool = False, device: str = "cpu") -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, device=device, requires_grad=grad)


def _torch_reference(fn, x, gamma, beta, dout, device="cpu"):
    """``fn(x, gamma, beta)`` in torch on ``device``; the output and (dx, dgamma, dbeta)."""
    tx, tg, tb = (_tensor(a, True, device) for a in (x, gamma, beta))
    out = fn(tx, tg, tb)
    (out * _tensor(dout, device=device)).sum().backward()
    grads = tuple(t.grad.cpu().numpy() for t in (tx, tg, tb))
    return out.detach().cpu().numpy(), grads


def _assert_matches(out, grads, ref_out, ref_grads):
    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=ATOL)
    for mine, ref in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=RTOL, atol=ATOL)


@given(n=st.integers(1, 4), d=st.integers(2, 7), seed=st.integers(0, 2**16))
def test_layernorm_on_features_matches_torch(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(4.0, 2.0, (n, d))
    gamma, beta, dout = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))
    out, cache = layernorm_forward(x, gamma, beta, eps=1e-5)
    ref = _torch_reference(
        lambda a, g, b: F.layer_norm(a, (d,), g, b, eps=1e-5), x, gamma, beta, dout
    )
    _assert_matches(out, layernorm_backward(dout, cache), *ref)


def test_layernorm_on_images_normalizes_each_image_over_c_h_w_like_torch(rng, device):
    x = rng.normal(-1.0, 3.0, (3, 2, 4, 5))
    gamma, beta = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 5))
    dout = rng.standard_normal(x.shape)
    out, cache = layernorm_forward(x, gamma, beta)
    ref = _torch_reference(
        lambda a, g, b: F.layer_norm(a, (2, 4, 5), g, b), x, gamma, beta, dout, device
    )
    _assert_matches(out, layernorm_backward(dout, cache), *ref)


@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 3),
    per_group=st.integers(1, 3),
    hw=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    seed=st.integers(0, 2**16),
)
def test_groupnorm_matches_torch(n, groups, per_group, hw, seed):
    rng = np.random.default_rng(seed)
    c = groups * per_group
    if per_group * hw[0] * hw[1] < 2:  # one value per group: variance 0, skip the degenerate
        hw = (2, hw[1])
    x = rng.normal(2.0, 3.0, (n, c, *hw))
    gamma, beta, dout = rng.standard_normal(c), rng.standard_normal(c), rng.standard_normal(x.shape)
    out, cache = groupnorm_forward(x, gamma, beta, num_groups=groups)
    ref = _torch_reference(
        lambda a, g, b: F.group_norm(a, groups, g, b, eps=1e-5), x, gamma, beta, dout
    )
    _assert_matches(out, groupnorm_backward(dout, cache), *ref)


def test_groupnorm_matches_torch_on_the_device(rng, device):
    x = rng.normal(2.0, 3.0, (2, 6, 3, 4))
    gamma, beta, dout = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(x.shape)
    out, cache = groupnorm_forward(x, gamma, beta, num_groups=3)
    ref = _torch_reference(
        lambda a, g, b: F.group_norm(a, 3, g, b, eps=1e-5), x, gamma, beta, dout, device
    )
    _assert_matches(out, groupnorm_backward(dout, cache), *ref)


def test_instancenorm_matches_torch(rng, device):
    x = rng.normal(1.0, 2.0, (2, 3, 4, 4))
    gamma, beta, dout = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(x.shape)
    out, cache = instancenorm_forward(x, gamma, beta)
    ref = _torch_reference(
        lambda a, g, b: F.instance_norm(a, weight=g, bias=b, use_input_stats=True, eps=1e-5),
        x,
        gamma,
        beta,
        dout,
        device,
    )
    _assert_matches(out, instancenorm_backward(dout, cache), *ref)


def test_layernorm_gradients_pass_numeric_check(rng):
    inputs = {
        "x": rng.normal(1.0, 2.0, (3, 5)),
        "gamma": rng.standard_normal(5),
        "beta": rng.standard_normal(5),
    }
    errors = check_layer(layernorm_forward, layernorm_backward, inputs, dout_seed=1)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("num_groups", [1, 2, 4])
def test_groupnorm_gradients_pass_numeric_check(rng, num_groups):
    inputs = {
        "x": rng.standard_normal((2, 4, 3, 2)),
        "gamma": rng.standard_normal(4),
        "beta": rng.standard_normal(4),
    }
    errors = check_layer(
        groupnorm_forward, groupnorm_backward, inputs, dout_seed=1, num_groups=num_groups
    )
    assert max(errors.values()) < 1e-7, errors


def test_instancenorm_gradients_pass_numeric_check(rng):
    inputs = {
        "x": rng.standard_normal((2, 3, 2, 3)),
        "gamma": rng.standard_normal(3),
        "beta": rng.standard_normal(3),
    }
    errors = check_layer(instancenorm_forward, instancenorm_backward, inputs, dout_seed=1)
    assert max(errors.values()) < 1e-7, errors


def test_layernorm_of_one_example_does_not_depend_on_the_rest_of_the_batch(rng):
    x = rng.standard_normal((5, 6))
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    alone, _ = layernorm_forward(x[:1], gamma, beta)
    in_batch, _ = layernorm_forward(x, gamma, beta)
    np.testing.assert_allclose(alone[0], in_batch[0], rtol=1e-14)


@pytest.mark.parametrize("norm", ["layer", "group", "instance"])
def test_float32_input_gives_float32_outputs_and_gradients(rng, norm):
    x = rng.normal(0.0, 1e3, (2, 4, 3, 3))  # magnitude 1e3 must not overflow or warn
    dout = rng.standard_normal(x.shape)
    results = {}
    for dtype in (np.float32, np.float64):
        if norm == "layer":
            out, cache = layernorm_forward(x.astype(dtype), np.ones((4, 3, 3)), np.zeros((4, 3, 3)))
            grads = layernorm_backward(dout.astype(dtype), cache)
        elif norm == "group":
            out, cache = groupnorm_forward(x.astype(dtype), np.ones(4), np.zeros(4), num_groups=2)
            grads = groupnorm_backward(dout.astype(dtype), cache)
        else:
            out, cache = instancenorm_forward(x.astype(dtype), np.ones(4), np.zeros(4))
            grads = instancenorm_backward(dout.astype(dtype), cache)
        assert out.dtype == dtype and all(g.dtype == dtype for g in grads)
        results[dtype] = (out, *grads)
    for low, high in zip(results[np.float32], results[np.float64], strict=True):
        np.testing.assert_allclose(low, high, rtol=1e-3, atol=1e-3 * np.abs(high).max())


@pytest.mark.parametrize("num_groups", [3, 0, -2, 2.0])
def test_groupnorm_rejects_num_groups_that_do_not_divide_the_channels(num_groups):
    with pytest.raises(ValueError, match="num_groups"):
        groupnorm_forward(np.ones((1, 4, 2, 2)), np.ones(4), np.zeros(4), num_groups=num_groups)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: layernorm_forward(np.ones((2, 3)), np.ones(4), np.zeros(3)),
            r"gamma.*\(D,\).*\(4,\)",
        ),
        (lambda: layernorm_forward(np.ones(3), np.ones(3), np.zeros(3)), r"x.*\(N, D\).*\(3,\)"),
        (
            lambda: groupnorm_forward(np.ones((2, 4)), np.ones(4), np.zeros(4), 2),
            r"x.*\(N, C, H, W\)",
        ),
        (
            lambda: instancenorm_forward(np.ones((1, 2, 2, 2)), np.ones(2), np.zeros(3)),
            r"beta.*\(C,\)",
        ),
        (lambda: layernorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=0.0), "eps"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
