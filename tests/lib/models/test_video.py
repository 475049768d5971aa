"""The small C3D-style 3D CNN: shapes through time, parameters, use of frame order."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from tv_compare import param_count

from dlcourse.models.video import c3d_small


def test_parameters_are_27_weights_per_channel_pair_plus_biases():
    """Each 3x3x3 convolution has 3*3*3 * C_in * C_out weights and C_out biases."""
    widths = (3, 16, 32, 64, 128)
    convs = sum(27 * c_in * c_out + c_out for c_in, c_out in zip(widths, widths[1:], strict=False))
    fc = 128 * 10 + 10
    assert param_count(c3d_small()) == convs + fc


def test_first_pool_keeps_time_and_later_pools_halve_it():
    """C3D (Tran et al., 2015): pool1 is 1x2x2 so time is not merged too early."""
    model = c3d_small().eval()
    shapes = {}
    for name in ("stage1", "stage2", "stage3", "stage4"):
        model.get_submodule(name).register_forward_hook(
            lambda m, i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
    with torch.no_grad():
        out = model(torch.randn(2, 3, 8, 32, 32))
    assert shapes == {
        "stage1": (2, 16, 8, 16, 16),
        "stage2": (2, 32, 4, 8, 8),
        "stage3": (2, 64, 2, 4, 4),
        "stage4": (2, 128, 2, 4, 4),
    }
    assert out.shape == (2, 10)


def test_every_convolution_is_3x3x3():
    kernels = {m.kernel_size for m in c3d_small().modules() if isinstance(m, nn.Conv3d)}
    assert kernels == {(3, 3, 3)}


def test_the_output_depends_on_the_order_of_the_frames():
    """A 3D filter sees motion: reversing the clip changes the scores (a per-frame 2D
    network followed by an average over time would not notice)."""
    torch.manual_seed(0)
    model = c3d_small().double().eval()
    clip = torch.randn(1, 3, 4, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        assert not torch.allclose(model(clip), model(clip.flip(2)))


def test_a_batch_of_images_instead_of_clips_is_refused():
    with pytest.raises(ValueError, match=r"\(N, C, T, H, W\)"):
        c3d_small()(torch.randn(2, 3, 16, 16))


def test_trains_a_step_on_the_device(device):
    torch.manual_seed(0)
    model = c3d_small(num_classes=4).to(device)
    clip = torch.randn(2, 3, 4, 16, 16, device=device)
    nn.functional.cross_entropy(model(clip), torch.tensor([0, 3], device=device)).backward()
    grad = model.stage1[0].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
