"""Claims of pooling_norm.ipynb, proved with the exercise references.

Each number is read from the notebook's own text, so editing the text without the code
(or the code without the text) fails here: the tie example of section 1 and its rubric
(the first maximum takes the whole gradient; central differences give half to each),
the running statistics demonstration of section 3, the special cases of section 4 and
the eval-mode equality of section 5.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dlcourse.exercises.a3 import pooling_norm as ex
from dlcourse.gradcheck import numeric_gradient

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "a3" / "pooling_norm.ipynb"


@pytest.fixture(scope="module")
def text() -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def _number(pattern: str, text: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"the notebook no longer says {pattern!r}"
    return [float(group) for group in match.groups()]


X_TIE = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])


def test_the_first_maximum_takes_the_whole_gradient_of_a_tied_window(text):
    assert "send the whole upstream gradient 1 to the first 3 (top right)" in text
    dx = ex.max_pool_gradients(X_TIE, np.ones((1, 1, 1, 1)), 2, 2)
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_central_differences_give_half_to_each_tied_input(text):
    assert "the numeric gradient splits the gradient into 1/2 and 1/2" in text
    numeric = numeric_gradient(lambda v: float(ex.max_pool_forward(v, 2, 2)[0].sum()), X_TIE.copy())
    np.testing.assert_allclose(numeric[0, 0], [[0.0, 0.5], [0.5, 0.0]], atol=1e-6)


def test_running_statistics_approach_the_true_ones_and_eval_mode_standardizes(text):
    (num_batches, batch, side) = _number(r"sees (\d+) batches of (\d+) images of (\d+)×\d+", text)
    means = _number(r"channels\s+have means (-?\d+(?:\.\d+)?) and (-?\d+(?:\.\d+)?)", text)
    stds = _number(r"standard deviations (-?\d+(?:\.\d+)?) and (-?\d+(?:\.\d+)?)", text)
    assert "roughly zero mean and unit variance" in text
    rng = np.random.default_rng(0)  # the notebook's seed
    true_mean, true_std = np.array(means), np.array(stds)

    def draw() -> np.ndarray:
        noise = rng.standard_normal((int(batch), 2, int(side), int(side)))
        return true_mean[None, :, None, None] + true_std[None, :, None, None] * noise

    mean, var = np.zeros(2), np.ones(2)
    for _ in range(int(num_batches)):
        mean, var = ex.spatial_batchnorm_running_stats(mean, var, draw(), 0.1)
    np.testing.assert_allclose(mean, true_mean, atol=0.3)
    np.testing.assert_allclose(var, true_std**2, rtol=0.2)
    out = ex.spatial_batchnorm_eval_forward(draw(), np.ones(2), np.zeros(2), mean, var)
    assert np.all(np.abs(out.mean(axis=(0, 2, 3))) < 0.25)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, atol=0.15)


def test_group_norm_with_one_group_is_layer_norm_and_with_c_groups_instance_norm(text):
    assert "| layer norm | one image, all channels and positions: `(C, H, W)` | `G = 1` |" in text
    assert "| instance norm | one image, one channel: `(H, W)` | `G = C` |" in text
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(2, 6, 4, 4))
    for groups, axes in ((1, (1, 2, 3)), (6, (2, 3))):
        out, _ = ex.groupnorm_forward(x, np.ones(6), np.zeros(6), groups)
        centred = x - x.mean(axis=axes, keepdims=True)
        expected = centred / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_the_folded_convolution_computes_the_eval_mode_pair_exactly(text):
    filters, size, channels = _number(
        r"with (\d+) filters of (\d+)×\d+, stride 1 and\s+padding 1 over (\d+) channels", text
    )
    from dlcourse.functional.conv_fast import conv_forward_fast

    rng = np.random.default_rng(2)
    f, k, c = int(filters), int(size), int(channels)
    x, w, b = (
        rng.standard_normal((4, c, 8, 8)),
        rng.standard_normal((f, c, k, k)),
        rng.standard_normal(f),
    )
    gamma, beta = rng.uniform(0.5, 2.0, f), rng.standard_normal(f)
    mean, var = rng.standard_normal(f), rng.uniform(0.5, 2.0, f)
    pair = ex.spatial_batchnorm_eval_forward(
        conv_forward_fast(x, w, b, 1, 1)[0], gamma, beta, mean, var
    )
    w_new, b_new = ex.fold_batchnorm_into_conv(w, b, gamma, beta, mean, var)
    np.testing.assert_allclose(
        conv_forward_fast(x, w_new, b_new, 1, 1)[0], pair, rtol=1e-12, atol=1e-12
    )
