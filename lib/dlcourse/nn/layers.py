"""Module classes over the functional references, so networks can be composed and trained.

Each layer keeps the cache of its last ``forward`` and consumes it in ``backward``,
which writes parameter gradients into ``param.grad`` (replacing, not accumulating) and
returns ``dx``. Weights are initialized with He (Kaiming) normal initialization for
layers followed by ReLU, which is what the course's networks use; pass your own arrays
through ``layer.w.data`` to change that.

Example::

    net = Sequential(Conv2d(1, 8, 3, pad=1, seed=0), ReLU(), MaxPool2d(2),
                     Flatten(), Linear(8 * 4 * 4, 10, seed=1))
    scores = net.forward(x)           # x: (N, 1, 8, 8) -> scores: (N, 10)
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    net.backward(dscores)             # fills every param.grad
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from dlcourse import init
from dlcourse.functional import activations as act
from dlcourse.functional.batchnorm import (
    BatchNormParam,
    batchnorm_backward,
    batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from dlcourse.functional.conv_fast import conv_backward_fast, conv_forward_fast
from dlcourse.functional.conv_naive import conv_backward_naive, conv_forward_naive
from dlcourse.functional.dropout import dropout_backward, dropout_forward
from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.functional.norms import (
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from dlcourse.functional.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)
from dlcourse.functional.reshape import (
    flatten_backward,
    flatten_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
)
from dlcourse.nn.module import Module, Parameter


class FunctionalLayer(Module):
    """A module around one ``forward -> (out, cache)`` / ``backward`` pair.

    Subclasses name the pair, the parameters passed after ``x`` (in the functional
    signature's order) and, through :meth:`hyperparams`, the keyword arguments.
    """

    # Loosely typed on purpose: each subclass pairs a forward with its own cache type.
    forward_fn: ClassVar[Callable[..., Any]]
    backward_fn: ClassVar[Callable[..., Any]]
    param_names: ClassVar[tuple[str, ...]] = ()

    _cache: Any = None

    def hyperparams(self) -> dict[str, Any]:
        return {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        params = [getattr(self, name).data for name in self.param_names]
        out, self._cache = type(self).forward_fn(x, *params, **self.hyperparams())
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: "
                "run forward on the batch first, then backward with its upstream gradient"
            )
        grads = type(self).backward_fn(dout, self._cache)
        if not self.param_names:
            return grads
        dx, *dparams = grads
        for name, grad in zip(self.param_names, dparams, strict=True):
            getattr(self, name).grad = grad
        return dx


# ---------------------------------------------------------------------------- affine


class Linear(FunctionalLayer):
    """Fully connected layer ``out = x @ w + b``: x (N, D) -> out (N, M); w (D, M), b (M,)."""

    forward_fn = staticmethod(linear_forward)
    backward_fn = staticmethod(linear_backward)
    param_names = ("w", "b")

    def __init__(
        self, in_features: int, out_features: int, *, dtype=np.float64, seed: int | None = None
    ) -> None:
        self.w = Parameter(init.kaiming_normal((in_features, out_features), dtype=dtype, seed=seed))
        self.b = Parameter(np.zeros(out_features, dtype=dtype))

    def extra_repr(self) -> str:
        return f"{self.w.shape[0]}, {self.w.shape[1]}"


class Conv2d(FunctionalLayer):
    """2-D convolution: x (N, C, H, W) -> out (N, F, H', W'); w (F, C // groups, k, k), b (F,).

    ``naive=True`` runs the loop version that the course derives first; the default is
    the vectorized one. Both compute the same function. Output sizes round down like
    torch's: a stride-2 layer on an even-sized map (ResNet's downsampling) leaves the last
    row unused.
    """

    param_names = ("w", "b")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        pad: int = 0,
        dilation: int = 1,
        groups: int = 1,
        naive: bool = False,
        dtype=np.float64,
        seed: int | None = None,
    ) -> None:
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"groups={groups} must divide both in_channels={in_channels} "
                f"and out_channels={out_channels}"
            )
        shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        self.w = Parameter(init.kaiming_normal(shape, dtype=dtype, seed=seed))
        self.b = Parameter(np.zeros(out_channels, dtype=dtype))
        self.stride, self.pad, self.dilation, self.groups = stride, pad, dilation, groups
        self.naive = naive

    def hyperparams(self) -> dict[str, Any]:
        return {
            "stride": self.stride,
            "pad": self.pad,
            "dilation": self.dilation,
            "groups": self.groups,
        }

    def forward(self, x: np.ndarray) -> np.ndarray:
        fn = conv_forward_naive if self.naive else conv_forward_fast
        out, self._cache = fn(x, self.w.data, self.b.data, **self.hyperparams())
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._cache is None:
            return super().backward(dout)  # raises the explanatory error
        fn = conv_backward_naive if self.naive else conv_backward_fast
        dx, self.w.grad, self.b.grad = fn(dout, self._cache)
        return dx

    def extra_repr(self) -> str:
        f, c, k, _ = self.w.shape
        return f"{c * self.groups}, {f}, kernel_size={k}, stride={self.stride}, pad={self.pad}"


# ---------------------------------------------------------------------------- pooling and shape


class _Pool2d(FunctionalLayer):
    """Pooling over ``size x size`` windows moved by ``stride`` (default: ``size``) over
    the input padded by ``pad`` on each side; output sizes round down like torch's."""

    def __init__(self, size: int = 2, stride: int | None = None, pad: int = 0) -> None:
        self.size, self.stride = size, size if stride is None else stride
        self.pad = pad

    def hyperparams(self) -> dict[str, Any]:
        return {"pool_h": self.size, "pool_w": self.size, "stride": self.stride, "pad": self.pad}

    def extra_repr(self) -> str:
        return f"{self.size}, stride={self.stride}, pad={self.pad}"


class MaxPool2d(_Pool2d):
    """Max pooling: (N, C, H, W) -> (N, C, H', W'); padding is ``-inf``, so it never wins.

    ResNet's stem (He et al., 2016) is ``MaxPool2d(3, stride=2, pad=1)``: 112 -> 56.
    """

    forward_fn = staticmethod(max_pool_forward)
    backward_fn = staticmethod(max_pool_backward)


class AvgPool2d(_Pool2d):
    """Average pooling: (N, C, H, W) -> (N, C, H', W'); padded zeros count in the mean."""

    forward_fn = staticmethod(avg_pool_forward)
    backward_fn = staticmethod(avg_pool_backward)


class GlobalAvgPool(FunctionalLayer):
    """Average over all positions: (N, C, H, W) -> (N, C)."""

    forward_fn = staticmethod(global_avg_pool_forward)
    backward_fn = staticmethod(global_avg_pool_backward)


class Flatten(FunctionalLayer):
    """(N, d1, ..., dk) -> (N, d1 * ... * dk)."""

    forward_fn = staticmethod(flatten_forward)
    backward_fn = staticmethod(flatten_backward)


# ---------------------------------------------------------------------------- activations


class Activation(FunctionalLayer):
    """Any parameter-free activation of :data:`dlcourse.functional.activations.ACTIVATIONS`."""

    def __init__(self, name: str) -> None:
        if name not in act.ACTIVATIONS:
            raise ValueError(
                f"unknown activation {name!r}; choose one of {sorted(act.ACTIVATIONS)}"
            )
        self.name = name

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = act.ACTIVATIONS[self.name][0](x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._cache is None:
            return super().backward(dout)
        return act.ACTIVATIONS[self.name][1](dout, self._cache)

    def extra_repr(self) -> str:
        return repr(self.name)


def ReLU() -> Activation:  # noqa: N802 - reads like a class in network definitions
    return Activation("relu")


def Tanh() -> Activation:  # noqa: N802
    return Activation("tanh")


def Sigmoid() -> Activation:  # noqa: N802
    return Activation("sigmoid")


class PReLU(FunctionalLayer):
    """ReLU with a learnable negative slope, one per channel (axis 1) or one shared."""

    forward_fn = staticmethod(act.prelu_forward)
    backward_fn = staticmethod(act.prelu_backward)
    param_names = ("alpha",)

    def __init__(self, num_channels: int | None = None, init_slope: float = 0.25) -> None:
        shape = () if num_channels is None else (num_channels,)
        self.alpha = Parameter(np.full(shape, init_slope))


# ---------------------------------------------------------------------------- normalization


class BatchNorm(FunctionalLayer):
    """Batch norm over (N, D) features or, with ``spatial=True``, (N, C, H, W) channels.

    Uses batch statistics in training mode and the running averages in eval mode; the
    running averages are buffers, saved by ``state_dict``.
    """

    param_names = ("gamma", "beta")
    _buffers = ("running_mean", "running_var")

    def __init__(
        self,
        num_features: int,
        *,
        spatial: bool = False,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype=np.float64,
    ) -> None:
        self.gamma = Parameter(np.ones(num_features, dtype=dtype))
        self.beta = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.spatial, self.eps, self.momentum = spatial, eps, momentum

    def forward(self, x: np.ndarray) -> np.ndarray:
        bn_param = BatchNormParam(
            mode="train" if self.training else "test",
            eps=self.eps,
            momentum=self.momentum,
            running_mean=self.running_mean,
            running_var=self.running_var,
        )
        fn = spatial_batchnorm_forward if self.spatial else batchnorm_forward
        out, self._cache = fn(x, self.gamma.data, self.beta.data, bn_param)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._cache is None:
            return super().backward(dout)
        fn = spatial_batchnorm_backward if self.spatial else batchnorm_backward
        dx, self.gamma.grad, self.beta.grad = fn(dout, self._cache)
        return dx


class LayerNorm(FunctionalLayer):
    """Layer norm over every axis but the batch axis; gamma and beta of that shape."""

    forward_fn = staticmethod(layernorm_forward)
    backward_fn = staticmethod(layernorm_backward)
    param_names = ("gamma", "beta")

    def __init__(self, feature_shape: int | tuple[int, ...], *, eps: float = 1e-5) -> None:
        self.gamma = Parameter(np.ones(feature_shape))
        self.beta = Parameter(np.zeros(feature_shape))
        self.eps = eps

    def hyperparams(self) -> dict[str, Any]:
        return {"eps": self.eps}


class GroupNorm(FunctionalLayer):
    """Group norm on (N, C, H, W): statistics per example over each group of channels."""

    forward_fn = staticmethod(groupnorm_forward)
    backward_fn = staticmethod(groupnorm_backward)
    param_names = ("gamma", "beta")

    def __init__(self, num_groups: int, num_channels: int, *, eps: float = 1e-5) -> None:
        self.gamma = Parameter(np.ones(num_channels))
        self.beta = Parameter(np.zeros(num_channels))
        self.num_groups, self.eps = num_groups, eps

    def hyperparams(self) -> dict[str, Any]:
        return {"num_groups": self.num_groups, "eps": self.eps}


# ---------------------------------------------------------------------------- regularization


class Dropout(FunctionalLayer):
    """Inverted dropout: drops each unit with probability ``p`` in training mode only.

    A seeded generator makes every mask of a run reproducible.
    """

    backward_fn = staticmethod(dropout_backward)

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        self.p = p
        self._rng = np.random.default_rng(seed)

    def forward(self, x: np.ndarray) -> np.ndarray:
        mode = "train" if self.training else "test"
        out, self._cache = dropout_forward(x, self.p, mode=mode, seed=self._rng)
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}"
