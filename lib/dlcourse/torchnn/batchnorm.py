"""Batch normalization (Ioffe and Szegedy, 2015) written from its formulas, in torch.

In train mode each channel ``c`` is standardized with the statistics of the batch::

    mean_c = mean of x[:, c, ...]            var_c = mean of (x[:, c, ...] - mean_c)**2
    out = weight_c * (x - mean_c) / sqrt(var_c + eps) + bias_c

where the mean runs over the batch and every spatial position (``N`` values for
``(N, C)``, ``N * L`` for ``(N, C, L)``, ``N * H * W`` for ``(N, C, H, W)``). The
*biased* variance (divide by the count ``m``) normalizes; the running variance, an
estimate of the population's, takes the *unbiased* one (divide by ``m - 1``), as torch
does. The running averages follow torch's definition of momentum, the weight of the
*new* value (the opposite of the optimizer's momentum)::

    running = (1 - momentum) * running + momentum * batch_value

and with ``momentum=None`` a cumulative average: the factor is ``1 / t`` at the
``t``-th batch (``num_batches_tracked``), so the running value is the plain mean of all
batch values so far. In eval mode the running averages replace the batch statistics,
which makes the layer a fixed per-channel affine map (see :mod:`dlcourse.torchnn.fold`).

Parameter and buffer names are torch's (``weight``, ``bias``, ``running_mean``,
``running_var``, ``num_batches_tracked``), so state dicts move both ways.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(nn.Module):
    """Shared body of :class:`BatchNorm1d` and :class:`BatchNorm2d`.

    Args:
        num_features: ``C``, the number of channels (features).
        eps: added to the variance before the square root.
        momentum: weight of the new batch statistic in the running averages, or None for
            a cumulative average.
        affine: learn ``weight`` (initialized to 1) and ``bias`` (initialized to 0).
        track_running_stats: keep running averages and use them in eval mode; without
            them eval mode normalizes with the batch statistics too.
    """

    _layouts: tuple[str, ...] = ()  # the accepted input layouts, for error messages
    weight: nn.Parameter | None
    bias: nn.Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, device=device, dtype=dtype))
            self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer(
                "running_mean", torch.zeros(num_features, device=device, dtype=dtype)
            )
            self.register_buffer(
                "running_var", torch.ones(num_features, device=device, dtype=dtype)
            )
            self.register_buffer(
                "num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen."""
        if self.running_mean is not None:
            assert self.running_var is not None and self.num_batches_tracked is not None
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def _check_input(self, x: Tensor) -> None:
        ndims = [layout.count(",") + 1 for layout in self._layouts]
        if x.ndim not in ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"x must have shape {' or '.join(self._layouts)} with C = {self.num_features}, "
                f"got shape {tuple(x.shape)}"
            )

    def _update_running(self, mean: Tensor, var: Tensor, count: int) -> None:
        """Fold one batch's statistics into the running averages, in place."""
        assert self.running_mean is not None and self.running_var is not None
        assert self.num_batches_tracked is not None
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked.item())
        else:
            factor = self.momentum
        unbiased = var * (count / (count - 1))
        # In place: the buffers keep their identity (and device) for whoever holds them.
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased, alpha=factor)

    def forward(self, x: Tensor) -> Tensor:
        """Normalize each channel; the output has ``x``'s shape."""
        self._check_input(x)
        dims = [0, *range(2, x.ndim)]  # every axis but the channel axis
        shape = [1, self.num_features] + [1] * (x.ndim - 2)  # broadcasts a (C,) vector
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = x.numel() // self.num_features
            if self.training and count < 2:
                raise ValueError(
                    f"batch norm in train mode needs more than 1 value per channel, got x of "
                    f"shape {tuple(x.shape)}; use a larger batch or eval mode"
                )
            mean = x.mean(dim=dims)
            var = ((x - mean.reshape(shape)) ** 2).mean(dim=dims)  # biased: divide by m
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    self._update_running(mean.detach(), var.detach(), count)
        else:
            assert self.running_mean is not None and self.running_var is not None
            mean, var = self.running_mean, self.running_var
        xhat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if self.weight is not None and self.bias is not None:
            return xhat * self.weight.reshape(shape) + self.bias.reshape(shape)
        return xhat

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm of ``(N, C)`` features or ``(N, C, L)`` sequences; output of the same shape."""

    _layouts = ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch norm of ``(N, C, H, W)`` images ("spatial" batch norm); output of the same shape.

    Each channel shares one mean and variance over the batch and all positions, so a
    filter's response is normalized the same way wherever it occurs.
    """

    _layouts = ("(N, C, H, W)",)
