"""Max and average pooling against torch autograd (float64) and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)
from dlcourse.gradcheck import check_layer

RTOL, ATOL = 1e-10, 1e-12
POOLS = {
    "max": (max_pool_forward, max_pool_backward, torch.nn.functional.max_pool2d),
    "avg": (avg_pool_forward, avg_pool_backward, torch.nn.functional.avg_pool2d),
}


def _assert_matches_torch(kind, x, pool, stride, pad, rng, exact=False, device="cpu"):
    """Forward and backward against torch's pooling, computed in float64 on ``device``."""
    forward, backward, torch_pool = POOLS[kind]
    out, cache = forward(x, *pool, stride=stride, pad=pad, exact=exact)
    dout = rng.standard_normal(out.shape)
    dx = backward(dout, cache)
    tx = torch.tensor(x, device=device, requires_grad=True)
    tout = torch_pool(tx, pool, stride, pad)
    tout.backward(torch.tensor(dout, device=device))
    np.testing.assert_allclose(out, tout.detach().cpu().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, tx.grad.cpu().numpy(), rtol=RTOL, atol=ATOL)


CASES = {
    "2x2_stride_2": ((2, 3, 8, 6), (2, 2), 2, 0),
    "3x3_stride_2_overlapping": ((2, 2, 7, 9), (3, 3), 2, 0),
    "3x3_stride_1_pad_1": ((1, 2, 5, 6), (3, 3), 1, 1),
    "non_square_window_and_stride": ((2, 2, 9, 8), (3, 2), (2, 1), (1, 1)),
    "stride_larger_than_window": ((1, 2, 7, 7), (2, 2), 5, 0),
    "global_pooling": ((2, 3, 4, 5), (4, 5), 1, 0),
}


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", CASES)
def test_pooling_forward_and_backward_match_torch(kind, case, rng, device):
    x_shape, pool, stride, pad = CASES[case]
    # Continuous random values: ties have probability zero, so the argmax is unambiguous.
    x = rng.standard_normal(x_shape)
    _assert_matches_torch(kind, x, pool, stride, pad, rng, device=device)


@pytest.mark.parametrize("kind", POOLS)
def test_pooling_rounds_down_like_torch_by_default(kind, rng, device):
    # 2x2 pooling of a 7x7 map: the last row and column are ignored.
    x = rng.standard_normal((2, 2, 7, 7))
    _assert_matches_torch(kind, x, (2, 2), 2, 0, rng, device=device)


@pytest.mark.parametrize("kind", POOLS)
def test_resnet_stem_pool_3x3_stride_2_pad_1_halves_an_even_map_like_torch(kind, rng, device):
    # He et al. (2016), ResNet's stem: 3x3 max pool, stride 2, pad 1 takes 112 to 56;
    # (112 + 2 - 3) / 2 + 1 = 56.5 rounds down. An 8x8 map shows the same arithmetic.
    x = rng.standard_normal((2, 3, 8, 8))
    out, _ = POOLS[kind][0](x, 3, 3, stride=2, pad=1)
    assert out.shape == (2, 3, 4, 4)
    _assert_matches_torch(kind, x, (3, 3), 2, 1, rng, device=device)


