"""Activations and maxout against torch autograd, numeric gradients and known limits."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional import activations as act
from dlcourse.gradcheck import check_layer

RTOL = 1e-10
ATOL = 1e-12
# SELU's constants written out independently of the module, to the digits torch uses.
LAMBDA = 1.0507009873554804934193349852946
ALPHA = 1.6732632423543772848170429916717


@dataclass(frozen=True)
class Case:
    """One elementwise activation: our pair, its keyword arguments and torch's version."""

    forward: Callable
    backward: Callable
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    kwargs: dict = field(default_factory=dict)
    # Known limits for x = -1e3 and x = +1e3: (f(-1e3), f(1e3)) and (f'(-1e3), f'(1e3)).
    limits: tuple[float, float] = (0.0, 0.0)
    slopes: tuple[float, float] = (0.0, 0.0)


CASES = {
    "sigmoid": Case(act.sigmoid_forward, act.sigmoid_backward, torch.sigmoid, {}, (0, 1), (0, 0)),
    "tanh": Case(act.tanh_forward, act.tanh_backward, torch.tanh, {}, (-1, 1), (0, 0)),
    "relu": Case(act.relu_forward, act.relu_backward, F.relu, {}, (0, 1e3), (0, 1)),
    "leaky_relu_default": Case(
        act.leaky_relu_forward, act.leaky_relu_backward, F.leaky_relu, {}, (-10, 1e3), (0.01, 1)
    ),
    "leaky_relu_0.2": Case(
        act.leaky_relu_forward,
        act.leaky_relu_backward,
        lambda t: F.leaky_relu(t, 0.2),
        {"alpha": 0.2},
        (-200, 1e3),
        (0.2, 1),
    ),
    "elu_default": Case(act.elu_forward, act.elu_backward, F.elu, {}, (-1, 1e3), (0, 1)),
    "elu_0.5": Case(
        act.elu_forward,
        act.elu_backward,
        lambda t: F.elu(t, 0.5),
        {"alpha": 0.5},
        (-0.5, 1e3),
        (0, 1),
    ),
    "selu": Case(
        act.selu_forward,
        act.selu_backward,
        F.selu,
        {},
        (-LAMBDA * ALPHA, LAMBDA * 1e3),
        (0, LAMBDA),
    ),
    "gelu": Case(act.gelu_forward, act.gelu_backward, F.gelu, {}, (0, 1e3), (0, 1)),
    "gelu_tanh": Case(
        act.gelu_forward,
        act.gelu_backward,
        lambda t: F.gelu(t, approximate="tanh"),
        {"approximate": "tanh"},
        (0, 1e3),
        (0, 1),
    ),
    "silu": Case(act.silu_forward, act.silu_backward, F.silu, {}, (0, 1e3), (0, 1)),
    "softplus": Case(act.softplus_forward, act.softplus_backward, F.softplus, {}, (0, 1e3), (0, 1)),
}


