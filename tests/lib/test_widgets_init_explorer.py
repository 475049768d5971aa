"""The initialization explorer: student/reference resolution, compute, draw and texts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcourse.exercises.a2.initialization import kaiming_std as reference_kaiming_std
from dlcourse.exercises.a2.initialization import xavier_scales as reference_xavier_scales
from dlcourse.widgets.base import REFERENCE_PREFIX
from dlcourse.widgets.init_explorer import InitExplorer, diagnose, resolve_scales


def _xavier(fan_in, fan_out):
    return np.sqrt(2.0 / (fan_in + fan_out)), np.sqrt(6.0 / (fan_in + fan_out))


def _kaiming(fan_in, negative_slope):
    return np.sqrt(2.0 / (1.0 + negative_slope**2)) / np.sqrt(fan_in)


def test_reference_scales_match_the_formulas():
    std, bound = reference_xavier_scales(100, 300)
    assert std == pytest.approx(math.sqrt(2.0 / 400))
    assert bound == pytest.approx(math.sqrt(6.0 / 400))
    assert reference_kaiming_std(50, 0.0) == pytest.approx(math.sqrt(2.0 / 50))
    assert reference_kaiming_std(50, 0.2) == pytest.approx(math.sqrt(2.0 / 1.04) / math.sqrt(50))


def test_working_student_functions_are_used_without_notice():
    scales = resolve_scales({"xavier_scales": _xavier, "kaiming_std": _kaiming})
    assert scales.xavier is _xavier
    assert scales.kaiming is _kaiming
    assert scales.notice == ""


def test_missing_and_unfinished_functions_fall_back_with_a_notice():
    def unfinished(fan_in, negative_slope):
        raise NotImplementedError

    scales = resolve_scales({"kaiming_std": unfinished})
    assert scales.xavier is reference_xavier_scales
    assert scales.kaiming is reference_kaiming_std
    assert scales.notice.startswith(REFERENCE_PREFIX)
    assert "xavier_scales is not defined yet" in scales.notice
    assert "kaiming_std is not implemented yet" in scales.notice


def test_a_function_returning_a_negative_std_is_set_aside():
    scales = resolve_scales({"kaiming_std": lambda fan_in, negative_slope: -1.0})
    assert scales.kaiming is reference_kaiming_std
    assert "kaiming_std raised ValueError" in scales.notice


def test_the_student_std_reaches_the_experiment():
    # A student's Kaiming that is off by a factor 2 must show up as the weight std.
    doubled = {"kaiming_std": lambda fan_in, negative_slope: 2 * _kaiming(fan_in, negative_slope)}
    state = InitExplorer(namespace=doubled).compute(
        depth=3, width=128, activation="relu", init="kaiming"
    )
    assert state.weight_std == pytest.approx(2 * math.sqrt(2.0 / 128))


def test_compute_returns_one_summary_per_layer_and_fixed_stds():
    app = InitExplorer()
    state = app.compute(depth=5, width=128, activation="tanh", init=0.05)
    assert state.weight_std == 0.05
    assert [s.layer for s in state.stats] == [1, 2, 3, 4, 5]
    assert state.means.shape == state.stds.shape == (5,)
    assert np.all(state.stds > 0)
    xavier = app.compute(depth=2, width=256, activation="tanh", init="xavier")
    assert xavier.weight_std == pytest.approx(1 / 16)


def test_compute_is_cached_per_setting():
    app = InitExplorer()
    first = app.compute(depth=3, width=128, activation="relu", init="kaiming")
    assert app.compute(depth=3, width=128, activation="relu", init="kaiming") is first


def test_diagnose_labels():
    app = InitExplorer()
    collapse = app.compute(depth=6, width=256, activation="tanh", init=0.01)
    assert diagnose(collapse.stats) == "activations collapse toward zero"
    saturated = app.compute(depth=6, width=1024, activation="tanh", init=0.1)
    assert diagnose(saturated.stats).startswith("activations saturate")
    stable = app.compute(depth=6, width=256, activation="relu", init="kaiming")
    assert diagnose(stable.stats) == "activations keep their scale"
    exploding = app.compute(depth=6, width=256, activation="linear", init=0.2)
    assert diagnose(exploding.stats) == "activations explode"


def test_draw_makes_a_histogram_per_layer_and_a_statistics_panel():
    app = InitExplorer()
    state = app.compute(depth=4, width=128, activation="relu", init="xavier")
    fig = Figure()
    app.draw(state, fig)
    assert len(fig.axes) == 4 + 1
    assert [ax.get_title() for ax in fig.axes[:4]] == [f"layer {i}" for i in range(1, 5)]


def test_render_shows_the_default_collapse_and_a_notice_without_namespace():
    app = InitExplorer()
    app.render()
    assert "activations collapse toward zero" in app.status_html.value
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert REFERENCE_PREFIX.strip() in app.notice_html.value


def test_changing_a_control_updates_the_text():
    app = InitExplorer(namespace={"xavier_scales": _xavier, "kaiming_std": _kaiming})
    app.render()
    assert app.notice_html.value == ""
    app.controls["width"].value = 128
    app.controls["activation"].value = "relu"
    app.controls["init"].value = "kaiming"
    assert "activations keep their scale" in app.status_html.value
    assert app.state is not None and app.state.width == 128
