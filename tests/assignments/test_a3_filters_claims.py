"""Claims of filters.ipynb, proved with the exercise references and the viewer's network.

Each number is read from the notebook's own text: the size of the shrunk photograph, the
network's training recipe and its validation accuracy, the effect of noise on the edge
map and of blurring first, and the explorer's promised reading of a blur's weights.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dlcourse.data.datasets import load_digits
from dlcourse.exercises.a3 import filters as ex
from dlcourse.widgets.feature_maps import FeatureMapExplorer, load_photo
from dlcourse.widgets.filter_viewer import Settings, train_digit_cnn

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "a3" / "filters.ipynb"


@pytest.fixture(scope="module")
def notebook() -> dict:
    return json.loads(NOTEBOOK.read_text())


@pytest.fixture(scope="module")
def text(notebook) -> str:
    cells = notebook["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def _number(pattern: str, text: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"the notebook no longer says {pattern!r}"
    return [float(group) for group in match.groups()]


def test_the_photo_is_shrunk_to_the_stated_size(text):
    factor, height, width = _number(
        r"average every (\d+)×\d+ block, which gives a (\d+)×(\d+) image", text
    )
    assert load_photo("china.jpg", int(factor)).shape == (height, width)


def test_the_network_is_trained_with_the_stated_recipe(text):
    lr, batch, epochs, images = _number(
        r"learning rate ([\d.]+), batches of (\d+), (\d+) epochs over (\d+) images", text
    )
    settings = Settings()
    assert (settings.lr, settings.batch_size, settings.num_epochs) == (lr, batch, epochs)
    assert settings.num_train is None and len(load_digits(seed=settings.seed).y_train) == images
    assert "conv 5x5, 8 filters, padding 2" in text
    assert (settings.kernel_size, settings.num_filters) == (5, 8)


def test_the_network_reaches_the_stated_validation_accuracy(text):
    epochs, percent, num_val = _number(
        r"After (\d+) epochs the network classifies more than \*\*(\d+)%\*\* of the (\d+)", text
    )
    trained = train_digit_cnn()
    assert len(trained.val_acc) == epochs and len(trained.y_val) == num_val
    assert trained.val_acc[-1] > percent / 100


def test_noise_speckles_the_edge_map_and_a_blur_first_brings_it_back(text):
    (sigma,) = _number(r"noise of standard deviation ([\d.]+) is added", text)
    (size,) = _number(r"blurring with a (\d+)×\d+ Gaussian first", text)
    photo = load_photo("china.jpg")
    noisy = photo + sigma * np.random.default_rng(0).standard_normal(photo.shape)
    smoothed = ex.filter2d(noisy, ex.gaussian_kernel(int(size), 1.0), int(size) // 2)
    clean, speckled = (
        np.median(ex.gradient_magnitude(photo)),
        np.median(ex.gradient_magnitude(noisy)),
    )
    blurred = np.median(ex.gradient_magnitude(smoothed))
    assert speckled > 1.5 * clean
    assert blurred < 0.6 * speckled
    assert blurred == pytest.approx(clean, rel=0.25)


def test_the_explorer_shows_the_promised_text_at_start(notebook):
    (expected,) = notebook["metadata"]["dlcourse"]["browser_texts"]
    app = FeatureMapExplorer()
    app.update()
    assert expected in app.status_html.value


def test_blurring_then_sobel_is_one_convolution_with_a_seven_by_seven_kernel(text):
    (side,) = _number(r"applying Sobel is itself one convolution,\s+with a (\d+)×\d+ kernel", text)
    from scipy.signal import convolve2d

    gaussian = ex.gaussian_kernel(5, 1.0)
    combined = convolve2d(gaussian, ex.SOBEL_X)  # cross-correlations compose by convolving
    assert combined.shape == (side, side)
    image = load_photo("china.jpg")[:30, :40]
    two_steps = ex.filter2d(ex.filter2d(image, gaussian, 0), ex.SOBEL_X, 0)
    np.testing.assert_allclose(ex.filter2d(image, combined, 0), two_steps, rtol=1e-10, atol=1e-12)


def test_the_rubric_readings_of_sharpen_and_sobel_on_a_flat_region(text):
    assert "the output is 0.4, unchanged" in text and "the output is 0, since nothing" in text
    flat = np.full((5, 5), 0.4)
    sharpen = np.array([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    laplacian = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
    identity = np.zeros((3, 3))
    identity[1, 1] = 1.0
    np.testing.assert_array_equal(sharpen, identity - laplacian)
    np.testing.assert_allclose(ex.filter2d(flat, sharpen, 0), 0.4)
    np.testing.assert_allclose(ex.filter2d(flat, ex.SOBEL_X, 0), 0.0)


def _roughness(w: np.ndarray) -> float:
    """Mean jump between neighbouring weights of a filter, in units of the weights' spread.

    Independent random weights give about 2 / sqrt(pi) = 1.13; a smooth pattern far less.
    """
    filters = w[:, 0]
    jumps = np.abs(np.diff(filters, axis=1)).mean() + np.abs(np.diff(filters, axis=2)).mean()
    return float(jumps / 2 / filters.std())


def test_small_initial_filters_learn_visible_patterns_and_full_size_ones_stay_noise(text):
    assert "(a tenth of the usual He scale)" in text
    assert Settings().init_scale == 0.1
    assert _roughness(train_digit_cnn().filters) < 0.8
    assert _roughness(train_digit_cnn(Settings(init_scale=1.0)).filters) > 1.0
