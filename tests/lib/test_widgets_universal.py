"""The universal approximation explorer's fitting and fallback, checked without a browser."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcourse.widgets import REFERENCE_PREFIX
from dlcourse.widgets.universal import (
    MAX_UNITS,
    UNIT_COUNTS,
    UniversalApproximationExplorer,
    error_curve,
    fit_universal,
    random_hidden_layer,
    resolve_layers,
    sample_points,
)


def _student_fc(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)


def _student_relu(x):
    return np.maximum(x, 0), x


# --------------------------------------------------------------------------- fitting


def test_hidden_layer_puts_one_kink_per_unit_inside_the_interval():
    w1, b1 = random_hidden_layer(10, seed=3)
    assert w1.shape == (1, 10) and b1.shape == (10,)
    assert set(np.abs(w1).ravel()) == {1.0}
    kinks = -b1 / w1[0]
    assert np.all((kinks >= -2.0) & (kinks <= 2.0))


def test_smaller_networks_are_the_first_units_of_larger_ones():
    small_w, small_b = random_hidden_layer(5, seed=7)
    big_w, big_b = random_hidden_layer(MAX_UNITS, seed=7)
    np.testing.assert_array_equal(small_w, big_w[:, :5])
    np.testing.assert_array_equal(small_b, big_b[:5])


def test_fit_is_the_least_squares_output_layer_on_relu_features():
    """Recompute the fit independently: hinge features, normal equations."""
    fit = fit_universal("sine", 6, seed=2)
    x = np.linspace(-2.0, 2.0, 400)
    w1, b1 = random_hidden_layer(6, seed=2)
    features = np.maximum(x[:, None] * w1 + b1, 0.0)
    design = np.hstack([features, np.ones((400, 1))])
    coef = np.linalg.solve(design.T @ design, design.T @ np.sin(np.pi * x))
    np.testing.assert_allclose(fit.prediction, design @ coef, atol=1e-8)
    assert fit.mse == pytest.approx(np.mean((design @ coef - np.sin(np.pi * x)) ** 2), rel=1e-6)


def test_one_unit_fits_abs_no_better_than_a_hinge_and_many_units_fit_it_well():
    assert fit_universal("|x|", 1, seed=0).mse > 0.01
    assert fit_universal("|x|", MAX_UNITS, seed=0).mse < 1e-4


@pytest.mark.parametrize("target", ["sine", "step", "|x|"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adding_units_never_increases_the_error(target, seed):
    curve = error_curve(target, seed)
    assert curve.shape == (len(UNIT_COUNTS),)
    assert np.all(np.diff(curve) <= 1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_sine_needs_more_than_three_units_and_is_fit_well_by_32(seed):
    """The rubric's reading: 1-3 units are a coarse fit, 15 to 30 or so follow the sine."""
    assert fit_universal("sine", 3, seed).mse > 0.1
    assert fit_universal("sine", 32, seed).mse < 0.01


@pytest.mark.parametrize("seed", range(5))
def test_the_step_is_never_fit_exactly(seed):
    """A continuous network misses a jump: near the jump some error always remains."""
    fit = fit_universal("step", MAX_UNITS, seed)
    assert fit.mse > 1e-5
    x = sample_points()
    jump = np.argmax(x > 0.3)
    assert abs(fit.prediction[jump] - 1.0) + abs(fit.prediction[jump - 1]) > 0.05


def test_unknown_target_and_unit_count_are_refused():
    with pytest.raises(ValueError, match="target"):
        fit_universal("cosine", 3)
    with pytest.raises(ValueError, match="num_units"):
        fit_universal("sine", 0)


# --------------------------------------------------------------------------- student code


def test_working_student_layers_are_used_without_a_notice():
    impls = resolve_layers({"fc_forward": _student_fc, "relu_layer_forward": _student_relu})
    assert impls.is_student and impls.notice == ""
    assert impls.fc_forward is _student_fc


def test_missing_or_wrong_student_layers_fall_back_to_the_reference_with_a_notice():
    def unfinished(x, w, b):
        raise NotImplementedError

    def wrong_relu(x):
        return np.abs(x), x

    impls = resolve_layers({"fc_forward": unfinished, "relu_layer_forward": wrong_relu})
    assert not impls.is_student
    assert impls.notice.startswith(REFERENCE_PREFIX)
    assert "fc_forward is not implemented yet" in impls.notice
    assert "relu_layer_forward raised ValueError" in impls.notice
    assert not resolve_layers(None).is_student


def test_student_layers_give_the_reference_fit():
    student = resolve_layers({"fc_forward": _student_fc, "relu_layer_forward": _student_relu})
    ours = fit_universal("step", 12, seed=4, impls=student)
    reference = fit_universal("step", 12, seed=4)
    np.testing.assert_allclose(ours.prediction, reference.prediction, atol=1e-10)


# --------------------------------------------------------------------------- widget


def test_compute_draw_and_texts():
    app = UniversalApproximationExplorer(
        namespace={"fc_forward": _student_fc, "relu_layer_forward": _student_relu}
    )
    state = app.compute(target="|x|", num_units=8, seed=1)
    assert state.fit.prediction.shape == state.x.shape == state.y.shape == (400,)
    assert state.curve.shape == (len(UNIT_COUNTS),)
    fig = Figure()
    app.draw(state, fig)
    assert len(fig.axes) == 2
    text = app.describe(state)
    assert "mean squared error of the fit" in text and "your fc_forward" in text
    assert app.notice(state) == ""


def test_render_fills_the_image_and_reacts_to_the_controls():
    app = UniversalApproximationExplorer()
    app.render()
    first_png, first_text = app.image.value, app.status_html.value
    assert first_png and "reference layers" in first_text
    assert REFERENCE_PREFIX.strip() in app.notice_html.value
    app.controls["num_units"].value = 20
    assert app.image.value != first_png
    assert "20 hidden units" in app.status_html.value
    app.controls["target"].value = "step"
    assert "step with 20 hidden units" in app.status_html.value
    before = app.image.value
    app.controls["seed"].value = 5
    assert app.image.value != before
