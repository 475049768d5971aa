"""Folding eval-mode batch norm into the previous layer: folded and unfolded nets agree.

The unfolded reference runs entirely in torch (matmul / ``F.conv2d`` followed by
``F.batch_norm(training=False)``), so these tests depend on no other file of the library.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional.fold import fold_batchnorm_into_conv, fold_batchnorm_into_linear

RTOL, ATOL = 1e-10, 1e-12


def _tensor(a: np.ndarray | None, device: str = "cpu") -> torch.Tensor | None:
    return None if a is None else torch.tensor(a, dtype=torch.float64, device=device)


def _bn_arrays(rng: np.random.Generator, features: int) -> dict[str, np.ndarray]:
    return {
        "gamma": rng.standard_normal(features),
        "beta": rng.standard_normal(features),
        "running_mean": rng.standard_normal(features),
        "running_var": rng.uniform(0.1, 3.0, features),
    }


def _torch_bn_eval(z: torch.Tensor, bn: dict[str, np.ndarray], eps: float) -> np.ndarray:
    """torch's batch norm in eval mode, on the device ``z`` is on."""
    device = str(z.device)
    out = F.batch_norm(
        z,
        _tensor(bn["running_mean"], device),
        _tensor(bn["running_var"], device),
        _tensor(bn["gamma"], device),
        _tensor(bn["beta"], device),
        training=False,
        eps=eps,
    )
    return out.cpu().numpy()


@given(
    n=st.integers(1, 4),
    d=st.integers(1, 6),
    m=st.integers(1, 6),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_folded_linear_layer_equals_linear_then_eval_batchnorm(n, d, m, with_bias, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, d)), rng.standard_normal((d, m))
    b = rng.standard_normal(m) if with_bias else None
    bn = _bn_arrays(rng, m)
    z = _tensor(x) @ _tensor(w) + (0.0 if b is None else _tensor(b))
    expected = _torch_bn_eval(z, bn, eps=1e-3)
    w_folded, b_folded = fold_batchnorm_into_linear(w, b, **bn, eps=1e-3)
    assert w_folded.shape == (d, m) and b_folded.shape == (m,)
    np.testing.assert_allclose(x @ w_folded + b_folded, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    ("stride", "padding", "groups", "with_bias"),
    [(1, 0, 1, True), (2, 1, 1, False), (1, 1, 2, True)],
)
def test_folded_convolution_equals_conv_then_eval_batchnorm2d(
    rng, stride, padding, groups, with_bias, device
):
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, 3, 3))
    b = rng.standard_normal(6) if with_bias else None
    bn = _bn_arrays(rng, 6)
    options = {"stride": stride, "padding": padding, "groups": groups}
    z = F.conv2d(_tensor(x, device), _tensor(w, device), _tensor(b, device), **options)
    expected = _torch_bn_eval(z, bn, eps=1e-5)
    w_folded, b_folded = fold_batchnorm_into_conv(w, b, **bn)
    folded = F.conv2d(
        _tensor(x, device), _tensor(w_folded, device), _tensor(b_folded, device), **options
    )
    folded = folded.cpu().numpy()
    np.testing.assert_allclose(folded, expected, rtol=RTOL, atol=ATOL)


def test_trained_torch_linear_batchnorm_net_folds_into_one_linear_layer(rng):
    """A torch Linear + BatchNorm1d with running stats from training, folded, in eval mode."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3)).double()
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 2.0)
        net[1].bias.normal_()
        for _ in range(5):  # train-mode passes fill the running statistics
            net.train()(_tensor(rng.normal(1.0, 2.0, (8, 5))))
        x = rng.standard_normal((4, 5))
        expected = net.eval()(_tensor(x)).numpy()
    linear, bn = net[0], net[1]
    # torch stores Linear weights as (M, D); this library's layout is (D, M).
    w_folded, b_folded = fold_batchnorm_into_linear(
        linear.weight.detach().numpy().T,
        linear.bias.detach().numpy(),
        bn.weight.detach().numpy(),
        bn.bias.detach().numpy(),
        bn.running_mean.numpy(),
        bn.running_var.numpy(),
        eps=bn.eps,
    )
    np.testing.assert_allclose(x @ w_folded + b_folded, expected, rtol=RTOL, atol=ATOL)


def test_folding_keeps_float32(rng):
    bn = _bn_arrays(rng, 3)
    w_lin, b_lin = fold_batchnorm_into_linear(
        np.ones((2, 3), np.float32), np.zeros(3, np.float32), **bn
    )
    w_conv, b_conv = fold_batchnorm_into_conv(np.ones((3, 2, 1, 1), np.float32), None, **bn)
    assert {w_lin.dtype, b_lin.dtype, w_conv.dtype, b_conv.dtype} == {np.dtype(np.float32)}


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda bn: fold_batchnorm_into_linear(np.ones((2, 3, 1)), None, **bn), r"w.*\(D, M\)"),
        (
            lambda bn: fold_batchnorm_into_linear(np.ones((2, 4)), None, **bn),
            r"gamma.*\(M,\).*\(3,\)",
        ),
        (
            lambda bn: fold_batchnorm_into_linear(np.ones((2, 3)), np.ones(2), **bn),
            r"b.*\(M,\).*\(2,\)",
        ),
        (lambda bn: fold_batchnorm_into_conv(np.ones((3, 2)), None, **bn), r"w.*\(F, C, HH, WW\)"),
        (lambda bn: fold_batchnorm_into_conv(np.ones((3, 1, 1, 1)), None, **bn, eps=0), "eps"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(rng, call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(_bn_arrays(rng, 3))
