"""Fold every eval-mode batch norm of a model into the convolution before it.

In eval mode ``BatchNorm2d`` is the per-channel affine map ``scale * z + shift`` with
``scale = weight / sqrt(running_var + eps)`` and ``shift = bias - running_mean * scale``
(derivation in :mod:`dlcourse.functional.fold`, the NumPy reference). A convolution is
affine in its input too, so the pair is one convolution: filter ``f`` times
``scale[f]``, bias ``conv_bias[f] * scale[f] + shift[f]``. The folded copy computes the
same eval-mode outputs with one layer fewer per pair.

Which pairs fold:

* in every ``nn.Sequential``, a convolution directly followed by a 2-D batch norm;
* in any other module, the pairs it declares in a class attribute ``conv_norm_pairs``:
  a tuple of ``(conv_name, norm_name)`` dotted submodule names whose ``forward`` applies
  the norm directly to the convolution's output (nothing in between), e.g. a residual
  block with ``conv_norm_pairs = (("conv1", "bn1"), ("conv2", "bn2"))``.

Convolutions are ``nn.Conv2d`` or :class:`dlcourse.torchnn.Conv2d`; batch norms are
``nn.BatchNorm2d`` or :class:`dlcourse.torchnn.BatchNorm2d` with running statistics
(without them eval mode still normalizes by the batch, which is no fixed map).
"""

from __future__ import annotations

import copy
from typing import cast

import torch
from torch import nn

from dlcourse.torchnn.batchnorm import BatchNorm2d
from dlcourse.torchnn.conv import Conv2d

__all__ = ["fold_batchnorm", "fold_conv_batchnorm"]

_CONVS = (nn.Conv2d, Conv2d)
_NORMS = (nn.BatchNorm2d, BatchNorm2d)
AnyConv2d = nn.Conv2d | Conv2d
AnyBatchNorm2d = nn.BatchNorm2d | BatchNorm2d


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    return (
        isinstance(conv, _CONVS)
        and isinstance(norm, _NORMS)
        and norm.running_mean is not None
        and norm.num_features == conv.out_channels
    )


@torch.no_grad()
def fold_conv_batchnorm(conv: nn.Module, norm: nn.Module) -> None:
    """Fold eval-mode ``norm`` into ``conv`` in place (``conv`` gains a bias if it had none).

    Args:
        conv: a 2-D convolution with ``weight`` ``(F, C // groups, KH, KW)``.
        norm: a ``BatchNorm2d`` over ``F`` channels with running statistics.
    """
    if not _foldable(conv, norm):
        raise ValueError(
            f"can fold a BatchNorm2d with running statistics over the convolution's F output "
            f"channels into a Conv2d, got {type(conv).__name__} and {type(norm).__name__}"
        )
    conv, norm = cast(AnyConv2d, conv), cast(AnyBatchNorm2d, norm)
    assert norm.running_mean is not None and norm.running_var is not None  # _foldable
    # The arithmetic in float64 whatever the model's dtype, then back to it.
    scale = torch.rsqrt(norm.running_var.double() + norm.eps)
    if norm.weight is not None:
        scale = norm.weight.double() * scale
    shift = -norm.running_mean.double() * scale
    if norm.bias is not None:
        shift = shift + norm.bias.double()
    weight = conv.weight.double() * scale.reshape(-1, 1, 1, 1)
    bias = shift if conv.bias is None else conv.bias.double() * scale + shift
    conv.weight.copy_(weight)
    if conv.bias is None:
        conv.bias = nn.Parameter(bias.to(conv.weight.dtype))
    else:
        conv.bias.copy_(bias)


def _declared_pairs(module: nn.Module) -> list[tuple[str, str]]:
    """The ``(conv, norm)`` names a module folds: Sequential neighbours or its declaration."""
    if isinstance(module, nn.Sequential):
        names = [name for name, _ in module.named_children()]
        return [
            (first, second)
            for first, second in zip(names, names[1:], strict=False)
            if _foldable(module.get_submodule(first), module.get_submodule(second))
        ]
    pairs = getattr(type(module), "conv_norm_pairs", ())
    for conv_name, norm_name in pairs:
        for name in (conv_name, norm_name):
            try:
                module.get_submodule(name)
            except AttributeError:
                raise ValueError(
                    f"{type(module).__name__} declares the pair ({conv_name!r}, {norm_name!r}) "
                    f"in conv_norm_pairs, but has no submodule {name!r}"
                ) from None
        if not _foldable(module.get_submodule(conv_name), module.get_submodule(norm_name)):
            raise ValueError(
                f"{type(module).__name__} declares ({conv_name!r}, {norm_name!r}) in "
                f"conv_norm_pairs, but they are a "
                f"{type(module.get_submodule(conv_name)).__name__} and a "
                f"{type(module.get_submodule(norm_name)).__name__}: expected a Conv2d and a "
                f"BatchNorm2d with running statistics over its output channels"
            )
    return list(pairs)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of eval-mode ``model`` with every conv-batch-norm pair folded into the conv.

    The folded convolution takes the conv's place and an ``nn.Identity`` the norm's, so
    module names (and the rest of the state dict) are unchanged. ``model`` itself is
    not modified.

    Raises:
        ValueError: ``model`` (or any submodule) is in train mode: batch norm then uses
            batch statistics, and no fixed weights reproduce that.
    """
    training = [name or type(model).__name__ for name, m in model.named_modules() if m.training]
    if training:
        raise ValueError(
            f"fold_batchnorm needs a model in eval mode (call model.eval() first); in train "
            f"mode: {', '.join(training[:5])}{' ...' if len(training) > 5 else ''}"
        )
    folded = copy.deepcopy(model)
    # Collect every pair first: replacing norms while walking would change the walk.
    work = [(module, pair) for module in folded.modules() for pair in _declared_pairs(module)]
    for module, (conv_name, norm_name) in work:
        norm = module.get_submodule(norm_name)
        if isinstance(norm, nn.Identity):
            continue  # declared by two modules (a Sequential inside a declaring block)
        fold_conv_batchnorm(module.get_submodule(conv_name), norm)
        parent_name, _, leaf = norm_name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, leaf, nn.Identity())
    return folded
