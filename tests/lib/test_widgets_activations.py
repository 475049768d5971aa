"""The activation explorer's pure computations, checked against analytic values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from dlcourse.functional.activations import ACTIVATIONS, relu_backward, relu_forward
from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.activations import (
    ActivationExplorer,
    activation_curves,
    dead_unit_fraction,
    layer_gradients,
    layer_preactivations,
    live_share,
    resolve_activation,
    resolve_activations,
    saturation_mask,
)

# --------------------------------------------------------------- activation_curves


def test_sigmoid_gradient_peaks_at_one_quarter_at_zero():
    curves = activation_curves("sigmoid", -5.0, 5.0, num=101)
    peak = np.argmax(curves.grad)
    assert curves.x[peak] == pytest.approx(0.0, abs=1e-12)
    assert curves.grad[peak] == pytest.approx(0.25, rel=1e-12)


def test_curves_match_analytic_tanh_and_its_derivative():
    curves = activation_curves("tanh", -3.0, 3.0, num=7)
    x = np.arange(-3.0, 4.0)
    np.testing.assert_allclose(curves.x, x, rtol=0, atol=1e-15)
    np.testing.assert_allclose(curves.y, np.tanh(x), rtol=1e-12)
    np.testing.assert_allclose(curves.grad, 1 / np.cosh(x) ** 2, rtol=1e-12)


def test_relu_gradient_is_zero_left_of_zero_and_one_right_of_it():
    curves = activation_curves("relu", -2.0, 2.0, num=5)
    np.testing.assert_array_equal(curves.grad, [0, 0, 0, 1, 1])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_curves_of_every_registered_activation_are_finite_over_a_wide_range(name):
    curves = activation_curves(name, -12.0, 12.0, num=25)
    assert curves.y.shape == curves.grad.shape == (25,)
    assert np.all(np.isfinite(curves.y)) and np.all(np.isfinite(curves.grad))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"name": "nope", "x_min": -1.0, "x_max": 1.0}, "name"),
        ({"name": "relu", "x_min": 1.0, "x_max": 1.0}, "x_min"),
        ({"name": "relu", "x_min": -1.0, "x_max": math.inf}, "x_min"),
        ({"name": "relu", "x_min": -1.0, "x_max": 1.0, "num": 1}, "num"),
    ],
)
def test_activation_curves_rejects_bad_arguments_naming_them(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        activation_curves(**kwargs)


# ----------------------------------------------------------------- saturation_mask


def test_saturation_mask_is_true_strictly_below_the_threshold_in_magnitude():
    grad = np.array([-0.2, -0.05, 0.0, 0.05, 0.1])
    np.testing.assert_array_equal(saturation_mask(grad, 0.1), [False, True, True, True, False])


def test_tanh_saturated_region_grows_as_the_threshold_rises():
    curves = activation_curves("tanh", -6.0, 6.0, num=1201)
    shares = [saturation_mask(curves.grad, t).mean() for t in (0.001, 0.01, 0.1, 0.5)]
    assert np.all(np.diff(shares) > 0)
    # tanh'(x) = 1 - tanh(x)^2 < t  <=>  |x| > artanh(sqrt(1 - t)): the analytic share.
    edge = math.atanh(math.sqrt(1 - 0.1))
    assert shares[2] == pytest.approx((6.0 - edge) / 6.0, abs=2e-3)


def test_saturation_mask_rejects_a_negative_threshold():
    with pytest.raises(ValueError, match="threshold"):
        saturation_mask(np.zeros(3), -0.1)


# ------------------------------------------------------------------- the layer


def test_relu_units_all_die_for_a_very_negative_bias():
    assert dead_unit_fraction("relu", bias=-20.0, input_scale=1.0, seed=0) == 1.0


def test_relu_units_all_live_for_a_large_positive_bias():
    assert dead_unit_fraction("relu", bias=20.0, input_scale=1.0, seed=0) == 0.0


def test_leaky_relu_never_dies_even_for_a_very_negative_bias():
    assert dead_unit_fraction("leaky_relu", bias=-20.0, input_scale=1.0, seed=0) == 0.0


def test_sigmoid_units_die_at_either_extreme_of_the_bias():
    # sigma'(20) ~ exp(-20), far below any threshold; sigma'(0) = 0.25, above all of them.
    assert dead_unit_fraction("sigmoid", bias=20.0, input_scale=0.1) == 1.0
    assert dead_unit_fraction("sigmoid", bias=-20.0, input_scale=0.1) == 1.0
    assert dead_unit_fraction("sigmoid", bias=0.0, input_scale=0.1) == 0.0


def test_relu_dead_units_are_exactly_those_never_positive():
    bias, scale, seed = -2.0, 1.0, 3
    grad = layer_gradients("relu", bias, scale, seed)
    # Rebuild the pre-activations the documented way and count never-positive columns.
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((256, 64))
    w = rng.standard_normal((64, 128)) / 8.0
    never_positive = np.all(x @ w + bias <= 0, axis=0)
    assert grad.shape == (256, 128)
    assert 0 < never_positive.mean() < 1
    assert dead_unit_fraction("relu", bias, scale, seed) == never_positive.mean()


def test_layer_preactivations_are_centred_on_the_bias_with_the_input_scale_as_spread():
    z = layer_preactivations(bias=1.5, input_scale=3.0, seed=0)
    assert z.shape == (256, 128)
    # Each unit's z is x @ w_j + b with Var = scale^2 * |w_j|^2 and E|w_j|^2 = 1.
    assert z.mean() == pytest.approx(1.5, abs=0.1)
    assert z.std() == pytest.approx(3.0, rel=0.05)


def test_live_share_counts_inputs_with_gradient_per_unit():
    grad = np.array([[0.0, 1.0], [0.0, 0.001], [0.5, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(live_share(grad, 0.01), [0.25, 0.75])


def test_layer_gradients_rejects_a_non_positive_input_scale():
    with pytest.raises(ValueError, match="input_scale"):
        layer_gradients("relu", 0.0, 0.0)


# -------------------------------------------------------- student implementations


def student_relu_forward(x):
    return np.maximum(x, 0), x


def student_relu_backward(dout, cache):
    return dout * (cache > 0)


def unfinished(*args):
    raise NotImplementedError


def test_student_pair_is_used_when_both_functions_work():
    resolved = resolve_activation(
        "relu", {"relu_forward": student_relu_forward, "relu_backward": student_relu_backward}
    )
    assert resolved.is_student
    assert resolved.impl == (student_relu_forward, student_relu_backward)


def test_unfinished_forward_falls_back_to_the_reference_pair_with_a_notice():
    resolved = resolve_activation(
        "relu", {"relu_forward": unfinished, "relu_backward": student_relu_backward}
    )
    assert resolved.impl == (relu_forward, relu_backward)
    assert resolved.notice == f"{REFERENCE_PREFIX}your relu_forward is not implemented yet."


def test_unfinished_backward_falls_back_for_the_whole_pair():
    resolved = resolve_activation(
        "relu", {"relu_forward": student_relu_forward, "relu_backward": unfinished}
    )
    assert resolved.impl == (relu_forward, relu_backward)
    assert "your relu_backward is not implemented yet" in resolved.notice


def test_resolve_activations_accepts_a_mapping_of_pairs_and_falls_back_for_the_rest():
    resolved = resolve_activations(student={"relu": (student_relu_forward, student_relu_backward)})
    assert set(resolved) == set(ACTIVATIONS)
    assert resolved["relu"].is_student
    assert not resolved["tanh"].is_student
    assert "tanh_forward is not defined" in resolved["tanh"].notice


def test_explorer_runs_the_students_code_and_reports_it():
    calls = []

    def counting_forward(x):
        calls.append(x.shape)
        return student_relu_forward(x)

    explorer = ActivationExplorer(
        namespace={"relu_forward": counting_forward, "relu_backward": student_relu_backward}
    )
    calls.clear()
    state = explorer.compute(
        name="relu", x_range=(-1.0, 1.0), threshold=0.01, bias=0.0, input_scale=1.0
    )
    assert state.uses_student and state.notice == ""
    assert (401,) in calls and (256, 128) in calls


def test_explorer_shows_the_fallback_notice_in_its_html_value():
    explorer = ActivationExplorer(namespace={"sigmoid_forward": unfinished})
    explorer.render()
    assert "your sigmoid_forward is not implemented yet" in explorer.notice_html.value
    assert not explorer.state.uses_student


def test_explorer_state_follows_the_bias_control():
    explorer = ActivationExplorer()
    explorer.render()
    explorer.controls["name"].value = "relu"
    explorer.controls["bias"].value = -6.0
    explorer.controls["input_scale"].value = 0.1
    assert explorer.state.dead_fraction == 1.0
    assert "100.0% of 128 units are dead" in explorer.status_html.value
    explorer.controls["bias"].value = 6.0
    assert explorer.state.dead_fraction == 0.0


# ---------------------------------------- a student's function that fails or returns None


def no_return_backward(dout, cache):
    dout * (1 - np.tanh(cache) ** 2)  # the forgotten `return` is the point


def student_tanh_forward(x):
    return np.tanh(x), x


def test_a_backward_returning_none_is_named_and_the_reference_stands_in():
    resolved = resolve_activation(
        "tanh", {"tanh_forward": student_tanh_forward, "tanh_backward": no_return_backward}
    )
    assert resolved.impl == ACTIVATIONS["tanh"]
    assert resolved.notice.startswith(
        f"{REFERENCE_PREFIX}your tanh_backward returned None (a missing `return`?) on a small"
    )


def test_a_pair_that_fails_only_on_the_plotted_inputs_falls_back_there_with_a_notice():
    def small_only_backward(dout, cache):
        return None if cache.size > 6 else dout * (1 - np.tanh(cache) ** 2)

    explorer = ActivationExplorer(
        namespace={"tanh_forward": student_tanh_forward, "tanh_backward": small_only_backward}
    )
    assert explorer.resolved["tanh"].is_student  # the 2 x 3 probe passed
    explorer.render()
    explorer.controls["name"].value = "tanh"
    state = explorer.state
    assert state is not None and not state.uses_student
    assert "your tanh_backward returned None" in explorer.notice_html.value
    reference = activation_curves("tanh", -6.0, 6.0)
    np.testing.assert_array_equal(state.curves.grad, reference.grad)


def test_dead_units_are_drawn_as_visible_red_bars():
    explorer = ActivationExplorer()
    explorer.render()
    explorer.controls["name"].value = "relu"
    explorer.controls["bias"].value = -3.0
    assert 0 < explorer.state.dead_fraction < 1
    fig = Figure()
    explorer.draw(explorer.state, fig)
    bars = [p for p in fig.axes[2].patches if p.get_height() > 0]
    red = [p for p in bars if p.get_facecolor()[:3] == to_rgb("tab:red")]
    assert len(red) == round(explorer.state.dead_fraction * explorer.state.live.size)
    assert all(p.get_height() == 1.0 for p in red)
