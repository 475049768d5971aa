"""Claims of activations.ipynb, proved with the course references.

tanh is a shifted, stretched sigmoid; the sigmoid's derivative is at most 1/4 (at 0);
ReLU is maxout with one piece fixed at 0; in the explorer, ReLU with layer bias -3 has
mostly dead units while Leaky ReLU and ELU with the same bias have none. Each claim is
read from the notebook's text.
"""

from __future__ import annotations

import numpy as np

from dlcourse.functional.activations import (
    maxout_forward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_forward,
)
from dlcourse.widgets.activations import dead_unit_fraction

from .notebook_text import claim, number, numbers

NAME = "a1/activations"
X = np.linspace(-8.0, 8.0, 1601)


def test_tanh_is_a_shifted_and_stretched_sigmoid():
    # "$\tanh(x) = 2\sigma(2x) - 1$"
    scale, stretch, shift = numbers(NAME, r"\\tanh\(x\) = {num}\\sigma\({num}x\) - {num}")
    sigma, _ = sigmoid_forward(stretch * X)
    tanh_x, _ = tanh_forward(X)
    np.testing.assert_allclose(tanh_x, scale * sigma - shift, atol=1e-12)


def test_sigmoid_derivative_peaks_at_a_quarter_at_zero():
    # "at best $\sigma'(0) = 1/4$"
    top, bottom = numbers(NAME, r"\\sigma'\(0\) = {num}/{num}")
    _, cache = sigmoid_forward(X)
    grad = sigmoid_backward(np.ones_like(X), cache)
    assert grad.max() == top / bottom and X[np.argmax(grad)] == 0.0
    assert grad[np.abs(X) >= 6].max() < 0.0025  # saturated tails pass < 1% of the peak


def test_relu_is_maxout_with_one_zero_piece():
    claim(NAME, r"ReLU is the special case where one of the two pieces is identically 0")
    rng = np.random.default_rng(0)
    x, w1, b1 = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    w = np.stack([w1, np.zeros_like(w1)])
    b = np.stack([b1, np.zeros_like(b1)])
    out, _ = maxout_forward(x, w, b)
    np.testing.assert_allclose(out, relu_forward(x @ w1 + b1)[0])


def test_a_negative_bias_kills_most_relus_but_no_leaky_or_elu_units():
    # "in the explorer, ReLU with layer bias -3 makes most units dead"
    bias = number(NAME, r"ReLU with layer bias {num} makes most units dead")
    # "ReLU with a negative layer bias such as -3 (dead units); the same with Leaky ReLU or ELU"
    assert number(NAME, r"negative layer bias such as {num} \(dead units\)") == bias < 0
    claim(NAME, r"the same with Leaky ReLU or ELU")
    assert dead_unit_fraction("relu", bias=bias, input_scale=1.0) > 0.5
    assert dead_unit_fraction("relu", bias=0.0, input_scale=1.0) == 0.0
    assert dead_unit_fraction("leaky_relu", bias=bias, input_scale=1.0) == 0.0
    assert dead_unit_fraction("elu", bias=bias, input_scale=1.0) < 0.5
