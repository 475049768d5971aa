"""The pattern every course widget follows: controls -> pure ``compute`` -> ``draw``.

A widget app separates three things so that its logic can be tested without a browser:

- ``make_controls()`` declares the ipywidgets controls (sliders, dropdowns, toggles),
  keyed by the keyword names ``compute`` takes.
- ``compute(**values)`` is a pure function of the control values. It returns a *state*:
  a dataclass of numbers, arrays and strings. Tests call it directly.
- ``draw(state, fig)`` paints the state onto a fresh matplotlib ``Figure``.

``render()`` wires them together. The figure is rasterised into an ``ipywidgets.Image``
and any text goes into ``ipywidgets.HTML`` values, never through an ``Output`` widget:
both the browser and a test can read an HTML value, while text printed into an Output
widget only exists as a side effect of a kernel message.

``resolve_impl`` lets a widget run the student's own function when it exists and works
on a tiny probe input, and otherwise falls back to the reference with a visible notice.
"""

from __future__ import annotations

import html
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

StateT = TypeVar("StateT")
ImplT = TypeVar("ImplT")

REFERENCE_PREFIX = "Using the reference implementation: "
WITHHELD_MARK = "__dlcourse_withheld__"
"""Set by the student edition on a reference it leaves out: the assignment it belongs to."""


class StudentCodeFailure(Exception):
    """A student's function failed inside a widget; the message names the function and
    says what it did (``"your tanh_backward returned None"``), ready to show as is."""


@dataclass(frozen=True)
class Resolved(Generic[ImplT]):
    """Which implementation a widget runs, and the notice that tells the student why.

    ``impl`` is the function (or pair of functions) to call; ``is_student`` says whether
    it came from the student's namespace; ``notice`` is empty for the student's code and
    a one-line explanation when the reference stands in.
    """

    impl: ImplT
    is_student: bool
    notice: str = ""


def resolve_impl(
    name: str,
    namespace: Mapping[str, object] | None,
    fallback: ImplT,
    probe: Callable[[Any], object] | None = None,
) -> Resolved[ImplT]:
    """Return the student's ``namespace[name]`` if it works, else ``fallback`` with a notice.

    ``namespace`` is typically the notebook's ``globals()``. The student's object is used
    when it is defined, callable (or not a function at all when ``fallback`` is not
    callable, e.g. a pair) and ``probe(candidate)`` returns without raising. ``probe``
    should call the candidate on a tiny input; without one, the candidate is not called.

    A ``NotImplementedError`` from the probe means the student has not written the
    function yet; any other exception means it does not run on the probe input. Either
    way the reference is used, and the notice says which case it was, so the widget
    keeps working while the student sees that it is not their code on screen.
    """
    prefix = _fallback_prefix(fallback)
    candidate = None if namespace is None else namespace.get(name)
    if candidate is None:
        return Resolved(fallback, False, f"{prefix}{name} is not defined yet.")
    if callable(fallback) and not callable(candidate):
        kind = type(candidate).__name__
        return Resolved(fallback, False, f"{prefix}your {name} is a {kind}, not a function.")
    if probe is not None:
        try:
            probe(candidate)
        except NotImplementedError:
            return Resolved(fallback, False, f"{prefix}your {name} is not implemented yet.")
        except StudentCodeFailure as error:  # the probe's own check of what came back
            return Resolved(fallback, False, f"{prefix}{error} on a small input.")
        except Exception as error:  # any failure means "do not use it"
            reason = f"{type(error).__name__}: {error}"
            return Resolved(
                fallback, False, f"{prefix}your {name} raised {reason} on a small input."
            )
    return Resolved(candidate, True)


def _fallback_prefix(fallback: object) -> str:
    """The notice's start: the reference stands in, or (in the student edition, which
    leaves it out) nothing can, and the student's function is missing."""
    parts = fallback if isinstance(fallback, tuple) else (fallback,)
    for part in parts:
        assignment = getattr(part, WITHHELD_MARK, None)
        if assignment:
            return (
                f"Your function is missing (the student edition has no reference for "
                f"assignment {assignment}; write it to see this widget work): "
            )
    return REFERENCE_PREFIX


