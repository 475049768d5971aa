"""The feature-map explorer's photograph, kernels and fallback, checked without a browser."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from sklearn.datasets import load_sample_image

from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.feature_maps import (
    PRESETS,
    FeatureMapExplorer,
    kernel_reading,
    load_photo,
    resolve_filter2d,
)


def _torch_filter2d(image, kernel, pad):
    """A correct student: torch's conv2d (a cross-correlation) on one image."""
    out = F.conv2d(torch.tensor(image[None, None]), torch.tensor(kernel[None, None]), padding=pad)
    return out[0, 0].numpy()


def _flipping_filter2d(image, kernel, pad):
    """A wrong student: the kernel flipped (the mathematicians' convolution)."""
    return _torch_filter2d(image, np.ascontiguousarray(kernel[::-1, ::-1]), pad)


def test_photo_is_the_grey_block_mean_of_the_sample_image():
    photo = load_photo("flower.jpg", 4)
    rgb = load_sample_image("flower.jpg").astype(np.float64) / 255.0
    grey = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    expected = F.avg_pool2d(torch.tensor(grey[None, None]), 4)[0, 0].numpy()
    assert photo.shape == (106, 160)
    np.testing.assert_allclose(photo, expected, rtol=1e-12)


def test_photo_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        load_photo("cat.jpg")


def test_blurs_keep_brightness_and_edge_detectors_sum_to_zero():
    for name in ("identity", "box blur", "Gaussian blur", "sharpen"):
        assert PRESETS[name].sum() == pytest.approx(1.0), name
    for name in ("Sobel x (vertical edges)", "Sobel y (horizontal edges)", "Laplacian (all edges)"):
        assert PRESETS[name].sum() == pytest.approx(0.0, abs=1e-15), name
    assert kernel_reading(0.0).startswith("weights sum to 0")
    assert kernel_reading(1.0).startswith("weights sum to 1")


def test_a_correct_student_filter_is_used_and_gives_torchs_feature_map():
    app = FeatureMapExplorer(namespace={"filter2d": _torch_filter2d})
    kernel = PRESETS["Sobel x (vertical edges)"]
    weights = {f"k{i}": float(v) for i, v in enumerate(kernel.ravel())}
    state = app.compute(photo="china.jpg", preset="Sobel x (vertical edges)", **weights)
    assert app.impl.is_student and state.notice == ""
    expected = _torch_filter2d(load_photo("china.jpg"), kernel, 1)
    np.testing.assert_allclose(state.feature_map, expected, rtol=1e-12, atol=1e-14)
    assert state.preset == "Sobel x (vertical edges)" and state.kernel_sum == 0.0


def test_a_student_filter_that_flips_the_kernel_falls_back_to_the_reference():
    resolved = resolve_filter2d({"filter2d": _flipping_filter2d})
    assert not resolved.is_student
    assert resolved.notice.startswith(REFERENCE_PREFIX) and "differs" in resolved.notice


def test_choosing_a_preset_fills_the_weights_and_editing_one_makes_it_custom():
    app = FeatureMapExplorer()
    app.render()
    app.controls["preset"].value = "sharpen"
    weights = np.array([app.controls[f"k{i}"].value for i in range(9)]).reshape(3, 3)
    np.testing.assert_array_equal(weights, PRESETS["sharpen"])
    assert app.state.preset == "sharpen"
    assert (
        "Using the reference implementation: filter2d is not defined yet." in app.notice_html.value
    )
    app.controls["k4"].value = 6.0
    assert app.state.preset == "custom" and app.state.kernel_sum == pytest.approx(2.0)
    assert "weights sum to 2" in app.status_html.value


def test_draw_paints_three_panels():
    app = FeatureMapExplorer()
    state = app.compute(**app.values())
    fig = Figure()
    app.draw(state, fig)
    assert len(fig.axes) == 4  # photo, kernel, feature map and its colour bar


def test_the_gaussian_preset_is_the_references_kernel_written_out():
    """The student edition withholds the reference, so the preset is a literal: the same
    numbers as the reference (itself checked against a normalised Gaussian)."""
    from dlcourse.exercises.a3.filters import gaussian_kernel

    x = np.arange(3) - 1.0
    gaussian = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 0.85**2))
    np.testing.assert_allclose(PRESETS["Gaussian blur"], gaussian / gaussian.sum(), rtol=1e-12)
    assert np.array_equal(PRESETS["Gaussian blur"], gaussian_kernel(3, 0.85))
