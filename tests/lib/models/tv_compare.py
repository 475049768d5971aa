"""Shared checks of ``dlcourse.models`` against torchvision (the oracle) and the papers.

Our architectures keep torchvision's module names, so the key mapping from a torchvision
``state_dict`` to ours is the identity; :func:`load_torchvision_weights` loads it strictly
(a renamed, missing or extra key fails the test) and :func:`assert_same_function` then
compares the two networks' outputs in float64, eval mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torchvision_oracle import import_torchvision


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: these inputs are tiny, and on a busy 2-core machine two
    OpenMP threads contending for a core make a float64 forward ~10x slower, not faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def param_count(model: nn.Module) -> int:
    """Trainable parameters (shared ones once)."""
    return sum(p.numel() for p in model.parameters())


def torchvision_model(name: str, **kwargs: object) -> nn.Module:
    """torchvision's randomly initialised ``name`` (no weights downloaded)."""
    return getattr(import_torchvision().models, name)(weights=None, **kwargs)


def randomize_norms(model: nn.Module, seed: int = 0) -> None:
    """Give every batch norm non-trivial statistics and affine parameters.

    A fresh norm (mean 0, variance 1, weight 1, bias 0) is nearly the identity in eval
    mode, which would let a misplaced or missing norm go unnoticed.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                shape = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(shape, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(shape, generator=generator))
                module.weight.copy_(0.5 + torch.rand(shape, generator=generator))
                module.bias.copy_(0.1 * torch.randn(shape, generator=generator))


def load_torchvision_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """Load ``theirs``' state_dict into ``ours`` under the identity key mapping, strictly."""
    ours.load_state_dict(theirs.state_dict(), strict=True)


def assert_same_function(
    ours: nn.Module, theirs: nn.Module, shape: tuple[int, ...] = (2, 3, 32, 32)
) -> None:
    """Copy torchvision's (randomised) weights into ours; equal float64 outputs in eval mode."""
    randomize_norms(theirs)
    theirs.double().eval()
    load_torchvision_weights(ours, theirs)
    ours.double().eval()
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), one_thread():
        expected = theirs(x)
        actual = ours(x)
    assert expected.abs().max() > 0
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10)


def smoke_forward_backward(model: nn.Module, x: torch.Tensor, out_shape: tuple[int, ...]) -> None:
    """One training-mode forward and backward: the output shape, and finite gradients
    reaching every parameter."""
    model.train()
    with one_thread():
        out = model(x)
        assert tuple(out.shape) == out_shape
        out.square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
