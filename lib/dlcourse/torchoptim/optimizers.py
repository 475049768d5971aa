"""SGD (momentum, Nesterov), AdaGrad, RMSProp, Adam and AdamW as torch optimizers.

The torch twins of :mod:`dlcourse.optim.optimizers`, with the same class names and,
where a hyperparameter means the same as in ``torch.optim``, the same name and default.
Each class is the per-parameter rule on top of :class:`~dlcourse.torchoptim.base.
RuleOptimizer`, which owns the loop over groups and parameters, the step count, the
state and weight decay. In float64 each one takes the same steps as its ``torch.optim``
counterpart (``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``): the arithmetic is
done in the same order, so trajectories agree to rounding.

The NumPy side's ``form`` argument (three ways to write the momentum velocity) has no
place here: torch's "sum of gradients" form is the only one, and the one that behaves
as torch does when the learning rate changes.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from dlcourse.optim.optimizers import _check_eps, _check_nonnegative, _check_rate
from dlcourse.torchoptim.base import Group, ParamsT, RuleOptimizer, State


class SGD(RuleOptimizer):
    """Stochastic gradient descent, with heavy-ball or Nesterov momentum (``torch.optim.SGD``).

    With ``g`` the gradient (plus ``weight_decay * p``) and ``mu = momentum``:
    ``buf <- mu * buf + (1 - dampening) * g`` (``buf = g`` on the first step), then
    ``p <- p - lr * buf``, or with Nesterov ``p <- p - lr * (g + mu * buf)``: the step
    as it will look after the next velocity update (Sutskever et al., "On the importance
    of initialization and momentum in deep learning", ICML 2013). ``momentum=0`` is
    plain SGD and keeps no buffer.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        momentum = _check_rate(momentum, "momentum")
        dampening = _check_rate(dampening, "dampening")
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0, "
                f"got momentum={momentum} and dampening={dampening}"
            )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": bool(nesterov),
        }
        super().__init__(params, defaults)

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: State, group: Group) -> None:
        mu = group["momentum"]
        if mu:
            if "momentum_buffer" not in state:
                # torch starts the velocity at the first gradient, undamped.
                state["momentum_buffer"] = grad.clone().detach()
            else:
                state["momentum_buffer"].mul_(mu).add_(grad, alpha=1 - group["dampening"])
            buf = state["momentum_buffer"]
            grad = grad.add(buf, alpha=mu) if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])


class Momentum(SGD):
    """SGD with heavy-ball momentum, 0.9 by default (the NumPy side's ``Momentum``)."""

    def __init__(
        self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.0
    ) -> None:
        if momentum == 0:
            raise ValueError("Momentum needs momentum > 0; use SGD for plain gradient descent")
        super().__init__(params, lr, momentum=momentum, weight_decay=weight_decay)


class Nesterov(SGD):
    """SGD with Nesterov momentum, 0.9 by default (``torch.optim.SGD(..., nesterov=True)``)."""

    def __init__(
        self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)


class AdaGrad(RuleOptimizer):
    """AdaGrad (``torch.optim.Adagrad``): steps divided by the root of summed squared gradients.

    ``sum <- sum + g**2`` (starting at ``initial_accumulator_value``) and
    ``p <- p - lr_t * g / (sqrt(sum) + eps)`` with ``lr_t = lr / (1 + (t - 1) * lr_decay)``
    at step ``t`` (Duchi et al., "Adaptive Subgradient Methods", JMLR 2011).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": _check_nonnegative(lr_decay, "lr_decay"),
            "weight_decay": weight_decay,
            "initial_accumulator_value": _check_nonnegative(
                initial_accumulator_value, "initial_accumulator_value"
            ),
            "eps": _check_eps(eps),
        }
        super().__init__(params, defaults)

    def _init_state(self, p: torch.Tensor, state: State, group: Group) -> None:
        state["sum"] = torch.full_like(
            p, group["initial_accumulator_value"], memory_format=torch.preserve_format
        )

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: State, group: Group) -> None:
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"].addcmul_(grad, grad, value=1)
        std = state["sum"].sqrt().add_(group["eps"])
        p.addcdiv_(grad, std, value=-lr_t)


class RMSProp(RuleOptimizer):
    """RMSProp (``torch.optim.RMSprop``): AdaGrad with a decaying average of squared gradients.

    ``sq <- alpha * sq + (1 - alpha) * g**2`` and ``p <- p - lr * g / (sqrt(sq) + eps)``
    (Hinton, Coursera lecture 6e, 2012). ``centered=True`` divides by an estimate of the
    gradient's standard deviation instead (``sq - avg(g)**2``, after Graves 2013);
    ``momentum > 0`` accumulates ``g / (sqrt(sq) + eps)`` in a buffer that is applied
    instead of the step itself.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": _check_rate(alpha, "alpha"),
            "eps": _check_eps(eps),
            "weight_decay": weight_decay,
            "momentum": _check_rate(momentum, "momentum"),
            "centered": bool(centered),
        }
        super().__init__(params, defaults)

    def _init_state(self, p: torch.Tensor, state: State, group: Group) -> None:
        state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["momentum"] > 0:
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: State, group: Group) -> None:
        alpha = group["alpha"]
        square_avg = state["square_avg"].mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"].lerp_(grad, 1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(group["eps"])
        if group["momentum"] > 0:
            buf = state["momentum_buffer"].mul_(group["momentum"]).addcdiv_(grad, avg)
            p.add_(buf, alpha=-group["lr"])
        else:
            p.addcdiv_(grad, avg, value=-group["lr"])


class Adam(RuleOptimizer):
    """Adam (``torch.optim.Adam``): momentum on the gradient, RMSProp scaling, bias-corrected.

    ``m <- beta1 * m + (1 - beta1) * g`` and ``v <- beta2 * v + (1 - beta2) * g**2``;
    both start at zero and so underestimate their averages by ``1 - beta**t`` at step
    ``t``, which the update divides out:
    ``p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``
    (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015).
    ``amsgrad=True`` divides by the largest ``v`` seen so far instead, so the
    effective step never grows (Reddi et al., "On the Convergence of Adam and Beyond",
    ICLR 2018).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        defaults = {
            "lr": lr,
            "betas": (_check_rate(betas[0], "beta1"), _check_rate(betas[1], "beta2")),
            "eps": _check_eps(eps),
            "weight_decay": weight_decay,
            "amsgrad": bool(amsgrad),
        }
        super().__init__(params, defaults)

    def _init_state(self, p: torch.Tensor, state: State, group: Group) -> None:
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: State, group: Group) -> None:
        beta1, beta2 = group["betas"]
        t = state["step"]
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        second = state["exp_avg_sq"]
        if group["amsgrad"]:
            torch.maximum(state["max_exp_avg_sq"], second, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        step_size = group["lr"] / (1 - beta1**t)
        denom = (second.sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
        p.addcdiv_(state["exp_avg"], denom, value=-step_size)


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay, 0.01 by default."""

    decoupled_weight_decay: ClassVar[bool] = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
