"""The initializers of :mod:`dlcourse.init`, applied to torch tensors and whole models.

The reasoning (why not zeros, why not a fixed small std, how Xavier and He pick the
variance) is in :mod:`dlcourse.init`; this module reuses its gains and fans and only
adds the torch side:

* **Fans of torch's layouts.** ``nn.Linear`` stores ``(M, D)`` (the transpose of the
  NumPy side's ``(D, M)``): ``fan_in = D``, ``fan_out = M``. A convolution weight
  ``(F, C // groups, KH, KW)`` has ``fan_in = C // groups * KH * KW`` (the values one
  output sees: a grouped filter only sees its group's channels) and
  ``fan_out = F * KH * KW``, as ``torch.nn.init`` computes them.
* **In place, torch's draws.** Each initializer fills a tensor in place with one
  ``normal_`` or ``uniform_`` call (optionally from a ``generator``) and returns it, the
  same calls as ``torch.nn.init``, so one seed gives the same weights as torch's.
* **Whole models.** :func:`init_model` walks a model: weights of every linear and
  convolution layer get the scheme, their biases zero, every normalization layer
  ``weight = 1`` and ``bias = 0``. :func:`zero_init_last_norm` then zeroes the scale of
  the last norm of each residual branch, found through the ``last_norm`` convention.
  :func:`init_cnn` is the architectures' own recipe (torchvision's): He normal
  convolutions (``fan_out`` for ResNet and MobileNet), unit norms, a choice for the
  linear head, and optionally :func:`zero_init_last_norm`.

**The ``last_norm`` convention.** A residual block that wants its branch to start as
zero exposes the norm module that ends the branch as a read-only *property*
``last_norm`` (``return self.bn2``). A property and not a second attribute: assigning the
module to another attribute would register it twice and duplicate its keys in the state
dict (and torchvision's weights would no longer load strictly).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from dlcourse.init import Nonlinearity, calculate_gain, compute_fans
from dlcourse.torchnn.batchnorm import _BatchNorm
from dlcourse.torchnn.norms import GroupNorm, LayerNorm

__all__ = [
    "SCHEMES",
    "constant_",
    "fan_in_and_fan_out",
    "init_cnn",
    "init_model",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "normal_",
    "xavier_normal_",
    "xavier_uniform_",
    "zero_init_last_norm",
    "zeros_",
]

Mode = Literal["fan_in", "fan_out"]
LinearInit = Literal["default", "zero_bias", "small"]
LINEAR_INITS: tuple[LinearInit, ...] = ("default", "zero_bias", "small")
Scheme = Literal[
    "zeros",
    "small",
    "xavier_normal",
    "xavier_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
]
SCHEMES: tuple[str, ...] = Scheme.__args__  # type: ignore[attr-defined]


def fan_in_and_fan_out(weight: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a torch weight: ``(M, D)`` linear or ``(F, C // g, *k)`` conv.

    Returns ``(D, M)`` for a linear weight and ``(C // g * prod(k), F * prod(k))`` for a
    convolution weight.
    """
    shape = tuple(weight.shape)
    if len(shape) < 2:
        raise ValueError(
            f"weight must have shape (M, D) or (F, C // groups, KH, KW) to have fans, "
            f"got shape {shape}"
        )
    if len(shape) == 2:
        return compute_fans((shape[1], shape[0]))  # the NumPy side's (D, M) layout
    return compute_fans(shape)


def _fan(weight: Tensor, mode: Mode) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(weight)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(
            f"cannot initialize a weight with a zero {mode}: shape {tuple(weight.shape)}"
        )
    return fan


def _normal(tensor: Tensor, std: float, generator: torch.Generator | None) -> Tensor:
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)


