"""Batch norm (N, D) and spatial batch norm (N, C, H, W) against torch and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional.batchnorm import (
    BatchNormParam,
    batchnorm_backward,
    batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from dlcourse.gradcheck import check_layer

RTOL, ATOL = 1e-10, 1e-12


def _tensor(a: np.ndarray, grad: bool = False, device: str = "cpu") -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, device=device, requires_grad=grad)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _torch_bn(
    x, gamma, beta, dout, training, running_mean=None, running_var=None, eps=1e-5, device="cpu"
):
    """Output and (dx, dgamma, dbeta) of torch's functional batch norm on ``device``."""
    tx, tg, tb = (_tensor(a, True, device) for a in (x, gamma, beta))
    rm = None if running_mean is None else _tensor(running_mean, device=device)
    rv = None if running_var is None else _tensor(running_var, device=device)
    out = F.batch_norm(tx, rm, rv, tg, tb, training=training, eps=eps)
    (out * _tensor(dout, device=device)).sum().backward()
    return _numpy(out), (_numpy(tx.grad), _numpy(tg.grad), _numpy(tb.grad))


def _assert_grads_close(ours, theirs):
    for mine, ref in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=RTOL, atol=ATOL)


@given(n=st.integers(2, 8), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_batchnorm_train_forward_and_backward_match_torch(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, (n, d))
    gamma, beta, dout = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))
    out, cache = batchnorm_forward(x, gamma, beta, BatchNormParam(mode="train"))
    ref_out, ref_grads = _torch_bn(x, gamma, beta, dout, training=True)
    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=ATOL)
    _assert_grads_close(batchnorm_backward(dout, cache), ref_grads)


def test_batchnorm_train_mode_matches_torch_on_the_device(rng, device):
    x = rng.normal(3.0, 2.0, (6, 4))
    gamma, beta, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((6, 4))
    out, cache = batchnorm_forward(x, gamma, beta, BatchNormParam(mode="train"))
    ref_out, ref_grads = _torch_bn(x, gamma, beta, dout, training=True, device=device)
    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=ATOL)
    _assert_grads_close(batchnorm_backward(dout, cache), ref_grads)


def test_batchnorm_test_mode_uses_running_stats_and_matches_torch(rng, device):
    x = rng.standard_normal((6, 4))
    gamma, beta, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((6, 4))
    running_mean, running_var = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    param = BatchNormParam(
        mode="test", running_mean=running_mean.copy(), running_var=running_var.copy()
    )
    out, cache = batchnorm_forward(x, gamma, beta, param)
    ref_out, ref_grads = _torch_bn(
        x, gamma, beta, dout, False, running_mean, running_var, device=device
    )
    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=ATOL)
    _assert_grads_close(batchnorm_backward(dout, cache), ref_grads)
    # Test mode must not touch the running statistics.
    np.testing.assert_array_equal(param.running_mean, running_mean)
    np.testing.assert_array_equal(param.running_var, running_var)


@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_running_statistics_match_torch_batchnorm1d_over_several_steps(rng, momentum, device):
    d = 3
    module = torch.nn.BatchNorm1d(d, eps=1e-5, momentum=momentum).double().to(device)
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    with torch.no_grad():
        module.weight.copy_(_tensor(gamma, device=device))
        module.bias.copy_(_tensor(beta, device=device))
    param = BatchNormParam(mode="train", momentum=momentum)
    for step in range(4):
        x = rng.normal(step, 1.0 + step, (5 + step, d))
        out, _ = batchnorm_forward(x, gamma, beta, param)
        ref = _numpy(module.train()(_tensor(x, device=device)))
        np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(param.running_mean, _numpy(module.running_mean), rtol=RTOL)
        np.testing.assert_allclose(param.running_var, _numpy(module.running_var), rtol=RTOL)
    x = rng.standard_normal((7, d))
    param.mode = "test"
    out, _ = batchnorm_forward(x, gamma, beta, param)
    ref = _numpy(module.eval()(_tensor(x, device=device)))
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)


def test_running_variance_uses_unbiased_batch_variance(rng):
    x = rng.standard_normal((4, 2))
    param = BatchNormParam(mode="train", momentum=1.0)  # momentum 1: running = batch stat
    batchnorm_forward(x, np.ones(2), np.zeros(2), param)
    np.testing.assert_allclose(param.running_var, np.var(x, axis=0, ddof=1), rtol=RTOL)
    np.testing.assert_allclose(param.running_mean, np.mean(x, axis=0), rtol=RTOL)


def test_train_output_has_zero_mean_and_unit_variance_per_feature(rng):
    x = rng.normal(-5.0, 10.0, (64, 3))
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train", "eps": 1e-12})
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-9)


