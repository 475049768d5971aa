"""Initializers: fans and gains against torch, intended variances, reproducibility, residual init.

Variance tests draw large arrays and allow ``Z`` standard errors of the sample standard
deviation: for ``n`` independent draws it is about ``std * sqrt((kurtosis - 1) / (4 n))``,
at most ``std / sqrt(2 n)`` for a Gaussian or a uniform (kurtosis 3 and 1.8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse import init
from dlcourse.nn.module import Parameter

Z = 5.0


def _assert_std(w: np.ndarray, expected: float) -> None:
    tolerance = Z * expected / math.sqrt(2 * w.size)
    assert abs(float(np.std(w, dtype=np.float64)) - expected) < tolerance
    assert abs(float(np.mean(w, dtype=np.float64))) < Z * expected / math.sqrt(w.size)


def _torch_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@given(d=st.integers(1, 50), m=st.integers(1, 50))
def test_fully_connected_fans_match_torch_after_transposing_the_layout(d, m):
    # This library stores (D, M); torch's Linear stores the transpose (M, D).
    assert init.compute_fans((d, m)) == _torch_fans((m, d)) == (d, m)


@given(shape=st.lists(st.integers(1, 6), min_size=3, max_size=5).map(tuple))
def test_convolution_fans_match_torch(shape):
    assert init.compute_fans(shape) == _torch_fans(shape)


def test_conv_fans_are_c_hh_ww_and_f_hh_ww():
    assert init.compute_fans((16, 3, 5, 5)) == (3 * 5 * 5, 16 * 5 * 5)


@pytest.mark.parametrize(
    ("nonlinearity", "negative_slope"),
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("selu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.0),
        ("leaky_relu", 0.2),
    ],
)
def test_gains_match_torch_calculate_gain(nonlinearity, negative_slope):
    expected = torch.nn.init.calculate_gain(nonlinearity, negative_slope)
    assert init.calculate_gain(nonlinearity, negative_slope) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kaiming_normal_fan_in_has_std_sqrt_2_over_d(dtype):
    w = init.kaiming_normal((800, 500), dtype=dtype, seed=0)
    assert w.dtype == dtype and w.shape == (800, 500)
    _assert_std(w, math.sqrt(2 / 800))


def test_kaiming_uses_torchs_gain_and_fan_for_the_transposed_linear_shape():
    shape = (600, 300)
    torch_fan_out = _torch_fans(shape[::-1])[1]
    expected = torch.nn.init.calculate_gain("leaky_relu", 0.2) / math.sqrt(torch_fan_out)
    w = init.kaiming_normal(
        shape, mode="fan_out", nonlinearity="leaky_relu", negative_slope=0.2, seed=1
    )
    _assert_std(w, expected)


def test_kaiming_uniform_fan_out_on_conv_weights_has_the_intended_std_and_bound():
    shape = (64, 32, 3, 3)
    expected = math.sqrt(2 / (64 * 3 * 3))
    w = init.kaiming_uniform(shape, mode="fan_out", seed=2)
    _assert_std(w, expected)
    bound = math.sqrt(3) * expected
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_kaiming_with_tanh_gain_scales_by_five_thirds():
    _assert_std(
        init.kaiming_normal((1000, 400), nonlinearity="tanh", seed=3), (5 / 3) / math.sqrt(1000)
    )


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_normal_and_uniform_have_std_gain_sqrt_2_over_fan_sum(gain):
    shape = (900, 300)
    expected = gain * math.sqrt(2 / (900 + 300))
    _assert_std(init.xavier_normal(shape, gain=gain, seed=4), expected)
    w = init.xavier_uniform(shape, gain=gain, seed=5)
    _assert_std(w, expected)
    assert np.abs(w).max() <= gain * math.sqrt(6 / 1200)


def test_xavier_on_a_square_layer_is_the_lectures_one_over_sqrt_din():
    _assert_std(init.xavier_normal((700, 700), seed=6), 1 / math.sqrt(700))


def test_small_random_init_has_the_requested_std():
    _assert_std(init.normal((500, 400), std=0.01, seed=7), 0.01)


def test_zeros_and_constant_fill_the_shape_in_the_requested_dtype():
    z = init.zeros((3, 4), dtype=np.float32)
    c = init.constant(5, 1.5, dtype=np.float32)
    assert z.dtype == c.dtype == np.float32
    np.testing.assert_array_equal(z, np.zeros((3, 4)))
    np.testing.assert_array_equal(c, np.full(5, 1.5))


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: init.normal((20, 10), seed=seed),
        lambda seed: init.xavier_normal((20, 10), seed=seed),
        lambda seed: init.xavier_uniform((20, 10), seed=seed),
        lambda seed: init.kaiming_normal((4, 3, 2, 2), seed=seed),
        lambda seed: init.kaiming_uniform((4, 3, 2, 2), seed=seed),
    ],
)
def test_same_seed_reproduces_and_a_generator_advances(make):
    np.testing.assert_array_equal(make(10), make(10))
    assert not np.array_equal(make(10), make(11))
    gen = np.random.default_rng(10)
    first, second = make(gen), make(gen)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, make(10))


def test_zero_init_last_residual_makes_the_block_the_identity_and_keeps_the_variance(rng):
    width = 512
    x = rng.standard_normal((256, width))

    def residual(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
        return x + np.maximum(x @ w1, 0) @ w2

    w1 = init.kaiming_normal((width, width), seed=8)
    w2 = init.kaiming_normal((width, width), nonlinearity="linear", seed=9)
    # Lecture: with MSRA init Var(F(x)) = Var(x), so Var(x + F(x)) > Var(x).
    assert np.var(residual(w1, w2)) > 1.5 * np.var(x)
    params = [Parameter(w1.copy()), Parameter(w2.copy())]
    zeroed = init.zero_init_last_residual(params)
    assert zeroed is params[1].data
    np.testing.assert_array_equal(params[1].data, 0.0)
    np.testing.assert_array_equal(params[0].data, w1)  # the first layer keeps MSRA init
    np.testing.assert_array_equal(residual(params[0].data, params[1].data), x)


def test_zero_init_last_residual_zeroes_a_batchnorm_gamma_array_in_place():
    gamma = np.ones(8, dtype=np.float32)
    branch = [np.ones((3, 8)), np.ones(8), np.ones((8, 8)), gamma]
    init.zero_init_last_residual(branch)
    assert gamma.dtype == np.float32
    np.testing.assert_array_equal(gamma, 0.0)
    np.testing.assert_array_equal(branch[2], 1.0)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: init.compute_fans((5,)), r"shape.*\(D, M\).*\(5,\)"),
        (lambda: init.kaiming_normal((3, 4), mode="fan_avg"), "mode"),
        (lambda: init.kaiming_normal((3, 4), nonlinearity="swish"), "nonlinearity"),
        (lambda: init.xavier_normal((3, 4), dtype=np.float16), "dtype"),
        (lambda: init.normal((3, -4)), "shape"),
        (lambda: init.normal((3, 4), std=-1.0), "std"),
        (lambda: init.zero_init_last_residual([]), "branch"),
        (lambda: init.zero_init_last_residual(np.ones(3)), "branch"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
