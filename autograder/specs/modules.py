"""Case inputs for the PyTorch module patterns (:mod:`dlcourse.checks.modules`).

:func:`module_inputs` builds the reference class with a case's constructor arguments,
draws its weights from the case's generator and writes everything the student's module
needs as plain arrays: ``arg_*``, ``state_*``, ``x`` and, for a backward case, ``dout``.
The weights are the trusted side's: the student's module only ever *loads* them, so the
comparison tests what the module computes, not how it initialises itself.

Normalization layers get random affine parameters and running statistics (a freshly
made batch norm is the identity in evaluation mode, and a zero-initialised residual
branch would hide the whole branch), and every all-zero parameter (biases, a
zero-initialised last norm) gets small random values, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from dlcourse.checks.modules import ARG_PREFIX, state_name

Inputs = dict[str, np.ndarray]

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def argument_inputs(args: Mapping[str, Any]) -> Inputs:
    """Constructor arguments as ``arg_<name>`` arrays (numbers, bools, tuples of them)."""
    return {ARG_PREFIX + name: np.asarray(value) for name, value in args.items()}


def reference_module(
    cls: Callable[..., nn.Module], rng: np.random.Generator, args: Mapping[str, Any]
) -> nn.Module:
    """The reference module of one case, in float64, its weights drawn from ``rng``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**31)))
        module = cls(**args).double()
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, _NORMS):
                _randomise_norm(layer, rng)
        for parameter in module.parameters():
            if not torch.any(parameter):
                parameter.copy_(_normal(rng, parameter.shape, 0.1))
    return module


def _normal(rng: np.random.Generator, shape: Sequence[int], scale: float) -> torch.Tensor:
    return torch.from_numpy(scale * rng.standard_normal(tuple(shape)))


def _randomise_norm(layer: nn.Module, rng: np.random.Generator) -> None:
    weight = getattr(layer, "weight", None)
    bias = getattr(layer, "bias", None)
    if isinstance(weight, torch.Tensor):
        weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, tuple(weight.shape))))
    if isinstance(bias, torch.Tensor):
        bias.copy_(_normal(rng, bias.shape, 0.2))
    mean = getattr(layer, "running_mean", None)
    var = getattr(layer, "running_var", None)
    if isinstance(mean, torch.Tensor) and isinstance(var, torch.Tensor):
        mean.copy_(_normal(rng, mean.shape, 0.2))
        var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, tuple(var.shape))))


def state_inputs(module: nn.Module) -> Inputs:
    """The module's ``state_dict`` as ``state_<key>`` arrays (copies on the CPU)."""
    return {
        state_name(key): value.detach().cpu().numpy().copy()
        for key, value in module.state_dict().items()
    }


def module_inputs(
    cls: Callable[..., nn.Module],
    rng: np.random.Generator,
    args: Mapping[str, Any],
    x_shape: Sequence[int],
    *,
    backward: bool = False,
    training: bool = False,
) -> Inputs:
    """One case of a ``module_forward`` (or, with ``backward``, ``module_backward``) test.

    Args:
        cls: the reference class, built with ``args`` exactly as the student's will be.
        rng: the case's generator (weights, ``x`` and ``dout`` all come from it).
        args: the constructor's keyword arguments.
        x_shape: the shape of the input batch ``x`` (standard normal values).
        backward: add ``dout``, standard normal of the output's shape.
        training: run in training mode (batch statistics) instead of evaluation mode.
    """
    module = reference_module(cls, rng, args)
    inputs = argument_inputs(args)
    inputs.update(state_inputs(module))
    x = rng.standard_normal(tuple(x_shape))
    inputs["x"] = x
    if training:
        inputs["training"] = np.asarray(1)
    if backward:
        module.train(training)
        with torch.no_grad():
            out = module(torch.from_numpy(x.copy()))
        inputs["dout"] = rng.standard_normal(tuple(out.shape))
    return inputs


def shape_inputs(args: Mapping[str, Any], x_shape: Sequence[int]) -> Inputs:
    """One case of a ``module_shape`` test: the arguments and the batch's shape."""
    inputs = argument_inputs(args)
    inputs["x_shape"] = np.asarray(tuple(x_shape), dtype=np.int64)
    return inputs