@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    h=st.integers(1, 3),
    w=st.integers(2, 3),
    seed=st.integers(0, 2**16),
)
def test_spatial_batchnorm_train_matches_torch_batchnorm2d(n, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 3.0, (n, c, h, w))
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    dout = rng.standard_normal(x.shape)
    module = torch.nn.BatchNorm2d(c).double()
    with torch.no_grad():
        module.weight.copy_(_tensor(gamma))
        module.bias.copy_(_tensor(beta))
    param = BatchNormParam(mode="train")
    out, cache = spatial_batchnorm_forward(x, gamma, beta, param)
    tx = _tensor(x, True)
    ref = module.train()(tx)
    (ref * _tensor(dout)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    ref_grads = (tx.grad.numpy(), module.weight.grad.numpy(), module.bias.grad.numpy())
    _assert_grads_close(spatial_batchnorm_backward(dout, cache), ref_grads)
    np.testing.assert_allclose(param.running_mean, module.running_mean.numpy(), rtol=RTOL)
    np.testing.assert_allclose(param.running_var, module.running_var.numpy(), rtol=RTOL)


def test_spatial_batchnorm_test_mode_matches_torch(rng, device):
    x = rng.standard_normal((2, 3, 4, 5))
    gamma, beta, dout = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(x.shape)
    running_mean, running_var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    param = {"mode": "test", "running_mean": running_mean, "running_var": running_var}
    out, cache = spatial_batchnorm_forward(x, gamma, beta, param)
    ref_out, ref_grads = _torch_bn(
        x, gamma, beta, dout, False, running_mean, running_var, device=device
    )
    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=ATOL)
    _assert_grads_close(spatial_batchnorm_backward(dout, cache), ref_grads)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_gradients_pass_numeric_check(rng, mode):
    inputs = {
        "x": rng.normal(2.0, 3.0, (5, 4)),
        "gamma": rng.standard_normal(4),
        "beta": rng.standard_normal(4),
    }
    param = BatchNormParam(
        mode=mode, running_mean=rng.standard_normal(4), running_var=rng.uniform(0.5, 2, 4)
    )
    # seed=1 for dout: the rng fixture's seed 0 would make dout an affine function of x,
    # whose train-mode dx is ~0 (a degenerate case where relative errors mean nothing).
    errors = check_layer(batchnorm_forward, batchnorm_backward, inputs, dout_seed=1, bn_param=param)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_gradients_pass_numeric_check(rng, mode):
    inputs = {
        "x": rng.standard_normal((2, 3, 3, 2)),
        "gamma": rng.standard_normal(3),
        "beta": rng.standard_normal(3),
    }
    param = BatchNormParam(
        mode=mode, running_mean=rng.standard_normal(3), running_var=rng.uniform(0.5, 2, 3)
    )
    errors = check_layer(
        spatial_batchnorm_forward, spatial_batchnorm_backward, inputs, dout_seed=1, bn_param=param
    )
    assert max(errors.values()) < 1e-7, errors


def test_dict_bn_param_gets_running_arrays_that_are_then_updated_in_place(rng):
    param = {"mode": "train"}
    batchnorm_forward(rng.standard_normal((4, 3)), np.ones(3), np.zeros(3), param)
    running_mean = param["running_mean"]
    assert running_mean.shape == (3,)
    batchnorm_forward(rng.standard_normal((4, 3)), np.ones(3), np.zeros(3), param)
    assert param["running_mean"] is running_mean  # same object: updated in place


@pytest.mark.parametrize("mode", ["train", "test"])
def test_float32_input_gives_float32_outputs_close_to_float64(rng, mode):
    x = rng.normal(0.0, 1e3, (6, 2, 3, 3))  # magnitude 1e3 must not overflow or warn
    gamma, beta, dout = rng.standard_normal(2), rng.standard_normal(2), rng.standard_normal(x.shape)
    results = {}
    for dtype in (np.float32, np.float64):
        param = BatchNormParam(mode=mode, running_mean=np.full(2, 5.0), running_var=np.full(2, 4e6))
        out, cache = spatial_batchnorm_forward(x.astype(dtype), gamma, beta, param)
        grads = spatial_batchnorm_backward(dout.astype(dtype), cache)
        assert out.dtype == dtype and all(g.dtype == dtype for g in grads)
        results[dtype] = (out, *grads)
    for low, high in zip(results[np.float32], results[np.float64], strict=True):
        np.testing.assert_allclose(low, high, rtol=1e-3, atol=1e-3 * np.abs(high).max())


def test_train_mode_refuses_a_single_value_per_feature():
    with pytest.raises(ValueError, match="at least 2 values"):
        batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), BatchNormParam())


def test_single_example_is_fine_in_test_mode():
    out, _ = batchnorm_forward(
        np.ones((1, 3)), np.ones(3), np.zeros(3), BatchNormParam(mode="test")
    )
    np.testing.assert_allclose(out, 1.0 / np.sqrt(1.0 + 1e-5))


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: batchnorm_forward(np.ones((3, 4)), np.ones(3), np.zeros(4), {}),
            r"gamma.*\(D,\).*\(3,\)",
        ),
        (
            lambda: batchnorm_forward(np.ones((2, 3, 4)), np.ones(3), np.zeros(3), {}),
            r"x.*\(N, D\).*\(2, 3, 4\)",
        ),
        (
            lambda: spatial_batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {}),
            r"\(N, C, H, W\)",
        ),
        (
            lambda: batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "eval"}),
            "mode",
        ),
        (
            lambda: batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"momentum": 2.0}),
            "momentum",
        ),
        (
            lambda: batchnorm_forward(
                np.ones((2, 3)), np.ones(3), np.zeros(3), {"running_mean": np.zeros(4)}
            ),
            r"running_mean.*\(4,\)",
        ),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_backward_rejects_dout_of_the_wrong_shape(rng):
    _, cache = batchnorm_forward(rng.standard_normal((4, 3)), np.ones(3), np.zeros(3), {})
    with pytest.raises(ValueError, match=r"dout.*\(4, 3\).*\(4, 2\)"):
        batchnorm_backward(np.ones((4, 2)), cache)
