"""Group norm (Wu and He, 2018), with layer and instance norm as its special cases.

All three standardize ``xhat = (x - mean) / sqrt(var + eps)`` (biased variance) over a
set of values of *one* example, so no statistic mixes the batch and train and eval
modes agree. :func:`group_standardize` does that once; the modules differ in which
values share a mean and in the shape of their affine parameters, which follows torch:

* :class:`GroupNorm`: ``(N, C, *)`` split into ``G`` groups of ``C // G`` channels, one
  mean per (example, group); ``weight``/``bias`` per channel, ``(C,)``.
* :class:`InstanceNorm2d`: group norm with one channel per group (``G = C``); torch's
  default is ``affine=False``; with ``affine=True`` the parameters are per channel,
  ``(C,)``. Running statistics (torch's ``track_running_stats=True``) are not offered:
  instance norm normalizes each image by itself at test time too.
* :class:`LayerNorm`: one group holding the trailing ``normalized_shape`` of each
  example; ``weight``/``bias`` per *value*, of shape ``normalized_shape`` (so it is not
  ``GroupNorm(1, C)``, whose parameters are per channel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["GroupNorm", "InstanceNorm2d", "LayerNorm", "group_standardize"]


def _check_eps(eps: float) -> float:
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    return float(eps)


def group_standardize(x: Tensor, num_groups: int, eps: float) -> Tensor:
    """Standardize each group of each example to mean 0 and (biased) variance 1.

    Args:
        x: shape ``(B, C, *)``; ``B`` indexes what never shares statistics (examples).
        num_groups: ``G``, dividing ``C``; group ``g`` holds channels
            ``g * C // G ... (g + 1) * C // G - 1`` at every position.
        eps: added to the variance before the square root.

    Returns:
        ``xhat`` with ``x``'s shape.
    """
    b = x.shape[0]
    groups = x.reshape(b, num_groups, -1)  # (B, G, C // G * positions)
    mean = groups.mean(dim=2, keepdim=True)
    var = ((groups - mean) ** 2).mean(dim=2, keepdim=True)
    return ((groups - mean) / torch.sqrt(var + eps)).reshape(x.shape)


def _affine_params(
    shape: tuple[int, ...], device: torch.device | str | None, dtype: torch.dtype | None
) -> tuple[nn.Parameter, nn.Parameter]:
    """``weight`` of ones and ``bias`` of zeros, both of ``shape``."""
    return (
        nn.Parameter(torch.ones(shape, device=device, dtype=dtype)),
        nn.Parameter(torch.zeros(shape, device=device, dtype=dtype)),
    )


class GroupNorm(nn.Module):
    """Group norm of ``(N, C, *)`` inputs; output of the same shape.

    Args:
        num_groups: ``G``, must divide ``num_channels``.
        num_channels: ``C``.
        eps: added to the variance.
        affine: learn per-channel ``weight`` (1) and ``bias`` (0), shape ``(C,)``.
    """

    weight: nn.Parameter | None
    bias: nn.Parameter | None

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"num_groups must be a positive divisor of num_channels ({num_channels}), "
                f"got {num_groups}"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = _check_eps(eps)
        self.affine = affine
        if affine:
            self.weight, self.bias = _affine_params((num_channels,), device, dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"x must have shape (N, C, *) with C = {self.num_channels}, "
                f"got shape {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        xhat = group_standardize(x, self.num_groups, self.eps)
        if self.weight is None or self.bias is None:
            return xhat
        shape = [1, self.num_channels] + [1] * (x.ndim - 2)
        return xhat * self.weight.reshape(shape) + self.bias.reshape(shape)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(GroupNorm):
    """Instance norm of ``(N, C, H, W)`` images: each channel of each image by itself.

    Group norm with ``G = C``. Args as torch's ``nn.InstanceNorm2d`` without running
    statistics: ``num_features`` (``C``), ``eps``, ``affine`` (default False, as torch).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        affine: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(num_features, num_features, eps, affine, device, dtype)
        self.num_features = num_features

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"x must have shape (N, C, H, W) with C = {self.num_features}, "
                f"got shape {tuple(x.shape)}"
            )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"


class LayerNorm(nn.Module):
    """Layer norm (Ba et al., 2016) over the trailing ``normalized_shape`` of the input.

    Args:
        normalized_shape: the trailing dimensions that share one mean, e.g. ``(D,)`` for
            ``(N, D)`` features or ``(C, H, W)`` for whole images.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (1) and ``bias`` (0) of shape
            ``normalized_shape``, one per normalized value.
        bias: with ``elementwise_affine``, whether to learn the bias too (torch's flag).

    Shapes: input ``(*, *normalized_shape)``, output the same.
    """

    weight: nn.Parameter | None
    bias: nn.Parameter | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        if not self.normalized_shape or min(self.normalized_shape) < 1:
            raise ValueError(
                f"normalized_shape must be positive sizes, got {tuple(normalized_shape)}"
            )
        self.eps = _check_eps(eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight, self.bias = _affine_params(self.normalized_shape, device, dtype)
            if not bias:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"x must have shape (*, {', '.join(map(str, self.normalized_shape))}), "
                f"got shape {tuple(x.shape)}"
            )
        lead = x.shape[: x.ndim - k]
        # Every leading index is one "example" with a single group of all trailing values.
        rows = x.reshape(math.prod(lead), 1, -1)
        out = group_standardize(rows, 1, self.eps).reshape(x.shape)
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
