"""The widget pattern without a browser: implementation lookup and the control wiring."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcourse.widgets import REFERENCE_PREFIX, WidgetApp, figure_to_png, resolve_impl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def reference_double(x):
    return 2 * x


def probe_double(candidate):
    return candidate(np.ones(3))


# --------------------------------------------------------------------- resolve_impl


def test_resolve_impl_uses_the_students_working_function():
    def double(x):
        return x + x

    resolved = resolve_impl("double", {"double": double}, reference_double, probe_double)
    assert resolved.impl is double
    assert resolved.is_student
    assert resolved.notice == ""


def test_resolve_impl_falls_back_with_notice_when_student_raises_not_implemented():
    def double(x):
        raise NotImplementedError

    resolved = resolve_impl("double", {"double": double}, reference_double, probe_double)
    assert resolved.impl is reference_double
    assert not resolved.is_student
    assert resolved.notice == f"{REFERENCE_PREFIX}your double is not implemented yet."


def test_resolve_impl_falls_back_when_the_name_is_undefined_or_no_namespace_given():
    for namespace in ({}, None, {"other": reference_double}):
        resolved = resolve_impl("double", namespace, reference_double, probe_double)
        assert resolved.impl is reference_double
        assert not resolved.is_student
        assert resolved.notice.startswith(REFERENCE_PREFIX)
        assert "double is not defined" in resolved.notice


def test_resolve_impl_names_the_error_of_a_student_function_that_crashes():
    def double(x):
        raise ValueError("shapes do not match")

    resolved = resolve_impl("double", {"double": double}, reference_double, probe_double)
    assert resolved.impl is reference_double
    assert "ValueError: shapes do not match" in resolved.notice


def test_resolve_impl_refuses_a_non_callable_in_place_of_a_function():
    resolved = resolve_impl("double", {"double": 3}, reference_double, probe_double)
    assert resolved.impl is reference_double
    assert "is a int, not a function" in resolved.notice


def test_resolve_impl_calls_the_probe_with_the_students_candidate():
    seen = []

    def double(x):
        return 2 * x

    resolve_impl("double", {"double": double}, reference_double, probe=seen.append)
    assert seen == [double]


# ------------------------------------------------------------------------ WidgetApp


@dataclass(frozen=True)
class LineState:
    slope: float
    label: str


class LineApp(WidgetApp[LineState]):
    """A minimal app: a line y = slope * x, its slope in the status text."""

    figsize = (2.0, 1.5)

    def make_controls(self):
        return {
            "slope": widgets.FloatSlider(value=1.0, min=-3.0, max=3.0),
            "label": widgets.Dropdown(options=["a", "b"], value="a"),
        }

    def compute(self, slope, label):
        if slope == 3.0:
            raise ValueError("slope 3 is not allowed")
        return LineState(slope=slope, label=label)

    def draw(self, state, fig):
        ax = fig.subplots()
        ax.plot([0, 1], [0, state.slope])
        ax.set_title(state.label)

    def describe(self, state):
        return f"slope <{state.slope}>"

    def notice(self, state):
        return "notice b" if state.label == "b" else ""


def test_render_draws_once_and_fills_image_and_status():
    app = LineApp()
    root = app.render()
    assert isinstance(root, widgets.VBox)
    assert bytes(app.image.value).startswith(PNG_SIGNATURE)
    # The text goes through html.escape: the angle brackets must not become tags.
    assert "slope &lt;1.0&gt;" in app.status_html.value
    assert app.notice_html.value == ""
    assert app.render() is root


def test_moving_a_control_recomputes_state_image_and_text():
    app = LineApp()
    app.render()
    before = bytes(app.image.value)
    app.controls["slope"].value = -2.0
    assert app.state == LineState(slope=-2.0, label="a")
    assert bytes(app.image.value) != before
    assert "slope &lt;-2.0&gt;" in app.status_html.value
    app.controls["label"].value = "b"
    assert "notice b" in app.notice_html.value


def test_an_error_in_compute_is_shown_in_the_status_and_clears_the_stale_image():
    app = LineApp()
    app.render()
    app.controls["slope"].value = 3.0
    assert "ValueError: slope 3 is not allowed" in app.status_html.value
    assert "The plot is cleared" in app.status_html.value
    # The picture of the previous setting must not stand under the new one.
    assert bytes(app.image.value) == b"" and app.state is None
    app.controls["slope"].value = 1.0
    assert bytes(app.image.value).startswith(b"\x89PNG")


def test_values_maps_control_names_to_current_values():
    app = LineApp()
    app.controls["slope"].value = 0.5
    assert app.values() == {"slope": 0.5, "label": "a"}


def test_app_displays_as_a_widget_view():
    bundle = LineApp()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_figure_to_png_returns_png_bytes():
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [1, 0])
    assert figure_to_png(fig).startswith(PNG_SIGNATURE)


def test_widget_app_cannot_be_instantiated_without_compute():
    with pytest.raises(TypeError):
        WidgetApp()


@dataclass(frozen=True)
class NoticeState:
    notice: str


class NoticeApp(WidgetApp[NoticeState]):
    """An app whose state carries its own notice, as the course's apps do."""

    figsize = (2.0, 1.5)

    def make_controls(self):
        return {"which": widgets.Dropdown(options=["mine", "reference"], value="mine")}

    def compute(self, which):
        return NoticeState(notice="" if which == "mine" else "Using the reference sigmoid")

    def draw(self, state, fig):
        fig.subplots().plot([0, 1], [0, 1])


def test_a_state_with_a_notice_field_shows_it_without_an_override():
    app = NoticeApp()
    app.render()
    assert app.notice_html.value == ""
    app.controls["which"].value = "reference"
    assert "Using the reference sigmoid" in app.notice_html.value
    # A state without one has no notice.
    assert WidgetApp.notice(LineApp(), LineState(slope=1.0, label="a")) == ""
