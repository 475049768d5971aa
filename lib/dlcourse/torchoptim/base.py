"""The one update skeleton that every optimizer of :mod:`dlcourse.torchoptim` shares.

:class:`RuleOptimizer` is a :class:`torch.optim.Optimizer` that does, once, what every
first-order method does around its update rule: run the closure, walk the parameter
groups, skip parameters without a gradient, refuse sparse gradients, count the steps,
create the running state on the first step and apply weight decay. A subclass supplies
only what makes it different (the NumPy side, :mod:`dlcourse.optim.optimizers`, is built
the same way):

* ``_init_state(p, state, group)``: the running tensors it keeps (momentum buffer,
  squared-gradient average, ...), created on the parameter's first step;
* ``_update(p, grad, state, group)``: its rule, applied in place to ``p`` from ``grad``
  (which already includes an L2 ``weight_decay`` term for coupled decay).

Weight decay comes in the two conventions of torch: *coupled* (``decoupled_weight_decay =
False``, every optimizer but AdamW) adds ``weight_decay * p`` to the gradient, an L2
penalty; *decoupled* (AdamW) shrinks the weights by ``lr * weight_decay`` before the
rule runs, so the adaptive scaling cannot weaken the decay (Loshchilov & Hutter,
"Decoupled Weight Decay Regularization", ICLR 2019).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch

from dlcourse.optim.optimizers import _check_lr, _check_nonnegative

ParamsT = Iterable[torch.Tensor] | Iterable[dict[str, Any]]
State = dict[str, Any]
Group = dict[str, Any]


def _check_weight_decay(value: float) -> float:
    return _check_nonnegative(value, "weight_decay")


class RuleOptimizer(torch.optim.Optimizer):
    """A :class:`torch.optim.Optimizer` whose subclasses write only their per-parameter rule.

    ``defaults`` must hold ``lr`` and ``weight_decay``; both are validated here (a
    learning rate of 0 is allowed, a schedule may reach it). Every parameter's state
    holds ``"step"``, the number of updates it has received (a Python int, so state dicts
    load with ``torch.load(..., weights_only=True)``).
    """

    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        defaults = dict(defaults)
        defaults["lr"] = _check_lr(defaults["lr"])
        defaults["weight_decay"] = _check_weight_decay(defaults["weight_decay"])
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its own ``lr`` and ``weight_decay``, if given, are validated too."""
        for key, check in (("lr", _check_lr), ("weight_decay", _check_weight_decay)):
            if key in param_group:
                param_group[key] = check(param_group[key])
        super().add_param_group(param_group)

    def _init_state(self, p: torch.Tensor, state: State, group: Group) -> None:
        """Create the running tensors of parameter ``p`` (shape of ``p``) in ``state``."""

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: State, group: Group) -> None:
        """Apply the rule in place to ``p``; ``state["step"]`` already counts this step."""
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Update every parameter that has a gradient; return the closure's loss, if any."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for i, group in enumerate(self.param_groups):
            # A scheduler or a user may have written a new rate since the last step.
            group["lr"] = _check_lr(group["lr"])
            lr, weight_decay = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError(
                        f"{type(self).__name__} got a sparse gradient in param_groups[{i}]; "
                        "only dense gradients are supported"
                    )
                grad = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    self._init_state(p, state, group)
                state["step"] += 1
                if weight_decay:
                    if self.decoupled_weight_decay:
                        p.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(p, alpha=weight_decay)
                self._update(p, grad, state, group)
        return loss