def _uniform(tensor: Tensor, bound: float, generator: torch.Generator | None) -> Tensor:
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def zeros_(tensor: Tensor) -> Tensor:
    """All zeros, in place: right for biases, wrong for weights (no symmetry breaking)."""
    with torch.no_grad():
        return tensor.zero_()


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Every entry ``value``, in place (e.g. a norm's ``weight = 1``)."""
    with torch.no_grad():
        return tensor.fill_(value)


def normal_(tensor: Tensor, std: float = 0.01, generator: torch.Generator | None = None) -> Tensor:
    """Small random numbers: Gaussian with mean 0 and ``std`` (0.01), in place."""
    if not std >= 0:
        raise ValueError(f"std must be non-negative, got {std}")
    return _normal(tensor, std, generator)


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Glorot normal, in place: ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return _normal(tensor, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Glorot uniform on ``[-a, a]``, ``a = gain * sqrt(6 / (fan_in + fan_out))``, in place."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    # sqrt(3) * std rather than sqrt(6 / ...): equal in exact arithmetic, and this rounding
    # is torch's, so one seed gives torch's bits.
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _uniform(tensor, math.sqrt(3.0) * std, generator)


def kaiming_normal_(
    tensor: Tensor,
    mode: Mode = "fan_in",
    nonlinearity: Nonlinearity = "relu",
    negative_slope: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """He normal, in place: ``std = gain / sqrt(fan)``; ``sqrt(2 / fan_in)`` for ReLU."""
    std = calculate_gain(nonlinearity, negative_slope) / math.sqrt(_fan(tensor, mode))
    return _normal(tensor, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    mode: Mode = "fan_in",
    nonlinearity: Nonlinearity = "relu",
    negative_slope: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """He uniform on ``[-a, a]``, ``a = sqrt(3) * gain / sqrt(fan)`` (the normal's variance)."""
    std = calculate_gain(nonlinearity, negative_slope) / math.sqrt(_fan(tensor, mode))
    return _uniform(tensor, math.sqrt(3.0) * std, generator)


def lecun_normal_(tensor: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """LeCun normal (LeCun et al., 1998), in place: ``std = 1 / sqrt(fan_in)``.

    The lecture's "Xavier" ``std = 1 / sqrt(Din)``: He with a gain of 1.
    """
    return kaiming_normal_(tensor, "fan_in", "linear", generator=generator)


def lecun_uniform_(tensor: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """LeCun uniform, in place: on ``[-a, a]`` with ``a = sqrt(3 / fan_in)``."""
    return kaiming_uniform_(tensor, "fan_in", "linear", generator=generator)


# --------------------------------------------------------------------------- whole models


def _parameter(module: nn.Module, name: str) -> nn.Parameter | None:
    """``module``'s own parameter ``name`` (``weight``, ``bias``), or None."""
    value = module._parameters.get(name)
    return value if isinstance(value, nn.Parameter) else None


# torch's norms (batch and instance norm share _NormBase) and the course's own.
_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.LayerNorm,
    *([nn.RMSNorm] if hasattr(nn, "RMSNorm") else []),
    _BatchNorm,
    GroupNorm,
    LayerNorm,
)


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, _NORM_TYPES)


def _init_weight(
    weight: Tensor, scheme: str, nonlinearity: Nonlinearity, generator: torch.Generator | None
) -> None:
    if scheme == "zeros":
        zeros_(weight)
    elif scheme == "small":
        normal_(weight, 0.01, generator)
    elif scheme == "xavier_normal":
        xavier_normal_(weight, calculate_gain(nonlinearity), generator)
    elif scheme == "xavier_uniform":
        xavier_uniform_(weight, calculate_gain(nonlinearity), generator)
    elif scheme == "kaiming_normal":
        kaiming_normal_(weight, "fan_in", nonlinearity, generator=generator)
    elif scheme == "kaiming_uniform":
        kaiming_uniform_(weight, "fan_in", nonlinearity, generator=generator)
    elif scheme == "lecun_normal":
        lecun_normal_(weight, generator)
    else:
        lecun_uniform_(weight, generator)


def init_model(
    model: nn.Module,
    scheme: Scheme = "kaiming_normal",
    nonlinearity: Nonlinearity = "relu",
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Initialize every layer of ``model`` in place; return ``model``.

    Linear and convolution layers, recognized by what they hold (a ``weight`` of 2 or
    more dimensions, so the course's own modules count as well as torch's), get
    ``scheme`` on the weight (one of :data:`SCHEMES`; ``"small"`` is Gaussian with std
    0.01; Xavier uses ``nonlinearity``'s gain, Kaiming its gain with ``fan_in``) and a
    zero bias. Normalization layers get ``weight = 1``, ``bias = 0`` (a layer norm's
    weight may have several dimensions: it is still a scale). Layers are visited in
    ``model.modules()`` order, so one generator seed gives one set of weights.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    calculate_gain(nonlinearity)  # refuses an unknown nonlinearity before anything changes
    for module in model.modules():
        weight, bias = _parameter(module, "weight"), _parameter(module, "bias")
        if _is_norm(module):
            if weight is not None:
                constant_(weight, 1.0)
            if bias is not None:
                zeros_(bias)
        elif weight is not None and weight.ndim >= 2:
            _init_weight(weight, scheme, nonlinearity, generator)
            if bias is not None:
                zeros_(bias)
    return model


def init_cnn(
    model: nn.Module,
    conv_mode: Mode = "fan_out",
    linear: LinearInit = "default",
    zero_init_residual: bool = False,
) -> nn.Module:
    """The initialization the architectures of :mod:`dlcourse.models` share; return ``model``.

    Every ``nn.Conv2d`` weight gets He normal with ReLU's gain and ``conv_mode`` (He et
    al., 2015: ``fan_out`` keeps the gradients' variance in the backward pass, ``fan_in``
    the activations'; ResNet and MobileNet use ``fan_out``, DenseNet ``fan_in``), every
    normalization layer ``weight = 1``, ``bias = 0``. A linear layer keeps torch's default
    (``linear="default"``), has its bias zeroed (``"zero_bias"``) or gets Gaussian weights
    with std 0.01 and a zero bias (``"small"``). With ``zero_init_residual``,
    :func:`zero_init_last_norm` then zeroes each residual branch's last norm.

    Unlike :func:`init_model` this leaves convolution biases alone (the architectures'
    convolutions before a norm have none) and draws in ``model.modules()`` order from
    torch's global generator, as torchvision's constructors do.
    """
    if conv_mode not in ("fan_in", "fan_out"):
        raise ValueError(f"conv_mode must be 'fan_in' or 'fan_out', got {conv_mode!r}")
    if linear not in LINEAR_INITS:
        raise ValueError(f"linear must be one of {LINEAR_INITS}, got {linear!r}")
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            kaiming_normal_(module.weight, conv_mode, "relu")
        elif _is_norm(module):
            weight, bias = _parameter(module, "weight"), _parameter(module, "bias")
            if weight is not None:
                constant_(weight, 1.0)
            if bias is not None:
                zeros_(bias)
        elif isinstance(module, nn.Linear) and linear != "default":
            if linear == "small":
                normal_(module.weight, 0.01)
            if module.bias is not None:
                zeros_(module.bias)
    if zero_init_residual:
        zero_init_last_norm(model)
    return model


def zero_init_last_norm(model: nn.Module) -> list[str]:
    """Zero the scale of the last norm of every residual branch; return the norms' names.

    Every module of ``model`` with a ``last_norm`` property (the norm that ends its
    residual branch; see the module docstring) has that norm's ``weight`` set to 0, so the
    branch outputs ``bias = 0`` and the block starts as the identity (Goyal et al., 2017;
    the NumPy side's :func:`dlcourse.init.zero_init_last_residual` explains why the norm's
    scale and not the convolution before it).

    Returns:
        The full names (as in ``model.named_modules()``) of the zeroed norms.

    Raises:
        ValueError: no module declares ``last_norm``, or one returns a module that is not
            a norm with a ``weight``.
    """
    zeroed = []
    for name, module in model.named_modules():
        if not isinstance(getattr(type(module), "last_norm", None), property):
            continue
        norm = module.last_norm
        if not _is_norm(norm) or getattr(norm, "weight", None) is None:
            raise ValueError(
                f"{type(module).__name__} {name!r} declares last_norm, which is "
                f"a {type(norm).__name__}; expected a normalization layer with a weight"
            )
        with torch.no_grad():
            norm.weight.zero_()
        local = next(child for child, found in module.named_modules() if found is norm)
        zeroed.append(f"{name}.{local}" if name else local)
    if not zeroed:
        raise ValueError(
            f"no module of {type(model).__name__} declares last_norm; give each residual "
            f"block a property last_norm that returns the norm ending its branch"
        )
    return zeroed
