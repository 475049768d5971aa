"""First-order optimizers: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam and AdamW.

Each rule exists twice:

* as a pure function on one array, ``xxx_step(w, dw, state, *, lr, ...) ->
  (next_w, next_state)``. ``state`` is a dict of the rule's running arrays (empty on the
  first step) and is never modified; the returned dict replaces it. A notebook can ask
  students to write one of these, and a widget can race them on a 2-D surface with
  ``w`` of shape (2,);
* as a class over :class:`~dlcourse.nn.module.Parameter` objects with the interface of
  ``torch.optim``: ``opt = Adam(model.parameters(), lr=1e-3)``, ``opt.zero_grad()``,
  ``model.backward(...)``, ``opt.step()``.

All classes share one skeleton, :class:`Optimizer`: it keeps one state dict per
parameter and, in :meth:`Optimizer.step`, hands ``(w, dw, state)`` to the subclass's
``_update`` hook, which calls the pure function. So each optimizer reads as the small
difference it is: which running averages it keeps and how it scales the step.

The classes follow ``torch.optim`` step for step (same defaults, same placement of
``eps``, same weight-decay convention): ``weight_decay`` adds ``weight_decay * w`` to the
gradient (an L2 penalty), except in :class:`AdamW`, where the weights are shrunk directly
("decoupled" weight decay). Hyperparameters are converted to Python floats so that a
float32 array stays float32.

Momentum is written three ways in the lecture notes and in libraries; the ``form``
argument selects one (``mu`` is ``momentum``, ``g`` the gradient):

``"torch"`` (PyTorch, "heavy ball" as a sum of gradients)
    ``v <- mu * v + g``;  ``w <- w - lr * v``
``"classical"`` (the lectures' summary table: ``v <- alpha v - eps g``)
    ``v <- mu * v - lr * g``;  ``w <- w + v``
``"average"`` (the lectures' "moving average of -g" slide)
    ``v <- mu * v - (1 - mu) * g``;  ``w <- w + lr * v``

They are the same method with the velocity measured in different units. With a constant
learning rate, ``v_classical = -lr * v_torch`` at every step, so the two trajectories are
identical. ``v_average = -(1 - mu) * v_torch``, so the "average" form equals the torch
form run with the learning rate ``lr * (1 - mu)``: it takes steps ``1 / (1 - mu)`` times
smaller, which is why it is paired with larger learning rates. They differ only when the
learning rate changes: the classical velocity keeps the old learning rates baked in,
while the torch form applies the new rate to the whole accumulated velocity at once.

Nesterov momentum evaluates the gradient at the look-ahead point ``w + mu * v``. The
usual change of variables (tracking the look-ahead point instead of ``w``) turns that
into a step of ``(1 + mu) * v_new - mu * v_old`` in each form's own units, which for the
torch form is PyTorch's ``g + mu * v_new``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from dlcourse._validate import as_float_array, check_same_shape
from dlcourse.nn.module import Parameter

State = dict[str, Any]
MomentumForm = Literal["torch", "classical", "average"]
MOMENTUM_FORMS: tuple[str, ...] = ("torch", "classical", "average")


# --------------------------------------------------------------------------- checks


def _check_lr(lr: float) -> float:
    """Return ``lr`` as a float; a learning rate of 0 is allowed (a schedule may reach it)."""
    lr = float(lr)
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number >= 0, got {lr}")
    return lr


def _check_rate(value: float, name: str) -> float:
    """Return a decay rate as a float after checking it lies in [0, 1)."""
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return value


def _check_nonnegative(value: float, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _check_eps(eps: float) -> float:
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"eps must be positive (it keeps the division finite), got {eps}")
    return eps


def _check_form(form: str) -> None:
    if form not in MOMENTUM_FORMS:
        raise ValueError(f"form must be one of {MOMENTUM_FORMS}, got {form!r}")


def _arrays(w: object, dw: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate a weight array and its gradient; the gradient takes the weight's dtype."""
    w = as_float_array(w, "w")
    dw = as_float_array(dw, "dw")
    check_same_shape(w, dw, "w", "dw")
    return w, dw.astype(w.dtype, copy=False)


def _with_l2(w: np.ndarray, dw: np.ndarray, weight_decay: float) -> np.ndarray:
    """Gradient of ``loss + weight_decay / 2 * ||w||^2``: torch's coupled weight decay."""
    return dw + weight_decay * w if weight_decay else dw


# --------------------------------------------------------------------------- pure rules


def sgd_step(
    w: np.ndarray, dw: np.ndarray, state: State, *, lr: float, weight_decay: float = 0.0
) -> tuple[np.ndarray, State]:
    """Plain (stochastic) gradient descent: ``w <- w - lr * dw``.

    ``w`` and ``dw`` have the same, arbitrary shape. SGD keeps no state, so ``state`` is
    returned unchanged; it is accepted so that every rule has the same signature.
    """
    w, dw = _arrays(w, dw)
    lr = _check_lr(lr)
    g = _with_l2(w, dw, _check_nonnegative(weight_decay, "weight_decay"))
    return w - lr * g, dict(state)


