"""The references of pooling_norm.ipynb, with the notebook's signatures, against torch.

The library functions behind them are tested in test_pooling, test_batchnorm, test_norms
and test_fold; these tests check the notebook's forms: square windows without padding
that drop what does not fit, the first maximum on ties, the separate running-statistics
and eval functions, the test cells' ``*_gradients`` compositions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.exercises.a3 import pooling_norm as ex
from dlcourse.gradcheck import numeric_gradient_array, rel_error


def _t(array: np.ndarray, device: str, grad: bool = False) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float64, device=device, requires_grad=grad)


@pytest.mark.parametrize(
    ("pool_size", "stride", "shape"), [(2, 2, (2, 3, 7, 6)), (3, 1, (1, 2, 5, 7))]
)
def test_max_pool_matches_torch_with_ties_and_leftover_rows(device, pool_size, stride, shape):
    """Integer inputs tie often; torch (CPU) and the reference both pick the first maximum."""
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, size=shape).astype(np.float64)
    out, _ = ex.max_pool_forward(x, np.array(pool_size), np.array(stride))
    x_t = _t(x, "cpu", grad=True)
    out_t = F.max_pool2d(x_t, pool_size, stride)
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy())
    dx = ex.max_pool_gradients(x, dout, np.array(pool_size), np.array(stride))
    np.testing.assert_allclose(dx, x_t.grad.numpy(), atol=1e-12)
    if device == "cuda":  # the forward agrees on any device; tie-breaking is CPU torch's
        np.testing.assert_allclose(out, F.max_pool2d(_t(x, device), pool_size, stride).cpu())


def test_max_pool_gradient_matches_central_differences_without_ties():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 6, 5))
    dout = rng.standard_normal((2, 2, 4, 3))
    dx = ex.max_pool_gradients(x, dout, 3, 1)
    numeric = numeric_gradient_array(lambda v: ex.max_pool_forward(v, 3, 1)[0], x, dout)
    assert rel_error(dx, numeric) < 1e-8


def test_avg_and_global_avg_pool_match_torch(device):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 8))
    x_t = _t(x, device, grad=True)
    out_t = F.avg_pool2d(x_t, 3, 2)
    dout = rng.standard_normal(tuple(out_t.shape))
    out_t.backward(torch.tensor(dout, device=device))
    out, _ = ex.avg_pool_forward(x, 3, 2)
    np.testing.assert_allclose(out, out_t.detach().cpu().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ex.avg_pool_gradients(x, dout, 3, 2), x_t.grad.cpu().numpy())
    x_t.grad = None
    g_t = x_t.mean(dim=(2, 3))
    dg = rng.standard_normal((2, 3))
    g_t.backward(torch.tensor(dg, device=device))
    g, cache = ex.global_avg_pool_forward(x)
    np.testing.assert_allclose(g, g_t.detach().cpu().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ex.global_avg_pool_backward(dg, cache), x_t.grad.cpu().numpy())


def test_spatial_batchnorm_train_eval_and_running_stats_match_torch(device):
    rng = np.random.default_rng(3)
    x = 2.0 * rng.standard_normal((3, 4, 2, 3)) + 1.0
    gamma, beta = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    mean0, var0 = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    bn = torch.nn.BatchNorm2d(4, momentum=0.3, dtype=torch.float64, device=device)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
        bn.running_mean.copy_(torch.from_numpy(mean0))
        bn.running_var.copy_(torch.from_numpy(var0))
    x_t = _t(x, device, grad=True)
    out_t = bn(x_t)
    dout = rng.standard_normal(x.shape)
    out_t.backward(torch.tensor(dout, device=device))
    out, cache = ex.spatial_batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = ex.spatial_batchnorm_backward(dout, cache)
    np.testing.assert_allclose(out, out_t.detach().cpu().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, x_t.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dgamma, bn.weight.grad.cpu().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dbeta, bn.bias.grad.cpu().numpy(), rtol=1e-10)
    new_mean, new_var = ex.spatial_batchnorm_running_stats(mean0, var0, x, np.array(0.3))
    np.testing.assert_allclose(new_mean, bn.running_mean.cpu().numpy(), rtol=1e-12)
    np.testing.assert_allclose(new_var, bn.running_var.cpu().numpy(), rtol=1e-12)
    bn.eval()
    evaluated = ex.spatial_batchnorm_eval_forward(x, gamma, beta, new_mean, new_var)
    with torch.no_grad():
        np.testing.assert_allclose(evaluated, bn(_t(x, device)).cpu().numpy(), rtol=1e-10)


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_groupnorm_matches_torch_including_layer_and_instance_norm(device, groups):
    rng = np.random.default_rng(4)
    x = rng.normal(1.0, 2.0, size=(2, 6, 3, 4))
    gamma, beta, dout = rng.uniform(0.5, 2, 6), rng.standard_normal(6), rng.standard_normal(x.shape)
    x_t, g_t, b_t = _t(x, device, True), _t(gamma, device, True), _t(beta, device, True)
    out_t = F.group_norm(x_t, groups, g_t, b_t, eps=1e-5)
    out_t.backward(torch.tensor(dout, device=device))
    out, _ = ex.groupnorm_forward(x, gamma, beta, np.array(groups))
    dx, dgamma, dbeta = ex.groupnorm_gradients(x, gamma, beta, dout, np.array(groups))
    np.testing.assert_allclose(out, out_t.detach().cpu().numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in ((dx, x_t), (dgamma, g_t), (dbeta, b_t)):
        np.testing.assert_allclose(mine, theirs.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)


def test_folded_convolution_equals_conv_then_eval_batchnorm_in_torch(device):
    rng = np.random.default_rng(5)
    x, w, b = (
        rng.standard_normal((2, 3, 6, 6)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    gamma, beta = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.uniform(0.2, 3, 4)
    expected = F.batch_norm(
        F.conv2d(_t(x, device), _t(w, device), _t(b, device), padding=1),
        _t(mean, device), _t(var, device), _t(gamma, device), _t(beta, device), training=False,
    )  # fmt: skip
    w_new, b_new = ex.fold_batchnorm_into_conv(w, b, gamma, beta, mean, var)
    folded = F.conv2d(_t(x, device), _t(w_new, device), _t(b_new, device), padding=1)
    np.testing.assert_allclose(folded.cpu().numpy(), expected.cpu().numpy(), rtol=1e-10, atol=1e-12)
