"""The activation-statistics experiment reproduces the lecture's qualitative findings.

The two weight-std runs use the lecture's exact setup (6 layers of 4096 units, a batch of
16); the Xavier/Kaiming runs use 512 units to stay fast, which changes nothing in
expectation because those inits scale with the width.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.init_experiment import LayerStats, activation_statistics

# Per-layer std the lecture prints for std 0.01 and tanh (layers 1 to 6).
LECTURE_STDS_001_TANH = [0.49, 0.29, 0.18, 0.11, 0.07, 0.05]


def _stds(stats: list[LayerStats]) -> np.ndarray:
    return np.array([s.std for s in stats])


def test_std_001_tanh_collapses_toward_zero_with_the_lectures_per_layer_stds():
    stats = activation_statistics(6, 4096, "tanh", 0.01, batch_size=16, seed=0)
    stds = _stds(stats)
    # The lecture's figures are rounded to two decimals and come from another random draw.
    np.testing.assert_allclose(stds, LECTURE_STDS_001_TANH, rtol=0.15, atol=0.01)
    assert np.all(np.diff(stds) < 0)
    assert stds[-1] < 0.07  # a tenth of the first layer's 0.49 more or less
    assert all(abs(s.mean) < 0.02 for s in stats)  # the lecture: mean = 0.00 in every layer


def test_std_005_tanh_saturates_at_plus_minus_one():
    stats = activation_statistics(6, 4096, "tanh", 0.05, batch_size=16, seed=0)
    for s in stats:
        assert s.std > 0.8
        assert s.frac_saturated > 0.3
        # Most of the histogram sits in the outer tenth of [-1, 1] on either side.
        outer = s.hist_counts[:5].sum() + s.hist_counts[-5:].sum()
        assert outer > 0.5 * s.hist_counts.sum()


def test_xavier_keeps_tanh_activations_nicely_scaled_in_every_layer():
    stats = activation_statistics(6, 512, "tanh", "xavier", batch_size=64, seed=1)
    stds = _stds(stats)
    assert np.all((stds > 0.2) & (stds < 0.9))
    assert stds[-1] / stds[0] > 0.35  # compare: the 0.01 init falls by a factor ~10
    assert all(s.frac_saturated < 0.1 for s in stats[1:])


def test_kaiming_keeps_relu_activations_constant_while_xavier_shrinks_them():
    kaiming = _stds(activation_statistics(6, 512, "relu", "kaiming", batch_size=64, seed=2))
    xavier = _stds(activation_statistics(6, 512, "relu", "xavier", batch_size=64, seed=2))
    assert 0.8 < kaiming[-1] / kaiming[0] < 1.25
    # Halving the second moment each layer: the std falls by sqrt(2) per layer, (1/2)**2.5.
    assert xavier[-1] / xavier[0] < 0.25
    assert np.all(np.diff(xavier) < 0)


def test_relu_layers_are_about_half_zeros_and_never_saturated():
    for s in activation_statistics(3, 512, "relu", "kaiming", batch_size=64, seed=3):
        assert 0.45 < s.frac_zero < 0.55
        assert s.frac_saturated == 0.0
        assert s.mean > 0


def test_result_has_one_typed_record_per_layer_with_a_full_histogram():
    stats = activation_statistics(4, 64, "tanh", "xavier", batch_size=10, seed=4, bins=20)
    assert [s.layer for s in stats] == [1, 2, 3, 4]
    for s in stats:
        assert isinstance(s, LayerStats)
        assert s.hist_counts.shape == (20,) and s.hist_edges.shape == (21,)
        assert s.hist_counts.sum() == 10 * 64  # tanh lies in [-1, 1]: nothing falls outside
        assert s.hist_edges[0] == -1.0 and s.hist_edges[-1] == 1.0


def test_same_seed_reproduces_the_statistics_in_float32_and_float64():
    for dtype in (np.float32, np.float64):
        first = activation_statistics(3, 128, "sigmoid", 0.05, batch_size=8, seed=5, dtype=dtype)
        again = activation_statistics(3, 128, "sigmoid", 0.05, batch_size=8, seed=5, dtype=dtype)
        assert [s.std for s in first] == [s.std for s in again]
        assert all(0.0 <= s.mean <= 1.0 for s in first)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"num_layers": 0}, "num_layers"),
        ({"width": 2.5}, "width"),
        ({"activation": "gelu"}, "activation"),
        ({"init": "lecun"}, "init"),
        ({"init": -0.01}, "init"),
        ({"dtype": np.int32}, "dtype"),
        ({"zero_tol": -1.0}, "zero_tol"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        activation_statistics(**{"num_layers": 2, "width": 8, "batch_size": 2, **kwargs})
