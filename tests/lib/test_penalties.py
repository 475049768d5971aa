"""Weight penalties against torch autograd, numeric gradients and the lecture's formulas."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional import penalties
from dlcourse.gradcheck import numeric_gradient, rel_error

RTOL = 1e-10
shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
regs = st.sampled_from([0.0, 1e-3, 0.5, 2.0])

# The lecture's R(W), written in torch; the penalty is reg * R(W).
TORCH_R = {
    "l2": lambda w, beta: (w**2).sum(),
    "l1": lambda w, beta: w.abs().sum(),
    "elastic_net": lambda w, beta: (beta * w**2 + w.abs()).sum(),
}


def ours(name: str, w: np.ndarray, reg: float, beta: float):
    if name == "elastic_net":
        return penalties.elastic_net_penalty(w, reg, beta)
    return getattr(penalties, f"{name}_penalty")(w, reg)


@pytest.mark.parametrize("name", TORCH_R)
@given(
    shape=shapes, reg=regs, beta=st.sampled_from([0.0, 0.3, 2.0]), seed=st.integers(0, 2**32 - 1)
)
def test_penalty_and_gradient_match_torch_autograd(name, shape, reg, beta, seed):
    w = np.random.default_rng(seed).standard_normal(shape)
    penalty, dw = ours(name, w, reg, beta)
    t = torch.tensor(w, requires_grad=True)
    expected = reg * TORCH_R[name](t, beta)
    expected.backward()
    np.testing.assert_allclose(penalty, expected.item(), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(dw, t.grad.numpy(), rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("name", TORCH_R)
def test_penalty_gradient_matches_numeric_gradient(name, rng):
    # |w| >= 0.1 keeps the finite differences away from the kink of |w| at 0.
    w = rng.uniform(0.1, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    _, dw = ours(name, w, 0.7, 0.4)
    numeric = numeric_gradient(lambda v: float(ours(name, v, 0.7, 0.4)[0]), w)
    assert rel_error(numeric, dw) < 1e-7


def test_penalties_follow_the_lecture_formulas_on_a_hand_example():
    w = np.array([[1.0, -2.0], [0.0, 3.0]])
    # L2: 0.5 * (1 + 4 + 0 + 9) = 7, gradient 2 * 0.5 * w = w.
    penalty, dw = penalties.l2_penalty(w, 0.5)
    assert penalty == 7.0
    np.testing.assert_array_equal(dw, w)
    # L1: 0.5 * (1 + 2 + 0 + 3) = 3, gradient 0.5 * sign(w).
    penalty, dw = penalties.l1_penalty(w, 0.5)
    assert penalty == 3.0
    np.testing.assert_array_equal(dw, [[0.5, -0.5], [0.0, 0.5]])
    # Elastic net, beta = 0.25: 0.5 * (0.25 * 14 + 6) = 4.75, gradient 0.5 (0.5 w + sign w).
    penalty, dw = penalties.elastic_net_penalty(w, 0.5, 0.25)
    assert penalty == 4.75
    np.testing.assert_array_equal(dw, [[0.75, -1.0], [0.0, 1.25]])


@pytest.mark.parametrize("name", ["l1", "elastic_net"])
def test_subgradient_of_absolute_value_at_zero_is_zero(name):
    _, dw = ours(name, np.zeros((2, 3)), 1.0, 0.5)
    np.testing.assert_array_equal(dw, np.zeros((2, 3)))


@pytest.mark.parametrize("name", TORCH_R)
def test_penalty_float32_keeps_dtype_and_is_close_to_float64(name, rng):
    w = rng.standard_normal((5, 4))
    penalty64, dw64 = ours(name, w, 0.3, 0.5)
    penalty32, dw32 = ours(name, w.astype(np.float32), 0.3, 0.5)
    assert penalty32.dtype == np.float32 and dw32.dtype == np.float32
    np.testing.assert_allclose(penalty32, penalty64, rtol=1e-5)
    np.testing.assert_allclose(dw32, dw64, rtol=1e-5)


@pytest.mark.parametrize("name", TORCH_R)
def test_penalty_rejects_negative_strength(name):
    with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
        ours(name, np.ones(3), -0.1, 0.5)


def test_elastic_net_rejects_negative_beta():
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        penalties.elastic_net_penalty(np.ones(3), 0.1, -1.0)


def test_penalty_refuses_float16_weights():
    with pytest.raises(ValueError, match="w must hold float32 or float64"):
        penalties.l2_penalty(np.ones(3, dtype=np.float16), 0.1)
