"""Dropout in both forms, DropConnect and stochastic depth, as torch modules.

``p`` is the probability of *dropping* (as in ``torch.nn.Dropout`` and the NumPy
:mod:`dlcourse.functional.dropout`, whose docstring explains the lectures' opposite
"probability of keeping"). Whatever is dropped, the expected output in train mode must
equal the eval-mode output; the two forms differ in which mode rescales:

* inverted (default): train ``x * mask / (1 - p)``, eval ``x``;
* original (``inverted=False``, the lectures' first form): train ``x * mask``, eval
  ``(1 - p) * x``.

Masks are drawn from torch's global generator (seed with ``torch.manual_seed``) with
``bernoulli_(1 - p)`` on a tensor of the mask's shape, the draw ``torch.nn.Dropout``
makes on the CPU and ``torchvision.ops.stochastic_depth`` makes everywhere, so under one
seed those give the same masks.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from torch import Tensor, nn

from dlcourse.torchnn.init import kaiming_uniform_

__all__ = ["DropConnectLinear", "Dropout", "StochasticDepth", "keep_mask"]


def _check_p(p: float, allow_one: bool = False) -> float:
    value = float(p)
    upper_ok = value <= 1 if allow_one else value < 1
    if not (value >= 0 and upper_ok):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"p (probability of dropping) must be in {interval}, got {p}")
    return value


def keep_mask(like: Tensor, shape: tuple[int, ...], p: float) -> Tensor:
    """A 0/1 mask of ``shape`` (``like``'s dtype and device), 1 (keep) with probability 1 - p."""
    return torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(1.0 - p)


class Dropout(nn.Module):
    """Dropout (Srivastava et al., 2014) on activations of any shape; output of the same shape.

    Args:
        p: probability of dropping each unit, in ``[0, 1)``.
        inverted: rescale at train time (True) or at test time (False); see the module
            docstring.
    """

    def __init__(self, p: float = 0.5, inverted: bool = True) -> None:
        super().__init__()
        self.p = _check_p(p)
        self.inverted = inverted

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x if self.inverted else x * (1.0 - self.p)
        mask = keep_mask(x, tuple(x.shape), self.p)
        # Scaling the mask before the product rounds as torch does (equal bits, same seed).
        return x * (mask / (1.0 - self.p)) if self.inverted else x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}, inverted={self.inverted}"


class DropConnectLinear(nn.Module):
    """A fully connected layer whose individual weights are dropped in train mode.

    DropConnect (Wan et al., 2013): where dropout zeroes a unit, i.e. a whole column of
    the next weight matrix, DropConnect zeroes each connection ``weight[m, d]`` on its
    own. One mask per forward call is shared by the batch (as the NumPy reference
    :func:`dlcourse.functional.dropout.dropconnect_forward`); the bias is never dropped.
    Scaling follows dropout's two forms, so the expected train output is the eval one.

    Args:
        in_features: ``D``.
        out_features: ``M``.
        p: probability of dropping each weight, in ``[0, 1)``.
        bias: learn a bias of shape ``(M,)``.
        inverted: train with ``weight * mask / (1 - p)`` and eval with ``weight`` (True),
            or train with ``weight * mask`` and eval with ``(1 - p) * weight`` (False).

    Shapes: input ``(N, D)`` (any ``(*, D)``), output ``(N, M)``; ``weight`` is ``(M, D)``
    as in ``nn.Linear`` (the transpose of the NumPy side's ``(D, M)``), so state dicts of
    the two modules interchange.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        p: float = 0.5,
        bias: bool = True,
        inverted: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.p = _check_p(p)
        self.inverted = inverted
        self.weight = nn.Parameter(
            torch.empty(out_features, in_features, device=device, dtype=dtype)
        )
        self.bias: nn.Parameter | None
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Linear``'s default: weight then bias uniform in ``+-1/sqrt(in_features)``.

        As :meth:`dlcourse.torchnn.Conv2d.reset_parameters`: the weight's bound through
        Kaiming uniform with ``a = sqrt(5)``, bit for bit torch's draws under one seed.
        """
        kaiming_uniform_(self.weight, nonlinearity="leaky_relu", negative_slope=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            with torch.no_grad():
                self.bias.uniform_(-bound, bound)

    def effective_weight(self, mask: Tensor | None = None) -> Tensor:
        """The ``(M, D)`` weight the forward uses: masked and scaled in train mode.

        Args:
            mask: a given ``(M, D)`` 0/1 keep mask for train mode (tests, gradient checks);
                None draws a fresh one.
        """
        if not self.training:
            return self.weight if self.inverted else self.weight * (1.0 - self.p)
        if mask is None:
            mask = keep_mask(self.weight, tuple(self.weight.shape), self.p)
        elif mask.shape != self.weight.shape:
            raise ValueError(
                f"mask must have the weight's shape (M, D) = {tuple(self.weight.shape)}, "
                f"got {tuple(mask.shape)}"
            )
        kept = self.weight * mask
        return kept / (1.0 - self.p) if self.inverted else kept

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(N, D)`` -> ``(N, M)``; ``mask`` as in :meth:`effective_weight`."""
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, D) with D = {self.in_features}, got shape {tuple(x.shape)}"
            )
        return F.linear(x, self.effective_weight(mask), self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, p={self.p}, "
            f"bias={self.bias is not None}, inverted={self.inverted}"
        )


class StochasticDepth(nn.Module):
    """Stochastic depth (Huang et al., 2016): drop a residual branch's whole output.

    Apply it to the branch, not to the sum: ``x + drop(branch(x))``. In train mode the
    branch output is kept with probability ``1 - p`` and survivors are divided by
    ``1 - p`` (inverted, so eval mode is the identity), as ``torchvision.ops.StochasticDepth``.

    Args:
        p: probability of dropping the branch, in ``[0, 1]`` (1 drops it always).
        mode: ``"row"`` draws one keep/drop per example of the batch, ``"batch"`` one for
            the whole batch.

    Shapes: input ``(N, *)``, output the same.
    """

    def __init__(self, p: float, mode: Literal["row", "batch"] = "row") -> None:
        super().__init__()
        if mode not in ("row", "batch"):
            raise ValueError(f"mode must be 'row' or 'batch', got {mode!r}")
        self.p = _check_p(p, allow_one=True)
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        # One value per example ((N, 1, 1, ...)) or one for everything ((1, 1, ...)).
        lead = x.shape[0] if self.mode == "row" else 1
        mask = keep_mask(x, (lead,) + (1,) * (x.ndim - 1), self.p)
        survival = 1.0 - self.p
        return x * (mask / survival) if survival > 0 else x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"