def momentum_step(
    w: np.ndarray,
    dw: np.ndarray,
    state: State,
    *,
    lr: float,
    momentum: float = 0.9,
    nesterov: bool = False,
    form: MomentumForm = "torch",
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """SGD with momentum (or Nesterov momentum) in one of three equivalent forms.

    ``state["velocity"]`` has ``w``'s shape and starts at zero. See the module docstring
    for how the ``"torch"``, ``"classical"`` and ``"average"`` forms relate: with a
    constant ``lr`` the first two give identical weights, and ``"average"`` equals
    ``"torch"`` with the learning rate ``lr * (1 - momentum)``.
    """
    w, dw = _arrays(w, dw)
    lr = _check_lr(lr)
    mu = _check_rate(momentum, "momentum")
    _check_form(form)
    if nesterov and mu == 0:
        raise ValueError("nesterov=True needs momentum > 0 (with 0 it is plain SGD)")
    g = _with_l2(w, dw, _check_nonnegative(weight_decay, "weight_decay"))
    v_old = state.get("velocity", np.zeros_like(w))

    if form == "torch":
        v = mu * v_old + g
    elif form == "classical":
        v = mu * v_old - lr * g
    else:
        v = mu * v_old - (1 - mu) * g
    # Nesterov moves by the velocity as it will look after the next step.
    move = (1 + mu) * v - mu * v_old if nesterov else v

    if form == "torch":
        next_w = w - lr * move
    elif form == "classical":
        next_w = w + move
    else:
        next_w = w + lr * move
    return next_w, {**state, "velocity": v}


def adagrad_step(
    w: np.ndarray,
    dw: np.ndarray,
    state: State,
    *,
    lr: float,
    eps: float = 1e-10,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """AdaGrad: divide each coordinate's step by the root of its summed squared gradients.

    ``state["sum_sq"]`` (shape of ``w``) accumulates ``dw**2`` forever, so coordinates
    with large gradients see their effective learning rate shrink fastest, and every
    rate only ever decreases.
    """
    w, dw = _arrays(w, dw)
    lr = _check_lr(lr)
    eps = _check_eps(eps)
    g = _with_l2(w, dw, _check_nonnegative(weight_decay, "weight_decay"))
    sum_sq = state.get("sum_sq", np.zeros_like(w)) + g * g
    return w - lr * g / (np.sqrt(sum_sq) + eps), {**state, "sum_sq": sum_sq}


def rmsprop_step(
    w: np.ndarray,
    dw: np.ndarray,
    state: State,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, State]:
    """RMSProp: AdaGrad with a decaying average of squared gradients (``alpha`` is rho).

    ``state["sq_avg"] <- alpha * sq_avg + (1 - alpha) * dw**2``; forgetting old gradients
    keeps the effective learning rate from shrinking to nothing as AdaGrad's does.
    """
    w, dw = _arrays(w, dw)
    lr = _check_lr(lr)
    alpha = _check_rate(alpha, "alpha")
    eps = _check_eps(eps)
    g = _with_l2(w, dw, _check_nonnegative(weight_decay, "weight_decay"))
    sq_avg = alpha * state.get("sq_avg", np.zeros_like(w)) + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(sq_avg) + eps), {**state, "sq_avg": sq_avg}


def adam_step(
    w: np.ndarray,
    dw: np.ndarray,
    state: State,
    *,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> tuple[np.ndarray, State]:
    """Adam: momentum on the gradient and RMSProp scaling, both bias-corrected.

    State: ``"m"`` and ``"v"`` (shape of ``w``), the running first and second moments,
    and ``"step"``, the number of steps taken. Both moments start at zero, so early on
    they underestimate the true averages by the factor ``1 - beta**step``; dividing by it
    removes that bias. ``decoupled=True`` is AdamW: instead of adding ``weight_decay * w``
    to the gradient (where the adaptive scaling would weaken it for coordinates with large
    gradients) the weights are shrunk by ``lr * weight_decay`` directly.
    """
    w, dw = _arrays(w, dw)
    lr = _check_lr(lr)
    beta1 = _check_rate(beta1, "beta1")
    beta2 = _check_rate(beta2, "beta2")
    eps = _check_eps(eps)
    weight_decay = _check_nonnegative(weight_decay, "weight_decay")
    if decoupled:
        w = w * (1 - lr * weight_decay)
        g = dw
    else:
        g = _with_l2(w, dw, weight_decay)
    step = int(state.get("step", 0)) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * g
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**step)
    v_hat = v / (1 - beta2**step)
    next_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return next_w, {**state, "m": m, "v": v, "step": step}


def adamw_step(
    w: np.ndarray,
    dw: np.ndarray,
    state: State,
    *,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[np.ndarray, State]:
    """AdamW: :func:`adam_step` with decoupled weight decay (torch's default 0.01)."""
    return adam_step(
        w,
        dw,
        state,
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        decoupled=True,
    )


# --------------------------------------------------------------------------- classes


class Optimizer:
    """Shared skeleton: a list of parameters, one state dict each, and an update hook.

    Subclasses implement :meth:`_update` (usually one call to a pure ``xxx_step``);
    :meth:`step` applies it to every parameter and writes the result into
    ``param.data`` in place, so arrays held elsewhere see the new values. ``lr`` is a
    plain attribute that learning-rate schedules overwrite between steps.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise ValueError(f"params[{i}] is a {type(p).__name__}, not a Parameter")
        self.lr = _check_lr(lr)
        self.state: list[State] = [{} for _ in self.params]

    def _update(self, w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Return ``(next_w, next_state)`` for one parameter; the rule of the subclass."""
        raise NotImplementedError

    def step(self) -> None:
        """Update every parameter from its current ``.grad``."""
        lr = _check_lr(self.lr)  # a schedule may have set it since the last step
        self.lr = lr
        for i, p in enumerate(self.params):
            if p.grad.shape != p.data.shape:
                raise ValueError(
                    f"params[{i}].grad has shape {p.grad.shape}, "
                    f"but its data has shape {p.data.shape}"
                )
            next_w, self.state[i] = self._update(p.data, p.grad, self.state[i])
            p.data[...] = next_w

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zeros (backward passes may accumulate)."""
        for p in self.params:
            p.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        """A copy of the learning rate and every parameter's running state."""
        copied = [
            {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for s in self.state
        ]
        return {"lr": self.lr, "state": copied}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same list of parameters."""
        if set(saved) != {"lr", "state"}:
            raise ValueError(f"expected the keys ['lr', 'state'], got {sorted(saved)}")
        if len(saved["state"]) != len(self.params):
            raise ValueError(
                f"the saved state holds {len(saved['state'])} parameters, "
                f"this optimizer has {len(self.params)}"
            )
        self.lr = _check_lr(saved["lr"])
        self.state = [
            {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for s in saved["state"]
        ]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, num_params={len(self.params)})"


class SGD(Optimizer):
    """``torch.optim.SGD``: plain SGD, or with ``momentum`` > 0 momentum/Nesterov.

    ``form`` chooses how the velocity is written (see the module docstring); only
    ``"torch"`` matches ``torch.optim.SGD`` when the learning rate changes over time.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        form: MomentumForm = "torch",
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_rate(momentum, "momentum")
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay")
        _check_form(form)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0 (with 0 it is plain SGD)")
        self.nesterov = nesterov
        self.form = form

    def _update(self, w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        if self.momentum == 0:
            return sgd_step(w, dw, state, lr=self.lr, weight_decay=self.weight_decay)
        return momentum_step(
            w,
            dw,
            state,
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            form=self.form,
            weight_decay=self.weight_decay,
        )


class Momentum(SGD):
    """SGD with (heavy-ball) momentum, 0.9 by default; ``form`` as in :class:`SGD`."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        form: MomentumForm = "torch",
    ) -> None:
        if momentum == 0:
            raise ValueError("Momentum needs momentum > 0; use SGD for plain gradient descent")
        super().__init__(params, lr, momentum, False, weight_decay, form)


class Nesterov(SGD):
    """SGD with Nesterov momentum (``torch.optim.SGD(..., nesterov=True)``)."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        form: MomentumForm = "torch",
    ) -> None:
        super().__init__(params, lr, momentum, True, weight_decay, form)


class AdaGrad(Optimizer):
    """``torch.optim.Adagrad`` (without its ``lr_decay``; use a schedule instead)."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.eps = _check_eps(eps)
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay")

    def _update(self, w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        return adagrad_step(w, dw, state, lr=self.lr, eps=self.eps, weight_decay=self.weight_decay)


class RMSProp(Optimizer):
    """``torch.optim.RMSprop`` without its ``momentum``/``centered`` options."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = _check_rate(alpha, "alpha")
        self.eps = _check_eps(eps)
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay")

    def _update(self, w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        return rmsprop_step(
            w,
            dw,
            state,
            lr=self.lr,
            alpha=self.alpha,
            eps=self.eps,
            weight_decay=self.weight_decay,
        )


class Adam(Optimizer):
    """``torch.optim.Adam`` (L2 ``weight_decay`` added to the gradient; no AMSGrad)."""

    decoupled = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_rate(betas[0], "beta1"), _check_rate(betas[1], "beta2"))
        self.eps = _check_eps(eps)
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay")

    def _update(self, w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        return adam_step(
            w,
            dw,
            state,
            lr=self.lr,
            beta1=self.betas[0],
            beta2=self.betas[1],
            eps=self.eps,
            weight_decay=self.weight_decay,
            decoupled=self.decoupled,
        )


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (0.01 by default)."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


# The pure rules by name, with the same signature, for widgets that race optimizers.
UPDATE_RULES = {
    "sgd": sgd_step,
    "momentum": momentum_step,
    "adagrad": adagrad_step,
    "rmsprop": rmsprop_step,
    "adam": adam_step,
    "adamw": adamw_step,
}
