"""Test-time augmentation, seeding and the device argument."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torchtrain_data import convnet

from dlcourse.torchtrain import resolve_amp, resolve_device, seed_everything, tta_predict


def reverse(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` reversed along ``dim`` by gathering indices (an oracle independent of flip)."""
    idx = torch.arange(x.shape[dim] - 1, -1, -1, device=x.device)
    return x.index_select(dim, idx)


@pytest.mark.parametrize(
    ("flips", "dims"), [((), []), (("horizontal",), [3]), (("horizontal", "vertical"), [3, 2])]
)
def test_tta_is_the_mean_softmax_over_the_flipped_views(flips, dims, device: str) -> None:
    model = convnet(2).to(device)
    x = torch.randn(5, 2, 4, 4, dtype=torch.float64, device=device)
    got = tta_predict(model, x, flips)
    model.eval()
    with torch.no_grad():
        views = [x] + [reverse(x, d) for d in dims]
        expected = sum(torch.softmax(model(v), dim=1) for v in views) / len(views)
    torch.testing.assert_close(got, expected, rtol=1e-14, atol=1e-16)
    torch.testing.assert_close(got.sum(dim=1), torch.ones(5, dtype=torch.float64, device=device))


def test_tta_restores_train_mode_and_validates(device: str) -> None:
    model = convnet(2).to(device)
    model.train()
    tta_predict(model, torch.randn(2, 2, 4, 4, dtype=torch.float64, device=device))
    assert model.training
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        tta_predict(model, torch.randn(2, 32, dtype=torch.float64, device=device))
    with pytest.raises(ValueError, match="flips"):
        tta_predict(model, torch.randn(2, 2, 4, 4, dtype=torch.float64, device=device), ["diag"])


def draws(device: str) -> tuple:
    return (
        random.random(),
        np.random.rand(),  # noqa: NPY002 - the legacy global generator is under test
        torch.rand(1).item(),
        torch.rand(1, device=device).item(),
    )


def test_seed_everything_makes_every_generator_repeat(device: str) -> None:
    saved = random.getstate()
    try:
        seed_everything(11)
        first = draws(device)
        seed_everything(11)
        assert draws(device) == first
        seed_everything(12)
        assert all(a != b for a, b in zip(draws(device), first, strict=True))
    finally:
        random.setstate(saved)


def test_seed_everything_switches_deterministic_algorithms_on_and_off(device: str) -> None:
    saved = random.getstate()
    try:
        seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        seed_everything(0, deterministic=False)
        random.setstate(saved)
    assert not torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def test_the_device_is_one_argument(device: str) -> None:
    assert resolve_device(device) == torch.device(device)
    assert resolve_device(torch.device(device)) == torch.device(device)
    with pytest.raises(ValueError, match="device"):
        resolve_device("gpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device(0)  # type: ignore[arg-type]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_amp_defaults_to_cuda_with_float32_weights_only(device: str) -> None:
    dev = torch.device(device)
    assert resolve_amp(None, dev, convnet(0, torch.float32)) == (device == "cuda")
    assert resolve_amp(None, dev, convnet(0, torch.float64)) is False
    assert resolve_amp(False, dev, convnet(0, torch.float32)) is False
