"""Tiny synthetic data and models for the dlcourse.torchtrain tests (seconds on a CPU)."""

from __future__ import annotations

import torch


def blobs(n: int, seed: int, noise: float = 1.0, label_noise: float = 0.0):
    """Three classes of (n, 2, 4, 4) float64 images around fixed class means; y (n,)."""
    means = torch.randn(
        3, 2, 4, 4, generator=torch.Generator().manual_seed(123), dtype=torch.float64
    )
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=gen)
    x = means[y] + noise * torch.randn(n, 2, 4, 4, generator=gen, dtype=torch.float64)
    if label_noise:
        flip = torch.rand(n, generator=gen) < label_noise
        y = torch.where(flip, torch.randint(0, 3, (n,), generator=gen), y)
    return x, y


def mlp(seed: int, dropout: float = 0.0, hidden: int = 16) -> torch.nn.Module:
    """Flatten -> Linear(32, hidden) -> ReLU -> Dropout -> Linear(hidden, 3), float64."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(32, hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden, 3),
    ).double()


def convnet(seed: int, dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    """Conv(2->4, 3x3) -> BatchNorm -> ReLU -> Flatten -> Linear(64, 3); not flip-invariant."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1, bias=False),  # batch norm subtracts any bias
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 3),
    ).to(dtype)


def params_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of every parameter and buffer."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
