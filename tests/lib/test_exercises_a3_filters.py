"""The references of filters.ipynb against torch and against formulas written out here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.exercises.a3 import filters as ex


@pytest.mark.parametrize(("kernel_shape", "pad"), [((3, 3), 1), ((2, 4), 0), ((4, 2), 2)])
def test_filter2d_matches_torch_conv2d_without_a_flip(device, kernel_shape, pad):
    rng = np.random.default_rng(0)
    image, kernel = rng.uniform(size=(7, 9)), rng.standard_normal(kernel_shape)
    expected = F.conv2d(
        torch.tensor(image[None, None], device=device),
        torch.tensor(kernel[None, None], device=device),
        padding=pad,
    )[0, 0]
    out = ex.filter2d(image, kernel, np.array(pad))
    np.testing.assert_allclose(out, expected.cpu().numpy(), rtol=1e-12, atol=1e-14)


def test_gaussian_kernel_is_the_normalized_gaussian_of_the_offsets():
    kernel = ex.gaussian_kernel(np.array(4), np.array(1.3))
    offsets = [-1.5, -0.5, 0.5, 1.5]
    written = np.array(
        [[np.exp(-(u * u + v * v) / (2 * 1.3**2)) for v in offsets] for u in offsets]
    )
    np.testing.assert_allclose(kernel, written / written.sum(), rtol=1e-13)
    assert kernel.sum() == pytest.approx(1.0)


def test_gradient_magnitude_matches_torch_sobel(device):
    rng = np.random.default_rng(1)
    image = rng.uniform(size=(6, 8))
    sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
    bank = torch.stack([sobel_x, sobel_x.T])[:, None].to(device)  # (2, 1, 3, 3)
    grads = F.conv2d(torch.tensor(image[None, None], device=device), bank, padding=1)[0]
    expected = torch.sqrt((grads**2).sum(dim=0)).cpu().numpy()
    np.testing.assert_allclose(ex.gradient_magnitude(image), expected, rtol=1e-12)


def test_a_ramp_has_gradient_magnitude_eight_times_its_slope_inside():
    """Sobel's weights sum to 4 on each side: a ramp of slope s gives 4 * 2 * s."""
    image = np.tile(0.1 * np.arange(6.0), (5, 1))
    np.testing.assert_allclose(ex.gradient_magnitude(image)[1:-1, 1:-1], 0.8)


def test_normalize_filters_scales_each_filter_alone_and_greys_constant_ones():
    w = np.zeros((3, 2, 2, 2))
    w[0] = np.arange(8.0).reshape(2, 2, 2)
    w[1] = -0.01 * np.arange(8.0).reshape(2, 2, 2)
    w[2] = 3.0
    out = ex.normalize_filters(w)
    np.testing.assert_allclose(out[0], np.arange(8.0).reshape(2, 2, 2) / 7)
    np.testing.assert_allclose(out[1], 1 - np.arange(8.0).reshape(2, 2, 2) / 7)
    np.testing.assert_array_equal(out[2], 0.5)
