"""Claims of initialization.ipynb, section 4, proved at the notebook's size.

The notebook runs 8 layers of width 1024 (batch 200, seed 0) and says: tanh with std 0.01
collapses toward 0 in the deep layers; too large a std (0.1 at this width) saturates
tanh; Xavier keeps tanh's activations reasonably scaled; Xavier with ReLU shrinks by about
1/sqrt(2) per layer; Kaiming with ReLU keeps the std roughly constant. The explorer's
default view (tanh, std 0.01) reports the collapse, and its written answer uses 10 layers
of width 1024.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.init_experiment import activation_statistics
from dlcourse.widgets.init_explorer import InitExplorer


def _stds(activation: str, init: str | float, num_layers: int = 8) -> np.ndarray:
    stats = activation_statistics(
        num_layers=num_layers, width=1024, activation=activation, init=init, batch_size=200
    )
    return np.array([s.std for s in stats])


def test_tanh_with_std_001_collapses_toward_zero():
    stds = _stds("tanh", 0.01)
    # Each layer shrinks the scale by about 0.01 * sqrt(1024) = 0.32.
    assert stds[-1] < 1e-3
    assert stds[-1] < 0.01 * stds[0]
    assert np.all(np.diff(stds) < 0)


def test_kaiming_with_relu_keeps_the_std_roughly_constant():
    stds = _stds("relu", "kaiming")
    assert np.all(stds > 0.5 * stds[0])
    assert np.all(stds < 2.0 * stds[0])


def test_xavier_with_relu_shrinks_by_about_one_over_sqrt2_per_layer():
    stds = _stds("relu", "xavier")
    ratios = stds[1:] / stds[:-1]
    assert np.all(ratios < 0.85)
    assert float(np.exp(np.mean(np.log(ratios)))) == pytest.approx(1 / math.sqrt(2), rel=0.1)


def test_xavier_keeps_tanh_reasonably_scaled():
    stds = _stds("tanh", "xavier")
    assert np.all(stds > 0.15)
    assert np.all(stds < 1.0)


def test_a_large_std_saturates_tanh():
    stats = activation_statistics(
        num_layers=8, width=1024, activation="tanh", init=0.1, batch_size=200
    )
    assert all(s.frac_saturated > 0.5 for s in stats)


def test_the_default_explorer_view_reports_the_collapse():
    app = InitExplorer()
    values = app.values()
    assert values == {"depth": 8, "width": 1024, "activation": "tanh", "init": 0.01}
    state = app.compute(**values)
    assert state.diagnosis == "activations collapse toward zero"


def test_the_written_answer_numbers_at_ten_layers():
    app = InitExplorer()
    tanh = {
        init: app.compute(depth=10, width=1024, activation="tanh", init=init)
        for init in (0.01, 0.1, "xavier")
    }
    assert 1e-7 < tanh[0.01].stds[-1] < 1e-4
    assert 0.75 < tanh[0.1].stds[-1] < 0.95
    assert tanh[0.1].diagnosis.startswith("activations saturate")
    assert 0.15 < tanh["xavier"].stds[-1] < 0.6
    kaiming = app.compute(depth=10, width=1024, activation="relu", init="kaiming")
    assert kaiming.diagnosis == "activations keep their scale"
