"""Helpers for comparing ``dlcourse.models`` with torchvision in float64.

torchvision's model is materialised in float64 with random weights (BN statistics
included, so a wrong mapping of them shows), and ours is built on the ``meta`` device and
takes torchvision's tensors with ``load_state_dict(strict=True, assign=True)``: the keys
and shapes must match exactly, and no second copy of a large network is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fill every float parameter and buffer in place: He-scaled uniform weights (so that
    activations keep an O(1) size through deep stacks), small biases, and BN statistics
    away from their defaults (positive variances)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                assert module.running_mean is not None and module.running_var is not None
                module.weight.uniform_(0.5, 1.5, generator=gen)
                module.bias.uniform_(-0.2, 0.2, generator=gen)
                module.running_mean.uniform_(-0.2, 0.2, generator=gen)
                module.running_var.uniform_(0.5, 1.5, generator=gen)
                continue
            for name, p in module.named_parameters(recurse=False):
                if name == "weight" and p.ndim >= 2:
                    fan_in = p[0].numel()
                    bound = math.sqrt(6.0 / fan_in)
                    p.uniform_(-bound, bound, generator=gen)
                else:
                    p.uniform_(-0.1, 0.1, generator=gen)
    return model


def float64_on_cpu(build: Callable[[], nn.Module], seed: int = 0) -> nn.Module:
    """Build ``build()`` directly in float64 (through meta: no float32 copy, no slow init)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.device("meta"):
            model = build()
        model = model.to_empty(device="cpu")
    finally:
        torch.set_default_dtype(previous)
    return randomize_(model, seed)


def adopt_state(build: Callable[[], nn.Module], reference: nn.Module) -> nn.Module:
    """Our model, built on meta, holding ``reference``'s tensors (strict: same keys, shapes)."""
    with torch.device("meta"):
        model = build()
    model.load_state_dict(reference.state_dict(), strict=True, assign=True)
    return model
