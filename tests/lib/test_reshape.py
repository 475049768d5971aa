"""Flatten and global average pooling against torch autograd and numeric gradients."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional import reshape
from dlcourse.gradcheck import check_layer

RTOL = 1e-10
seeds = st.integers(0, 2**32 - 1)


def torch_reference(fn, x: np.ndarray, dout: np.ndarray, device: str = "cpu"):
    """``fn(x)`` by torch autograd on ``device``: the output and dx."""
    t = torch.tensor(x, device=device, requires_grad=True)
    out = fn(t)
    out.backward(torch.tensor(dout, device=device))
    return out.detach().cpu().numpy(), t.grad.cpu().numpy()


@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=4), seed=seeds)
def test_flatten_matches_torch_flatten_from_axis_1(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    out, cache = reshape.flatten_forward(x)
    dout = rng.standard_normal(out.shape)
    expected_out, expected_dx = torch_reference(
        lambda t: torch.flatten(t, 1) if t.ndim > 1 else t[:, None], x, dout
    )
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(reshape.flatten_backward(dout, cache), expected_dx)


@given(shape=hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=5), seed=seeds)
def test_global_avg_pool_matches_torch_adaptive_avg_pool(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(shape[:2])
    out, cache = reshape.global_avg_pool_forward(x)
    expected_out, expected_dx = torch_reference(
        lambda t: F.adaptive_avg_pool2d(t, 1).flatten(1), x, dout
    )
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(
        reshape.global_avg_pool_backward(dout, cache), expected_dx, rtol=RTOL, atol=1e-14
    )


@pytest.mark.parametrize(
    ("forward", "backward", "shape"),
    [
        (reshape.flatten_forward, reshape.flatten_backward, (2, 3, 2, 2)),
        (reshape.global_avg_pool_forward, reshape.global_avg_pool_backward, (2, 3, 2, 3)),
    ],
)
def test_reshape_backward_matches_numeric_gradient(forward, backward, shape, rng):
    errors = check_layer(forward, backward, {"x": rng.standard_normal(shape)})
    assert errors["x"] < 1e-7


@pytest.mark.parametrize(
    ("forward", "backward"),
    [
        (reshape.flatten_forward, reshape.flatten_backward),
        (reshape.global_avg_pool_forward, reshape.global_avg_pool_backward),
    ],
)
def test_reshape_float32_keeps_dtype_and_is_close_to_float64(forward, backward, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    out64, cache64 = forward(x)
    out32, cache32 = forward(x.astype(np.float32))
    dout = rng.standard_normal(out64.shape)
    dx32 = backward(dout.astype(np.float32), cache32)
    assert out32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx32, backward(dout, cache64), rtol=1e-5, atol=1e-7)


def test_flatten_and_global_avg_pool_match_torch_on_the_device(rng, device):
    x = rng.standard_normal((2, 3, 4, 5))
    out, cache = reshape.flatten_forward(x)
    dout = rng.standard_normal(out.shape)
    expected_out, expected_dx = torch_reference(lambda t: torch.flatten(t, 1), x, dout, device)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(reshape.flatten_backward(dout, cache), expected_dx)
    out, cache = reshape.global_avg_pool_forward(x)
    dout = rng.standard_normal(out.shape)
    expected_out, expected_dx = torch_reference(
        lambda t: F.adaptive_avg_pool2d(t, 1).flatten(1), x, dout, device
    )
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(
        reshape.global_avg_pool_backward(dout, cache), expected_dx, rtol=RTOL, atol=1e-14
    )


def test_flatten_handles_an_empty_batch():
    out, cache = reshape.flatten_forward(np.zeros((0, 3, 4)))
    assert out.shape == (0, 12)
    assert reshape.flatten_backward(np.zeros((0, 12)), cache).shape == (0, 3, 4)


def test_global_avg_pool_backward_gives_each_position_an_equal_share():
    _, cache = reshape.global_avg_pool_forward(np.zeros((1, 2, 2, 2)))
    dx = reshape.global_avg_pool_backward(np.array([[4.0, 8.0]]), cache)
    np.testing.assert_array_equal(dx[0, 0], np.full((2, 2), 1.0))
    np.testing.assert_array_equal(dx[0, 1], np.full((2, 2), 2.0))
    dx[0, 0, 0, 0] = 0.0  # the result must be writable, not a broadcast view


def test_global_avg_pool_rejects_input_without_spatial_axes():
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\).*got shape \(2, 3\)"):
        reshape.global_avg_pool_forward(np.zeros((2, 3)))


def test_global_avg_pool_rejects_empty_feature_maps():
    with pytest.raises(ValueError, match=r"H, W >= 1"):
        reshape.global_avg_pool_forward(np.zeros((2, 3, 0, 4)))


def test_reshape_backward_rejects_dout_of_the_wrong_shape():
    _, cache = reshape.flatten_forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 12\).*got \(2, 3, 4\)"):
        reshape.flatten_backward(np.zeros((2, 3, 4)), cache)
    _, cache = reshape.global_avg_pool_forward(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3\).*got \(3, 2\)"):
        reshape.global_avg_pool_backward(np.zeros((3, 2)), cache)


def test_flatten_rejects_a_scalar():
    with pytest.raises(ValueError, match=r"x must have shape \(N, ...\)"):
        reshape.flatten_forward(np.float64(1.0))
