"""Shared checks of ``dlcourse.models`` against torchvision (the oracle) and the papers.

Our architectures keep torchvision's module names, so the key mapping from a torchvision
``state_dict`` to ours is the identity. Two ways to compare, by network size:

- small and mid-sized networks: :func:`assert_same_function` randomises torchvision's batch
  norms, loads its ``state_dict`` into ours strictly (a renamed, missing or extra key fails)
  and compares the two networks' outputs in float64, eval mode;
- large networks (VGG, AlexNet, GoogLeNet): :func:`float64_on_cpu` materialises
  torchvision's model directly in float64 with random weights, and :func:`adopt_state`
  builds ours on the ``meta`` device and takes those tensors with ``assign=True``, so no
  float32 copy and no second copy of a large network is made.

The session runs torch on one intra-op thread (``tests/conftest.py``), which these tiny
inputs need on a busy machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torchvision_oracle import import_torchvision


def param_count(model: nn.Module) -> int:
    """Parameters of ``model`` (shared ones once), trainable or not."""
    return sum(p.numel() for p in model.parameters())


def torchvision_model(name: str, **kwargs: object) -> nn.Module:
    """torchvision's randomly initialised ``name`` (no weights downloaded)."""
    return getattr(import_torchvision().models, name)(weights=None, **kwargs)


def _randomize_norms(model: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                assert module.running_mean is not None and module.running_var is not None
                shape = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(shape, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(shape, generator=generator))
                module.weight.copy_(0.5 + torch.rand(shape, generator=generator))
                module.bias.copy_(0.1 * torch.randn(shape, generator=generator))


def randomize_norms(model: nn.Module, seed: int = 0) -> None:
    """Give every batch norm non-trivial statistics and affine parameters.

    A fresh norm (mean 0, variance 1, weight 1, bias 0) is nearly the identity in eval
    mode, which would let a misplaced or missing norm go unnoticed.
    """
    _randomize_norms(model, torch.Generator().manual_seed(seed))


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fill every float parameter and buffer in place: batch norms as
    :func:`randomize_norms` does, He-scaled uniform weights (so that activations keep an
    O(1) size through deep stacks) and small biases."""
    generator = torch.Generator().manual_seed(seed)
    _randomize_norms(model, generator)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                continue
            for name, p in module.named_parameters(recurse=False):
                if name == "weight" and p.ndim >= 2:
                    bound = math.sqrt(6.0 / p[0].numel())
                    p.uniform_(-bound, bound, generator=generator)
                else:
                    p.uniform_(-0.1, 0.1, generator=generator)
    return model


def float64_on_cpu(build: Callable[[], nn.Module], seed: int = 0) -> nn.Module:
    """Build ``build()`` directly in float64 (through meta: no float32 copy, no slow init)
    and fill it with :func:`randomize_`."""
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


def load_torchvision_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """Load ``theirs``' state_dict into ``ours`` under the identity key mapping, strictly."""
    ours.load_state_dict(theirs.state_dict(), strict=True)


def assert_same_function(
    ours: nn.Module, theirs: nn.Module, shape: tuple[int, ...] = (2, 3, 32, 32)
) -> None:
    """Copy torchvision's (norm-randomised) weights into ours; equal float64 outputs in eval
    mode for an input of ``shape``."""
    randomize_norms(theirs)
    theirs.double().eval()
    load_torchvision_weights(ours, theirs)
    ours.double().eval()
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x)
        actual = ours(x)
    assert expected.abs().max() > 0
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10)


def smoke_forward_backward(model: nn.Module, x: torch.Tensor, out_shape: tuple[int, ...]) -> None:
    """One training-mode forward and backward: the output shape, and finite gradients
    reaching every parameter."""
    model.train()
    out = model(x)
    assert tuple(out.shape) == out_shape
    out.square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
