"""Optimizers: step-by-step agreement with torch.optim, and the momentum forms' algebra."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from dlcourse.nn.module import Parameter
from dlcourse.optim.optimizers import (
    SGD,
    AdaGrad,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    RMSProp,
    adagrad_step,
    adam_step,
    momentum_step,
    rmsprop_step,
    sgd_step,
)

NUM_STEPS = 25
SHAPES = [(3, 4), (4,)]


class Quadratic:
    """A fixed random convex quadratic per array: grad = A @ w.ravel() - b."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.mats, self.vecs, self.starts = [], [], []
        for shape in SHAPES:
            d = int(np.prod(shape))
            m = rng.standard_normal((d, d))
            self.mats.append(m @ m.T / d + 0.5 * np.eye(d))
            self.vecs.append(rng.standard_normal(d))
            self.starts.append(rng.standard_normal(shape))

    def grads(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return [
            (a @ w.ravel() - b).reshape(w.shape)
            for a, b, w in zip(self.mats, self.vecs, arrays, strict=True)
        ]


def run_ours(make: Callable[[list[Parameter]], object], quad: Quadratic) -> list[list]:
    params = [Parameter(w.copy()) for w in quad.starts]
    opt = make(params)
    path = []
    for _ in range(NUM_STEPS):
        for p, g in zip(params, quad.grads([p.data for p in params]), strict=True):
            p.grad = g
        opt.step()
        path.append([p.data.copy() for p in params])
    return path


def run_torch(
    make: Callable[[list], torch.optim.Optimizer], quad: Quadratic, device: str = "cpu"
) -> list[list]:
    """The path of torch's optimizer over the quadratic, its parameters on ``device``."""
    tensors = [
        torch.tensor(w, dtype=torch.float64, device=device, requires_grad=True) for w in quad.starts
    ]
    opt = make(tensors)
    path = []
    for _ in range(NUM_STEPS):
        grads = quad.grads([t.detach().cpu().numpy() for t in tensors])
        for t, g in zip(tensors, grads, strict=True):
            t.grad = torch.from_numpy(g).to(device)
        opt.step()
        path.append([t.detach().cpu().numpy().copy() for t in tensors])
    return path


TORCH_CASES = {
    "sgd": (lambda p: SGD(p, lr=0.1), lambda t: torch.optim.SGD(t, lr=0.1)),
    "sgd_weight_decay": (
        lambda p: SGD(p, lr=0.1, weight_decay=0.05),
        lambda t: torch.optim.SGD(t, lr=0.1, weight_decay=0.05),
    ),
    "sgd_momentum": (
        lambda p: SGD(p, lr=0.05, momentum=0.9),
        lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.9),
    ),
    "momentum_class_weight_decay": (
        lambda p: Momentum(p, lr=0.05, momentum=0.8, weight_decay=0.1),
        lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.8, weight_decay=0.1),
    ),
    "nesterov": (
        lambda p: Nesterov(p, lr=0.05, momentum=0.9),
        lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.9, nesterov=True),
    ),
    "nesterov_weight_decay": (
        lambda p: SGD(p, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1),
        lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1),
    ),
    "adagrad": (lambda p: AdaGrad(p, lr=0.5), lambda t: torch.optim.Adagrad(t, lr=0.5)),
    "adagrad_weight_decay": (
        lambda p: AdaGrad(p, lr=0.5, weight_decay=0.1, eps=1e-6),
        lambda t: torch.optim.Adagrad(t, lr=0.5, weight_decay=0.1, eps=1e-6),
    ),
    "rmsprop": (
        lambda p: RMSProp(p, lr=0.01),
        lambda t: torch.optim.RMSprop(t, lr=0.01),
    ),
    "rmsprop_alpha_weight_decay": (
        lambda p: RMSProp(p, lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.1),
        lambda t: torch.optim.RMSprop(t, lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.1),
    ),
    "adam": (lambda p: Adam(p, lr=0.05), lambda t: torch.optim.Adam(t, lr=0.05)),
    "adam_betas_l2": (
        lambda p: Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda t: torch.optim.Adam(t, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
    "adamw": (lambda p: AdamW(p, lr=0.05), lambda t: torch.optim.AdamW(t, lr=0.05)),
    "adamw_strong_decay": (
        lambda p: AdamW(p, lr=0.05, weight_decay=0.5),
        lambda t: torch.optim.AdamW(t, lr=0.05, weight_decay=0.5),
    ),
}


@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_optimizer_follows_torch_optim_step_by_step(case: str, device: str) -> None:
    ours, theirs = TORCH_CASES[case]
    quad = Quadratic(seed=1)
    for step, (mine, ref) in enumerate(
        zip(run_ours(ours, quad), run_torch(theirs, quad, device), strict=True)
    ):
        for a, b in zip(mine, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {step}")


def test_sgd_momentum_follows_torch_when_the_learning_rate_changes() -> None:
    quad = Quadratic(seed=2)
    params = [Parameter(w.copy()) for w in quad.starts]
    tensors = [torch.tensor(w, dtype=torch.float64) for w in quad.starts]
    ours = SGD(params, lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD(tensors, lr=0.05, momentum=0.9)
    for step in range(NUM_STEPS):
        lr = 0.05 * 0.9**step
        ours.lr = lr
        theirs.param_groups[0]["lr"] = lr
        for p, t, g in zip(params, tensors, quad.grads([p.data for p in params]), strict=True):
            p.grad = g
            t.grad = torch.from_numpy(g.copy())
        ours.step()
        theirs.step()
        for p, t in zip(params, tensors, strict=True):
            np.testing.assert_allclose(p.data, t.numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- momentum forms


def trajectory(rule: Callable, w0: np.ndarray, grad_fn: Callable, **hyper) -> list[np.ndarray]:
    """Run a pure rule for NUM_STEPS steps; return the weights after every step."""
    w, state, path = w0.copy(), {}, []
    for _ in range(NUM_STEPS):
        w, state = rule(w, grad_fn(w), state, **hyper)
        path.append(w)
    return path


@pytest.fixture
def quadratic_2d() -> tuple[np.ndarray, Callable]:
    a = np.array([[3.0, 0.5], [0.5, 0.2]])  # an elongated valley, where momentum helps
    return np.array([1.0, -2.0]), lambda w: a @ w


@pytest.mark.parametrize("nesterov", [False, True])
def test_classical_momentum_form_matches_torch_form_at_constant_lr(quadratic_2d, nesterov):
    w0, grad = quadratic_2d
    torch_path = trajectory(momentum_step, w0, grad, lr=0.1, momentum=0.9, nesterov=nesterov)
    classical = trajectory(
        momentum_step, w0, grad, lr=0.1, momentum=0.9, nesterov=nesterov, form="classical"
    )
    np.testing.assert_allclose(np.array(classical), np.array(torch_path), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("nesterov", [False, True])
def test_average_momentum_form_equals_torch_form_with_lr_times_one_minus_mu(quadratic_2d, nesterov):
    w0, grad = quadratic_2d
    mu, lr = 0.8, 0.5
    average = trajectory(
        momentum_step, w0, grad, lr=lr, momentum=mu, nesterov=nesterov, form="average"
    )
    torch_path = trajectory(
        momentum_step, w0, grad, lr=lr * (1 - mu), momentum=mu, nesterov=nesterov
    )
    np.testing.assert_allclose(np.array(average), np.array(torch_path), rtol=1e-12, atol=1e-13)


def test_velocities_of_the_three_forms_are_rescalings_of_each_other() -> None:
    w = np.array([0.3, -1.2, 2.0])
    rng = np.random.default_rng(3)
    lr, mu = 0.2, 0.6
    states = {"torch": {}, "classical": {}, "average": {}}
    for _ in range(10):
        dw = rng.standard_normal(3)  # gradients independent of w: velocities depend on dw only
        for form in states:
            _, states[form] = momentum_step(w, dw, states[form], lr=lr, momentum=mu, form=form)
    v_torch = states["torch"]["velocity"]
    np.testing.assert_allclose(states["classical"]["velocity"], -lr * v_torch, rtol=1e-12)
    np.testing.assert_allclose(states["average"]["velocity"], -(1 - mu) * v_torch, rtol=1e-12)


def test_momentum_under_a_constant_gradient_matches_the_geometric_series() -> None:
    # With g fixed, the classical velocity after k steps is -lr * g * (1 - mu**k) / (1 - mu)
    # and the average-form velocity is -g * (1 - mu**k).
    g, lr, mu, w0 = np.array([2.0, -1.0]), 0.1, 0.75, np.array([0.5, 0.5])
    classical = trajectory(momentum_step, w0, lambda w: g, lr=lr, momentum=mu, form="classical")
    average = trajectory(momentum_step, w0, lambda w: g, lr=lr, momentum=mu, form="average")
    for t in range(1, NUM_STEPS + 1):
        ks = np.arange(1, t + 1)
        expected_classical = w0 - lr * g * np.sum((1 - mu**ks) / (1 - mu))
        expected_average = w0 - lr * g * np.sum(1 - mu**ks)
        np.testing.assert_allclose(classical[t - 1], expected_classical, rtol=1e-12)
        np.testing.assert_allclose(average[t - 1], expected_average, rtol=1e-12)


def test_classical_momentum_is_the_heavy_ball_recurrence(quadratic_2d) -> None:
    # Heavy ball (Polyak): w[t+1] = w[t] - lr * grad(w[t]) + mu * (w[t] - w[t-1]).
    w0, grad = quadratic_2d
    lr, mu = 0.1, 0.9
    path = trajectory(momentum_step, w0, grad, lr=lr, momentum=mu, form="classical")
    previous, current = w0, w0
    for got in path:
        previous, current = current, current - lr * grad(current) + mu * (current - previous)
        np.testing.assert_allclose(got, current, rtol=1e-10, atol=1e-12)


def test_nesterov_classical_form_takes_the_gradient_at_the_look_ahead_point(quadratic_2d):
    # The lectures' definition: v <- mu v - lr grad(theta + mu v); theta <- theta + v.
    w0, grad = quadratic_2d
    lr, mu = 0.1, 0.9
    path = trajectory(momentum_step, w0, grad, lr=lr, momentum=mu, nesterov=True)
    theta, v = w0.copy(), np.zeros(2)
    for got in path:
        v = mu * v - lr * grad(theta + mu * v)
        theta = theta + v
        # The torch-style update tracks the look-ahead point theta + mu * v.
        np.testing.assert_allclose(got, theta + mu * v, rtol=1e-10, atol=1e-12)


def test_classical_and_torch_momentum_differ_once_the_lr_changes() -> None:
    g = np.array([1.0])
    w_t, s_t, w_c, s_c = np.zeros(1), {}, np.zeros(1), {}
    for lr in (1.0, 0.1):
        w_t, s_t = momentum_step(w_t, g, s_t, lr=lr, momentum=0.5)
        w_c, s_c = momentum_step(w_c, g, s_c, lr=lr, momentum=0.5, form="classical")
    # torch: v = 1.5, step 0.1 * 1.5; classical: v = 0.5 * (-1) - 0.1 = -0.6.
    np.testing.assert_allclose(w_t, [-1.0 - 0.15])
    np.testing.assert_allclose(w_c, [-1.0 - 0.6])


# --------------------------------------------------------------------------- pure rules


def test_adam_and_adagrad_first_step_has_size_lr_in_every_coordinate() -> None:
    w = np.array([1.0, 1.0, 1.0])
    dw = np.array([1e-3, -5.0, 200.0])
    for rule in (adam_step, adagrad_step):
        next_w, _ = rule(w, dw, {}, lr=0.01, eps=1e-12)
        np.testing.assert_allclose(next_w, w - 0.01 * np.sign(dw), rtol=1e-9)


def test_rmsprop_first_step_divides_by_sqrt_one_minus_alpha() -> None:
    dw = np.array([0.5, -4.0])
    next_w, state = rmsprop_step(np.zeros(2), dw, {}, lr=0.1, alpha=0.75, eps=1e-12)
    np.testing.assert_allclose(state["sq_avg"], 0.25 * dw**2)
    np.testing.assert_allclose(next_w, -0.1 * np.sign(dw) / 0.5, rtol=1e-9)


def test_adamw_shrinks_weights_by_lr_times_decay_when_gradient_is_zero() -> None:
    w = np.array([2.0, -4.0])
    next_w, _ = adam_step(w, np.zeros(2), {}, lr=0.1, weight_decay=0.5, decoupled=True)
    np.testing.assert_allclose(next_w, w * (1 - 0.1 * 0.5))


@pytest.mark.parametrize(
    "rule, hyper",
    [
        (sgd_step, {}),
        (momentum_step, {"nesterov": True, "form": "average"}),
        (adagrad_step, {}),
        (rmsprop_step, {}),
        (adam_step, {"weight_decay": 0.1}),
    ],
)
def test_pure_rules_keep_float32_and_do_not_modify_their_inputs(rule, hyper) -> None:
    rng = np.random.default_rng(4)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    dw = rng.standard_normal((2, 3)).astype(np.float32)
    w_before, dw_before = w.copy(), dw.copy()
    _, state = rule(w, dw, {}, lr=0.1, **hyper)
    saved = {k: np.copy(v) for k, v in state.items()}
    next_w, next_state = rule(w, dw, state, lr=0.1, **hyper)
    assert next_w.dtype == np.float32
    assert all(np.asarray(v).dtype != np.float64 for v in next_state.values())
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_array_equal(dw, dw_before)
    for key, value in saved.items():
        np.testing.assert_array_equal(state[key], value)


# --------------------------------------------------------------------------- class skeleton


def test_step_updates_parameter_arrays_in_place_and_zero_grad_clears_them() -> None:
    p = Parameter(np.array([1.0, 2.0]))
    data = p.data
    p.grad = np.array([1.0, -1.0])
    opt = SGD([p], lr=0.5)
    opt.step()
    assert p.data is data
    np.testing.assert_allclose(p.data, [0.5, 2.5])
    opt.zero_grad()
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


def test_state_dict_round_trip_continues_the_same_trajectory() -> None:
    quad = Quadratic(seed=5)

    def advance(params: list[Parameter], opt: Adam, steps: int) -> None:
        for _ in range(steps):
            for p, g in zip(params, quad.grads([p.data for p in params]), strict=True):
                p.grad = g
            opt.step()

    straight = [Parameter(w.copy()) for w in quad.starts]
    advance(straight, Adam(straight, lr=0.05), 10)

    first = [Parameter(w.copy()) for w in quad.starts]
    opt = Adam(first, lr=0.05)
    advance(first, opt, 5)
    resumed = [Parameter(p.data.copy()) for p in first]
    opt2 = Adam(resumed, lr=0.05)
    opt2.load_state_dict(opt.state_dict())
    advance(resumed, opt2, 5)
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: SGD(p, lr=-0.1), "lr"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), "momentum"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: SGD(p, lr=0.1, momentum=0.9, form="polyak"), "form"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), "beta2"),
        (lambda p: RMSProp(p, eps=0.0), "eps"),
        (lambda p: AdamW(p, weight_decay=-1.0), "weight_decay"),
        (lambda p: SGD([], lr=0.1), "empty"),
        (lambda p: SGD([np.zeros(2)], lr=0.1), "not a Parameter"),
    ],
)
def test_bad_hyperparameters_raise_value_errors_naming_them(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make([Parameter(np.zeros(2))])


def test_gradient_of_the_wrong_shape_is_refused() -> None:
    p = Parameter(np.zeros((2, 3)))
    p.grad = np.zeros(6)
    with pytest.raises(ValueError, match=r"grad has shape \(6,\)"):
        Adam([p]).step()
    with pytest.raises(ValueError, match="same shape"):
        sgd_step(np.zeros(3), np.zeros(2), {}, lr=0.1)
