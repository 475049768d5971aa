"""Dropout (vanilla and inverted) and DropConnect: expectations, masks, gradients.

Statistical tests use a fixed seed and a tolerance of ``Z`` standard errors, the standard
error being derived from the sample size and the Bernoulli variance ``p * (1 - p)``.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional.dropout import (
    dropconnect_backward,
    dropconnect_forward,
    dropout_backward,
    dropout_forward,
    keep_mask,
)
from dlcourse.gradcheck import check_layer

RTOL, ATOL = 1e-10, 1e-12
Z = 5.0  # standard errors; with fixed seeds the tests are deterministic anyway


def _tensor(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_inverted_dropout_preserves_each_units_expected_activation(rng, p):
    units, samples = 20, 4000
    x = rng.uniform(0.5, 2.0, units)
    out, _ = dropout_forward(np.tile(x, (samples, 1)), p, "train", inverted=True, seed=1)
    # Each sample of unit j is x_j * Bernoulli(1 - p) / (1 - p): variance x_j**2 p / (1 - p).
    standard_error = x * np.sqrt(p / (1 - p)) / np.sqrt(samples)
    assert np.all(np.abs(out.mean(axis=0) - x) < Z * standard_error)
    test_out, _ = dropout_forward(x, p, "test", inverted=True)
    np.testing.assert_array_equal(test_out, x)  # inverted dropout: test time is the identity


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_vanilla_dropout_test_output_equals_expected_train_output(rng, p):
    units, samples = 20, 4000
    x = rng.uniform(0.5, 2.0, units)
    out, _ = dropout_forward(np.tile(x, (samples, 1)), p, "train", inverted=False, seed=2)
    test_out, _ = dropout_forward(x, p, "test", inverted=False)
    np.testing.assert_allclose(test_out, (1 - p) * x, rtol=1e-15)  # scale by the keep prob
    standard_error = x * np.sqrt(p * (1 - p)) / np.sqrt(samples)
    assert np.all(np.abs(out.mean(axis=0) - test_out) < Z * standard_error)
    # Vanilla dropout only zeroes units; kept ones pass through unscaled.
    assert set(np.unique(out / x)) <= {0.0, 1.0}


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_fraction_of_kept_units_is_one_minus_p(p):
    n = 100_000
    mask = keep_mask((n,), p, seed=3)
    assert abs(mask.mean() - (1 - p)) < Z * np.sqrt(p * (1 - p) / n)


def test_same_seed_gives_the_same_mask_and_different_seeds_differ(rng):
    x = rng.uniform(1.0, 2.0, (8, 50))
    first, _ = dropout_forward(x, 0.5, "train", seed=42)
    again, _ = dropout_forward(x, 0.5, "train", seed=42)
    other, _ = dropout_forward(x, 0.5, "train", seed=43)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first != 0, other != 0)
    np.testing.assert_array_equal(first != 0, keep_mask(x.shape, 0.5, seed=42))


def test_a_generator_gives_a_fresh_mask_each_call_and_replays_from_the_same_seed():
    x = np.ones((4, 30))
    gen = np.random.default_rng(7)
    first, _ = dropout_forward(x, 0.5, "train", seed=gen)
    second, _ = dropout_forward(x, 0.5, "train", seed=gen)
    assert not np.array_equal(first, second)
    replay = np.random.default_rng(7)
    np.testing.assert_array_equal(dropout_forward(x, 0.5, "train", seed=replay)[0], first)


def test_mask_does_not_depend_on_dtype(rng):
    x = rng.uniform(1.0, 2.0, (6, 7))
    low, _ = dropout_forward(x.astype(np.float32), 0.3, "train", seed=5)
    high, _ = dropout_forward(x, 0.3, "train", seed=5)
    assert low.dtype == np.float32
    np.testing.assert_array_equal(low != 0, high != 0)


@pytest.mark.parametrize("inverted", [True, False])
def test_gradient_flows_only_through_kept_units(rng, inverted):
    x = rng.uniform(1.0, 2.0, (5, 40))
    dout = rng.uniform(1.0, 2.0, x.shape)
    p = 0.4
    out, cache = dropout_forward(x, p, "train", inverted=inverted, seed=9)
    dx = dropout_backward(dout, cache)
    kept = out != 0
    assert np.all(dx[~kept] == 0)
    scale = 1 / (1 - p) if inverted else 1.0
    np.testing.assert_allclose(dx[kept], dout[kept] * scale, rtol=1e-15)


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    p=st.sampled_from([0.0, 0.25, 0.5, 0.9]),
    inverted=st.booleans(),
    mode=st.sampled_from(["train", "test"]),
    seed=st.integers(0, 2**16),
)
def test_dropout_matches_torch_autograd_with_the_same_mask(shape, p, inverted, mode, seed):
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    out, cache = dropout_forward(x, p, mode, inverted=inverted, seed=seed)
    if mode == "train":
        factor = _tensor(keep_mask(shape, p, seed=seed).astype(np.float64))
        factor = factor / (1 - p) if inverted else factor
    else:
        factor = 1.0 if inverted else 1 - p
    tx = _tensor(x, True)
    ref = tx * factor
    (ref * _tensor(dout)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dropout_backward(dout, cache), tx.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_dropout_gradient_passes_numeric_check_with_a_fixed_mask(rng, inverted, mode):
    # An int seed makes every forward call of the check draw the same mask. It is bound
    # with partial because check_layer's own ``seed`` argument (for dout) would take it.
    forward = partial(dropout_forward, seed=11)
    x = rng.standard_normal((4, 6))
    errors = check_layer(forward, dropout_backward, {"x": x}, p=0.3, mode=mode, inverted=inverted)
    assert max(errors.values()) < 1e-7, errors


# --------------------------------------------------------------------------- DropConnect


@pytest.mark.parametrize("inverted", [True, False])
def test_dropconnect_preserves_the_expected_pre_activation(rng, inverted):
    d, m, trials, p = 6, 4, 3000, 0.5
    x, w, b = rng.standard_normal((2, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    gen = np.random.default_rng(12)
    outs = np.stack(
        [dropconnect_forward(x, w, b, p, "train", inverted, gen)[0] for _ in range(trials)]
    )
    test_out, _ = dropconnect_forward(x, w, b, p, "test", inverted)
    keep = 1 - p
    expected = x @ w + b if inverted else keep * (x @ w) + b
    np.testing.assert_allclose(test_out, expected, rtol=1e-12)
    # out[n, j] - b_j = sum_d x_nd w_dj c_dj with independent c_dj: Bernoulli(keep), scaled
    # by 1 / keep when inverted. Var(c) = p / keep (inverted) or p * keep (vanilla).
    var_c = p / keep if inverted else p * keep
    standard_error = np.sqrt((x**2) @ (w**2) * var_c / trials)
    assert np.all(np.abs(outs.mean(axis=0) - test_out) < Z * standard_error)


@given(
    n=st.integers(1, 4),
    d=st.integers(1, 5),
    m=st.integers(1, 5),
    inverted=st.booleans(),
    mode=st.sampled_from(["train", "test"]),
    seed=st.integers(0, 2**16),
)
def test_dropconnect_matches_torch_autograd_with_the_same_mask(n, d, m, inverted, mode, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    dout, p = rng.standard_normal((n, m)), 0.3
    out, cache = dropconnect_forward(x, w, b, p, mode, inverted, seed)
    if mode == "train":
        factor = _tensor(keep_mask((d, m), p, seed=seed).astype(np.float64))
        factor = factor / (1 - p) if inverted else factor
    else:
        factor = 1.0 if inverted else 1 - p
    tx, tw, tb = _tensor(x, True), _tensor(w, True), _tensor(b, True)
    ref = tx @ (tw * factor) + tb
    (ref * _tensor(dout)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    for mine, theirs in zip(
        dropconnect_backward(dout, cache), (tx.grad, tw.grad, tb.grad), strict=True
    ):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=RTOL, atol=ATOL)


def test_dropconnect_dropped_weights_get_no_gradient(rng):
    x, w, b = rng.standard_normal((5, 8)), rng.standard_normal((8, 6)), np.zeros(6)
    _, cache = dropconnect_forward(x, w, b, 0.5, "train", seed=13)
    _, dw, _ = dropconnect_backward(rng.standard_normal((5, 6)), cache)
    dropped = ~keep_mask(w.shape, 0.5, seed=13)
    assert dropped.any() and (~dropped).any()
    assert np.all(dw[dropped] == 0)
    assert np.all(dw[~dropped] != 0)


@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_dropconnect_gradients_pass_numeric_check_with_a_fixed_mask(rng, inverted, mode):
    inputs = {
        "x": rng.standard_normal((3, 5)),
        "w": rng.standard_normal((5, 4)),
        "b": rng.standard_normal(4),
    }
    forward = partial(dropconnect_forward, seed=14)  # a fixed mask for every call
    errors = check_layer(forward, dropconnect_backward, inputs, p=0.4, mode=mode, inverted=inverted)
    assert max(errors.values()) < 1e-7, errors


def test_float32_in_float32_out_for_dropout_and_dropconnect(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32) * 1e3
    w, b = np.ones((4, 2), np.float32), np.zeros(2, np.float32)
    for mode in ("train", "test"):
        out, cache = dropout_forward(x, 0.5, mode, seed=0)
        assert (
            out.dtype == np.float32 and dropout_backward(np.ones((3, 4)), cache).dtype == np.float32
        )
        out, cache = dropconnect_forward(x, w, b, 0.5, mode, seed=0)
        grads = dropconnect_backward(np.ones((3, 2)), cache)
        assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: dropout_forward(np.ones(3), 1.0, "train"), r"p must lie in \[0, 1\)"),
        (lambda: dropout_forward(np.ones(3), -0.1, "train"), "p must lie"),
        (lambda: dropout_forward(np.ones(3), 0.5, "eval"), "mode"),
        (
            lambda: dropconnect_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(2), 0.5),
            r"w.*\(D, M\)",
        ),
        (
            lambda: dropconnect_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3), 0.5),
            r"b.*\(M,\)",
        ),
        (lambda: dropconnect_forward(np.ones(3), np.ones((3, 2)), np.ones(2), 0.5), r"x.*\(N, D\)"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_backward_rejects_dout_of_the_wrong_shape():
    _, cache = dropout_forward(np.ones((2, 3)), 0.5, "train", seed=0)
    with pytest.raises(ValueError, match="dout"):
        dropout_backward(np.ones((3, 2)), cache)