def figure_to_png(fig: Figure, dpi: int = 90) -> bytes:
    """Rasterise a matplotlib figure to PNG bytes without touching pyplot's global state.

    An Agg canvas is attached explicitly, so no GUI backend and no inline display hook is
    involved: the figure appears only where the returned bytes are put.
    """
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class WidgetApp(ABC, Generic[StateT]):
    """Base class of the course widgets; see the module docstring for the pattern.

    Subclasses implement ``make_controls``, ``compute`` and ``draw``, and may override
    ``describe`` (a text summary of the state) and ``notice`` (e.g. a fallback notice).
    Display an app in a notebook with ``display(app.render())`` or as a cell's last
    expression.
    """

    figsize: tuple[float, float] = (9.0, 3.2)

    def __init__(self) -> None:
        self.controls: dict[str, widgets.ValueWidget] = self.make_controls()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.notice_html = widgets.HTML(value="")
        self.status_html = widgets.HTML(value="")
        self.state: StateT | None = None
        self._root: widgets.VBox | None = None

    # ----------------------------------------------------------- what subclasses write

    @abstractmethod
    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Return the controls, keyed by the keyword name ``compute`` takes for each."""

    @abstractmethod
    def compute(self, **values: Any) -> StateT:
        """Return the state for these control values; pure, so tests can call it."""

    @abstractmethod
    def draw(self, state: StateT, fig: Figure) -> None:
        """Paint ``state`` onto the empty figure ``fig``."""

    def describe(self, state: StateT) -> str:
        """Return a plain-text summary of the state, shown under the plot."""
        return ""

    def notice(self, state: StateT) -> str:
        """Return a plain-text notice shown above the controls (empty: none).

        By default the state's own ``notice`` field, where it has one: the apps record
        there which of the student's functions a reference stands in for.
        """
        return str(getattr(state, "notice", ""))

    # ------------------------------------------------------------------------ wiring

    def values(self) -> dict[str, Any]:
        """Return the current value of every control, keyed like ``compute``'s arguments."""
        return {key: control.value for key, control in self.controls.items()}

    def update(self, change: object = None) -> StateT | None:
        """Recompute from the controls and refresh the image and texts.

        An exception (for instance from a student's function on an input the probe did
        not cover) is shown in the status line instead of being raised: inside a widget
        callback it would otherwise vanish into the browser console. The picture is
        cleared then, so a plot of the previous setting is never shown under the new one.
        """
        try:
            state = self.compute(**self.values())
            fig = Figure(figsize=self.figsize)
            self.draw(state, fig)
            png = figure_to_png(fig)
        except Exception as error:  # reported to the student instead
            text = str(error) if isinstance(error, StudentCodeFailure) else None
            message = html.escape(text or f"{type(error).__name__}: {error}")
            self.status_html.value = (
                f'<span class="dlcourse-error">Error: {message}. The plot is cleared until '
                "this setting can be drawn.</span>"
            )
            self.image.value = b""
            self.notice_html.value = ""
            self.state = None
            return None
        self.state = state
        self.image.value = png
        self.status_html.value = _paragraph(self.describe(state))
        self.notice_html.value = _paragraph(self.notice(state), style="color: #b35900;")
        return state

    def render(self) -> widgets.VBox:
        """Return the app as one widget, built once and updated on every control change."""
        if self._root is None:
            for control in self.controls.values():
                control.observe(self.update, names="value")
            self.update()
            controls = widgets.HBox(
                list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")
            )
            self._root = widgets.VBox([self.notice_html, controls, self.image, self.status_html])
        return self._root

    def _repr_mimebundle_(self, **kwargs: Any) -> dict | None:
        """Let a bare ``app`` as a cell's last expression display the rendered widget."""
        return self.render()._repr_mimebundle_(**kwargs)


def _paragraph(text: str, style: str = "") -> str:
    """Return ``text`` as escaped HTML (empty text stays empty so nothing takes space)."""
    if not text:
        return ""
    return f'<div style="{style}">{html.escape(text)}</div>'
