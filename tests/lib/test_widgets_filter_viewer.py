"""The filter/activation viewer's network, maps and fallback, checked without a browser.

A tiny training run (100 images, one epoch, four filters) keeps the tests fast; the
notebook's full network is the claims test's business.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.filter_viewer import (
    STAGES,
    FilterViewer,
    Settings,
    first_layer_maps,
    resolve_normalizer,
    train_digit_cnn,
    upsample,
)

TINY = Settings(num_filters=4, num_epochs=1, num_train=100)


@pytest.fixture(scope="module")
def trained():
    return train_digit_cnn(TINY)


def test_upsampling_repeats_every_pixel_as_a_block():
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    expected = F.interpolate(torch.tensor(x), scale_factor=2, mode="nearest").numpy()
    np.testing.assert_array_equal(upsample(x), expected)


def test_the_network_has_the_documented_shape(trained):
    assert trained.filters.shape == (4, 1, 5, 5)
    assert trained.x_val.shape == (300, 1, 16, 16)
    assert len(trained.val_acc) == 1
    assert trained.model.forward(trained.x_val[:3]).shape == (3, 10)


def test_first_layer_maps_are_torchs_convolution_and_its_relu(device, trained):
    image = trained.x_val[7]
    before, after = first_layer_maps(trained, image)
    conv = trained.model[0]
    expected = (
        F.conv2d(
            torch.tensor(image[None], device=device),
            torch.tensor(conv.w.data, device=device),
            torch.tensor(conv.b.data, device=device),
            padding=2,
        )[0]
        .cpu()
        .numpy()
    )
    np.testing.assert_allclose(before, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(after, np.maximum(before, 0))


def test_the_viewer_uses_a_working_student_normalizer(trained):
    def student(w):
        low = w.min(axis=(1, 2, 3), keepdims=True)
        span = w.max(axis=(1, 2, 3), keepdims=True) - low
        return np.where(span == 0, 0.5, (w - low) / np.where(span == 0, 1, span))

    viewer = FilterViewer(trained, namespace={"normalize_filters": student})
    state = viewer.compute(index=3, stage="before ReLU")
    assert state.notice == "" and viewer.impl.is_student
    assert state.filters.shape == (4, 5, 5)
    assert state.filters.min() == 0.0 and state.filters.max() == 1.0
    before, after = first_layer_maps(trained, trained.x_val[3])
    np.testing.assert_array_equal(state.maps, before)
    assert state.strongest == int(np.argmax(after.mean(axis=(1, 2))))
    assert state.label == int(trained.y_val[3])


def test_a_normalizer_scaling_the_whole_bank_falls_back_with_a_notice():
    def whole_bank(w):
        return (w - w.min()) / (w.max() - w.min())

    resolved = resolve_normalizer({"normalize_filters": whole_bank})
    assert not resolved.is_student
    assert resolved.notice.startswith(REFERENCE_PREFIX)


def test_the_viewer_refuses_an_unknown_stage_and_draws(trained):
    viewer = FilterViewer(trained, num_images=5)
    with pytest.raises(ValueError, match="stage must be one of"):
        viewer.compute(index=0, stage="sideways")
    state = viewer.update()
    assert state is not None and state.stage == STAGES[0]
    assert "validation image 0" in viewer.status_html.value
    fig = Figure()
    viewer.draw(state, fig)
    assert len(fig.axes) == 2 * (4 + 1)