def torch_reference(
    fn: Callable[..., torch.Tensor],
    arrays: list[np.ndarray],
    dout: np.ndarray,
    device: str = "cpu",
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run ``fn`` in float64 torch autograd on ``device``; return its output and the input
    gradients."""
    tensors = [
        torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True) for a in arrays
    ]
    out = fn(*tensors)
    out.backward(torch.tensor(dout, dtype=torch.float64, device=device))
    return out.detach().cpu().numpy(), [t.grad.cpu().numpy() for t in tensors]


def away_from_kinks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random values with |x| in [0.1, 3], so finite differences never straddle x = 0."""
    return rng.uniform(0.1, 3.0, shape) * rng.choice([-1.0, 1.0], shape)


shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("name", CASES)
@given(shape=shapes, seed=seeds)
def test_activation_forward_and_backward_match_torch_float64(name, shape, seed):
    case = CASES[name]
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    out, cache = case.forward(x, **case.kwargs)
    dx = case.backward(dout, cache)
    expected_out, (expected_dx,) = torch_reference(case.torch_fn, [x], dout)
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, expected_dx, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", CASES)
def test_activation_backward_matches_numeric_gradient(name, rng):
    case = CASES[name]
    x = away_from_kinks(rng, (3, 4))
    errors = check_layer(case.forward, case.backward, {"x": x}, **case.kwargs)
    assert errors["x"] < 1e-7


@pytest.mark.parametrize("name", CASES)
def test_activation_float32_keeps_dtype_and_is_close_to_float64(name, rng):
    case = CASES[name]
    x = 3 * rng.standard_normal((4, 5))
    dout = rng.standard_normal((4, 5))
    out64, cache64 = case.forward(x, **case.kwargs)
    dx64 = case.backward(dout, cache64)
    out32, cache32 = case.forward(x.astype(np.float32), **case.kwargs)
    dx32 = case.backward(dout.astype(np.float32), cache32)
    assert out32.dtype == np.float32
    assert dx32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", CASES)
def test_activation_handles_magnitude_1e3_without_warnings(name, dtype):
    case = CASES[name]
    x = np.array([-1e3, 1e3], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = case.forward(x, **case.kwargs)
        dx = case.backward(np.ones_like(x), cache)
    assert out.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(out, case.limits, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(dx, case.slopes, rtol=1e-6, atol=1e-30)


def test_selu_constants_are_the_full_double_precision_values():
    assert act.SELU_SCALE == 1.0507009873554805
    assert act.SELU_ALPHA == 1.6732632423543772
    out, _ = act.selu_forward(np.array([1.0, -np.inf]))
    assert out[0] == 1.0507009873554805
    assert out[1] == -1.0507009873554805 * 1.6732632423543772


def test_leaky_relu_default_slope_is_one_hundredth():
    out, cache = act.leaky_relu_forward(np.array([-2.0, 3.0]))
    np.testing.assert_array_equal(out, [-0.02, 3.0])
    np.testing.assert_array_equal(act.leaky_relu_backward(np.ones(2), cache), [0.01, 1.0])


def test_relu_family_gradient_at_zero_follows_torch(device):
    x = np.zeros(1)
    for name in ("relu", "leaky_relu_0.2", "elu_0.5", "selu"):
        case = CASES[name]
        _, cache = case.forward(x, **case.kwargs)
        _, (expected,) = torch_reference(case.torch_fn, [x], np.ones(1), device)
        np.testing.assert_allclose(case.backward(np.ones(1), cache), expected, rtol=RTOL)


# ---------------------------------------------------------------------------- registry


def test_registry_lists_every_parameter_free_activation_and_no_learnable_one():
    expected = {
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "gelu_tanh",
        "silu",
        "swish",
        "softplus",
    }
    assert set(act.ACTIVATIONS) == expected


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_registry_pairs_match_torch_by_name(name, rng, device):
    torch_fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": F.leaky_relu,
        "elu": F.elu,
        "selu": F.selu,
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu,
        "swish": F.silu,
        "softplus": F.softplus,
    }
    forward, backward = act.ACTIVATIONS[name]
    x = np.linspace(-4, 4, 17)
    dout = rng.standard_normal(17)
    out, cache = forward(x)
    expected_out, (expected_dx,) = torch_reference(torch_fns[name], [x], dout, device)
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(backward(dout, cache), expected_dx, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------------------- PReLU


@given(
    shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4),
    per_channel=st.booleans(),
    seed=seeds,
)
def test_prelu_matches_torch_float64_for_shared_and_per_channel_slopes(shape, per_channel, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    alpha = rng.uniform(0.0, 0.5, (shape[1],) if per_channel else ())
    dout = rng.standard_normal(shape)
    out, cache = act.prelu_forward(x, alpha)
    dx, dalpha = act.prelu_backward(dout, cache)
    expected_out, (expected_dx, expected_dalpha) = torch_reference(F.prelu, [x, alpha], dout)
    assert dalpha.shape == alpha.shape
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, expected_dx, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dalpha, expected_dalpha, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("alpha_shape", [(), (3,)])
def test_prelu_backward_matches_numeric_gradient(alpha_shape, rng):
    x = away_from_kinks(rng, (2, 3, 2))
    alpha = rng.uniform(0.05, 0.3, alpha_shape)
    errors = check_layer(act.prelu_forward, act.prelu_backward, {"x": x, "alpha": alpha})
    assert max(errors.values()) < 1e-7


def test_prelu_float32_keeps_dtype_for_output_and_both_gradients(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    alpha = np.full(3, 0.25, dtype=np.float32)
    out, cache = act.prelu_forward(x, alpha)
    dx, dalpha = act.prelu_backward(np.ones_like(x), cache)
    assert (out.dtype, dx.dtype, dalpha.dtype) == (np.float32,) * 3


def test_prelu_rejects_slope_count_that_differs_from_channels():
    with pytest.raises(ValueError, match=r"alpha must have shape \(4\).*got \(3,\)"):
        act.prelu_forward(np.zeros((2, 4, 5)), np.zeros(3))


def test_prelu_rejects_per_channel_slopes_for_one_dimensional_input():
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, ...\)"):
        act.prelu_forward(np.zeros(5), np.zeros(5))


def test_prelu_rejects_matrix_of_slopes():
    with pytest.raises(ValueError, match=r"alpha must have shape \(\) or \(C,\), got \(2, 2\)"):
        act.prelu_forward(np.zeros((2, 2)), np.zeros((2, 2)))


# ------------------------------------------------------------------------------ maxout


def torch_maxout(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The lecture's max over affine pieces, written directly in torch."""
    pieces = torch.einsum("nd,kdm->nkm", x, w) + b
    return pieces.max(dim=1).values


@given(
    n=st.integers(1, 5),
    d=st.integers(1, 5),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    seed=seeds,
)
def test_maxout_matches_torch_float64(n, d, k, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((k, d, m))
    b = rng.standard_normal((k, m))
    dout = rng.standard_normal((n, m))
    out, cache = act.maxout_forward(x, w, b)
    grads = act.maxout_backward(dout, cache)
    expected_out, expected_grads = torch_reference(torch_maxout, [x, w, b], dout)
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=ATOL)
    for grad, expected in zip(grads, expected_grads, strict=True):
        assert grad.shape == expected.shape
        np.testing.assert_allclose(grad, expected, rtol=RTOL, atol=ATOL)


def test_maxout_backward_matches_numeric_gradient(rng):
    inputs = {
        "x": rng.standard_normal((4, 3)),
        "w": rng.standard_normal((3, 3, 2)),
        "b": rng.standard_normal((3, 2)),
    }
    errors = check_layer(act.maxout_forward, act.maxout_backward, inputs)
    assert max(errors.values()) < 1e-7


def test_maxout_with_two_pieces_is_the_larger_affine_map():
    x = np.array([[1.0, 2.0]])
    w = np.array([[[1.0], [0.0]], [[0.0], [1.0]]])  # piece 0 picks x0, piece 1 picks x1
    b = np.array([[0.5], [0.0]])
    out, _ = act.maxout_forward(x, w, b)
    np.testing.assert_array_equal(out, [[2.0]])  # max(1 + 0.5, 2 + 0)


def test_prelu_and_maxout_match_torch_on_the_device(rng, device):
    x, alpha = away_from_kinks(rng, (2, 3, 4)), rng.uniform(0.05, 0.3, 3)
    dout = rng.standard_normal(x.shape)
    out, cache = act.prelu_forward(x, alpha)
    expected_out, expected_grads = torch_reference(F.prelu, [x, alpha], dout, device)
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=ATOL)
    for grad, expected in zip(act.prelu_backward(dout, cache), expected_grads, strict=True):
        np.testing.assert_allclose(grad, expected, rtol=RTOL, atol=ATOL)
    x, w, b = (
        rng.standard_normal((4, 3)),
        rng.standard_normal((2, 3, 5)),
        rng.standard_normal((2, 5)),
    )
    dout = rng.standard_normal((4, 5))
    out, cache = act.maxout_forward(x, w, b)
    expected_out, expected_grads = torch_reference(torch_maxout, [x, w, b], dout, device)
    np.testing.assert_allclose(out, expected_out, rtol=RTOL, atol=ATOL)
    for grad, expected in zip(act.maxout_backward(dout, cache), expected_grads, strict=True):
        np.testing.assert_allclose(grad, expected, rtol=RTOL, atol=ATOL)


def test_maxout_float32_keeps_dtype(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    w = rng.standard_normal((2, 2, 4)).astype(np.float32)
    b = np.zeros((2, 4), dtype=np.float32)
    out, cache = act.maxout_forward(x, w, b)
    grads = act.maxout_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape", "message"),
    [
        ((3,), (2, 3, 4), (2, 4), r"x must have shape \(N, D\)"),
        ((5, 3), (2, 4, 4), (2, 4), r"w must have shape \(\*, 3, \*\).*got \(2, 4, 4\)"),
        ((5, 3), (3, 4), (2, 4), r"w must have shape \(k, D, M\)"),
        ((5, 3), (2, 3, 4), (4, 2), r"b must have shape \(2, 4\).*got \(4, 2\)"),
        ((5, 3), (0, 3, 4), (0, 4), r"at least one piece"),
    ],
)
def test_maxout_rejects_inconsistent_shapes(x_shape, w_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        act.maxout_forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape))


# ---------------------------------------------------------------------- input checks


def test_backward_rejects_dout_of_another_shape():
    _, cache = act.sigmoid_forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dout and the forward input x must have the same"):
        act.sigmoid_backward(np.zeros((3, 2)), cache)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        act.gelu_forward(np.zeros(2), approximate="fast")


def test_activations_refuse_float16_input():
    with pytest.raises(ValueError, match="x must hold float32 or float64"):
        act.relu_forward(np.zeros(2, dtype=np.float16))


def test_hyperparameter_must_be_finite():
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        act.elu_forward(np.zeros(2), alpha=float("nan"))