@st.composite
def pool_problems(draw):
    """Small pooling problems with exact output-size arithmetic."""
    pool, strides, pads, sizes = [], [], [], []
    for axis in ("h", "w"):
        k = draw(st.integers(1, 3), label=f"pool_{axis}")
        s = draw(st.integers(1, 3), label=f"stride_{axis}")
        p = draw(st.integers(0, k // 2), label=f"pad_{axis}")
        out = draw(st.integers(1, 4), label=f"out_{axis}")
        size = (out - 1) * s + k - 2 * p
        if size < 1:  # too much padding for so small an output: drop the padding
            p, size = 0, (out - 1) * s + k
        pool.append(k)
        strides.append(s)
        pads.append(p)
        sizes.append(size)
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return (n, c, *sizes), tuple(pool), tuple(strides), tuple(pads), draw(st.integers(0, 2**16))


@given(problem=pool_problems(), kind=st.sampled_from(sorted(POOLS)))
def test_pooling_matches_torch_on_drawn_shapes(problem, kind):
    x_shape, pool, stride, pad, seed = problem
    rng = np.random.default_rng(seed)
    _assert_matches_torch(kind, rng.standard_normal(x_shape), pool, stride, pad, rng)


def test_max_pool_2x2_picks_each_window_maximum_by_hand():
    x = np.array(
        [
            [1.0, 2.0, 5.0, 0.0],
            [3.0, -1.0, 4.0, 6.0],
            [0.0, 0.0, -2.0, -3.0],
            [7.0, 1.0, -4.0, -1.0],
        ]
    )
    out, cache = max_pool_forward(x[None, None])
    np.testing.assert_array_equal(out[0, 0], [[3.0, 6.0], [7.0, -1.0]])
    dx = max_pool_backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
    expected = np.zeros((4, 4))
    expected[1, 0], expected[1, 3], expected[3, 0], expected[3, 3] = 10.0, 20.0, 30.0, 40.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_avg_pool_2x2_averages_each_window_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = avg_pool_forward(x)
    # Window means: (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5, (8+9+12+13)/4 = 10.5, 12.5.
    np.testing.assert_array_equal(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    dx = avg_pool_backward(np.full((1, 1, 2, 2), 4.0), cache)
    np.testing.assert_array_equal(dx, np.ones((1, 1, 4, 4)))


def test_max_pool_sends_a_tied_gradient_to_the_first_maximum_in_row_major_order():
    # Window 1: all equal -> top-left. Window 2: maximum 5 shared by top-right and
    # bottom-left -> top-right (earlier row). Window 3: bottom row tie -> bottom-left.
    x = np.array(
        [
            [[1.0, 1.0, 0.0, 5.0, 0.0, 0.0], [1.0, 1.0, 5.0, 2.0, 3.0, 3.0]],
        ]
    )[None]
    out, cache = max_pool_forward(x)
    np.testing.assert_array_equal(out[0, 0], [[1.0, 5.0, 3.0]])
    dx = max_pool_backward(np.array([[[[1.0, 2.0, 3.0]]]]), cache)
    np.testing.assert_array_equal(
        dx[0, 0], [[1.0, 0.0, 0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 3.0, 0.0]]
    )


def test_max_pool_sums_gradients_of_overlapping_windows_won_by_one_input():
    # The centre 9 is the maximum of all four 2x2 windows (stride 1) of the 3x3 map.
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]])[None, None]
    out, cache = max_pool_forward(x, 2, 2, stride=1)
    np.testing.assert_array_equal(out[0, 0], [[9.0, 9.0], [9.0, 9.0]])
    dx = max_pool_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.zeros((3, 3))
    expected[1, 1] = 1.0 + 2.0 + 3.0 + 4.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_max_pool_matches_torch_when_window_offsets_exceed_int16(rng, device):
    # Offsets inside a window are u*Wp + v; with Wp = 40000 they need 32-bit integers.
    x = rng.standard_normal((1, 1, 2, 40_000))
    _assert_matches_torch("max", x, (2, 2), 2, 0, rng, device=device)


def test_max_pool_padding_never_wins_even_for_negative_inputs():
    x = -np.ones((1, 1, 3, 3))
    out, _ = max_pool_forward(x, 3, 3, stride=1, pad=1)
    np.testing.assert_array_equal(out, -np.ones((1, 1, 3, 3)))


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize(
    ("x_shape", "pool", "stride", "pad"),
    [
        ((2, 2, 4, 6), (2, 2), 2, 0),
        ((2, 2, 5, 7), (3, 3), 2, 1),
        ((2, 2, 5, 6), (3, 2), (1, 2), (1, 0)),
    ],
)
def test_pooling_gradients_match_numeric_gradients(kind, x_shape, pool, stride, pad, rng):
    forward, backward, _ = POOLS[kind]
    x = rng.standard_normal(x_shape)
    errors = check_layer(
        forward, backward, {"x": x}, pool_h=pool[0], pool_w=pool[1], stride=stride, pad=pad
    )
    assert errors["x"] < 1e-8, errors


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", ["2x2_stride_2", "3x3_stride_1_pad_1"])
def test_pooling_keeps_float32(kind, case, rng, device):
    x_shape, pool, stride, pad = CASES[case]
    forward, backward, torch_pool = POOLS[kind]
    x = rng.standard_normal(x_shape).astype(np.float32)
    out, cache = forward(x, *pool, stride=stride, pad=pad)
    dx = backward(np.ones(out.shape, dtype=np.float32), cache)
    assert (out.dtype, dx.dtype) == (np.float32, np.float32)
    tx = torch.tensor(x, dtype=torch.float64, device=device)
    expected = torch_pool(tx, pool, stride, pad).cpu().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize(
    ("x_shape", "kwargs", "pattern"),
    [
        ((1, 1, 4, 4), {"pad": 2}, r"pad=\(2, 2\) must be at most half the pool size \(2, 2\)"),
        (
            (1, 1, 7, 7),
            {"exact": True},
            r"height: \(7 \+ 2\*0 - 2\) / 2 \+ 1 = 3\.5 is not an integer.*exact=True",
        ),
        ((1, 4, 4), {}, r"x must have shape \(N, C, H, W\)"),
        ((1, 1, 4, 4), {"stride": 0}, r"stride must be an integer >= 1, got 0"),
    ],
)
def test_pooling_refuses_inconsistent_arguments(kind, x_shape, kwargs, pattern):
    forward, _, _ = POOLS[kind]
    with pytest.raises(ValueError, match=pattern):
        forward(np.zeros(x_shape), **kwargs)


@pytest.mark.parametrize("kind", POOLS)
def test_pooling_backward_refuses_dout_of_the_wrong_shape(kind):
    forward, backward, _ = POOLS[kind]
    _, cache = forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(
        ValueError, match=r"dout must have shape \(1, 2, 2, 2\).*got \(1, 2, 4, 4\)"
    ):
        backward(np.zeros((1, 2, 4, 4)), cache)
