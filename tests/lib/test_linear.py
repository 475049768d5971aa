"""Fully connected layer against torch autograd (float64) and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.gradcheck import check_layer

RTOL = 1e-10


def _torch_linear(x, w, b, dout, device="cpu"):
    """out = x.reshape(N, -1) @ w + b and its gradients, by torch autograd in float64."""
    tx, tw, tb = (
        torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True) for a in (x, w, b)
    )
    out = tx.reshape(tx.shape[0], -1) @ tw + tb
    out.backward(torch.tensor(dout, dtype=torch.float64, device=device))
    return tuple(t.detach().cpu().numpy() for t in (out, tx.grad, tw.grad, tb.grad))


@given(
    n=st.integers(1, 5),
    feature_dims=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    m=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_linear_matches_torch_for_flat_and_image_shaped_inputs(n, feature_dims, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *feature_dims))
    d = int(np.prod(feature_dims))
    w = rng.standard_normal((d, m))
    b = rng.standard_normal(m)
    dout = rng.standard_normal((n, m))

    out, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(dout, cache)
    ref_out, ref_dx, ref_dw, ref_db = _torch_linear(x, w, b, dout)

    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(dx, ref_dx, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(dw, ref_dw, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(db, ref_db, rtol=RTOL, atol=1e-12)
    assert dx.shape == x.shape


def test_linear_matches_torch_on_the_device(rng, device):
    x = rng.standard_normal((3, 2, 2, 2))
    w, b, dout = rng.standard_normal((8, 5)), rng.standard_normal(5), rng.standard_normal((3, 5))
    out, cache = linear_forward(x, w, b)
    ours = (out, *linear_backward(dout, cache))
    for mine, ref in zip(ours, _torch_linear(x, w, b, dout, device), strict=True):
        np.testing.assert_allclose(mine, ref, rtol=RTOL, atol=1e-12)


def test_linear_gradients_match_numeric_gradients(rng):
    inputs = {
        "x": rng.standard_normal((3, 2, 2, 2)),
        "w": rng.standard_normal((8, 5)),
        "b": rng.standard_normal(5),
    }
    errors = check_layer(linear_forward, linear_backward, inputs)
    assert max(errors.values()) < 1e-8, errors


def test_linear_computes_the_hand_worked_affine_map():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    b = np.array([0.5, -1.0, 0.0])
    out, _ = linear_forward(x, w, b)
    # [1*1 + 2*2 + 0.5, 1*0 + 2*1 - 1, 1*(-1) + 2*0.5 + 0]
    np.testing.assert_array_equal(out, [[5.5, 1.0, 0.0]])


def test_linear_keeps_float32(rng, device):
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    w = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    out, cache = linear_forward(x, w, b)
    grads = linear_backward(np.ones((4, 5), dtype=np.float32), cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    ref_out = _torch_linear(x, w, b, np.ones((4, 5)), device)[0]
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-5)


def test_linear_casts_a_float64_dout_back_to_the_layer_dtype(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    _, cache = linear_forward(x, np.ones((3, 2), np.float32), np.zeros(2, np.float32))
    dx, dw, db = linear_backward(np.ones((2, 2)), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32,) * 3


def test_linear_refuses_weights_with_the_wrong_input_size(rng):
    x = rng.standard_normal((2, 3, 4))
    with pytest.raises(ValueError, match=r"w must have shape \(12, 5\).*D = 12.*got \(10, 5\)"):
        linear_forward(x, np.zeros((10, 5)), np.zeros(5))


def test_linear_refuses_a_bias_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"b must have shape \(5,?\) \(M,\), got \(4,\)"):
        linear_forward(np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(4))


def test_linear_refuses_a_one_dimensional_input():
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\).*got shape \(3,\)"):
        linear_forward(np.zeros(3), np.zeros((3, 2)), np.zeros(2))


def test_linear_backward_refuses_dout_of_the_wrong_shape():
    _, cache = linear_forward(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 4\).*got \(4, 2\)"):
        linear_backward(np.zeros((4, 2)), cache)
