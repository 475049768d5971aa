"""Interactive widgets for the course notebooks.

Every widget follows the pattern of :mod:`dlcourse.widgets.base`: controls feed a pure
``compute`` whose state ``draw`` paints; text results live in HTML widget values. The
explorers themselves live in one module each (``dlcourse.widgets.activations``, ...).
"""

from dlcourse.widgets.base import REFERENCE_PREFIX, Resolved, WidgetApp, figure_to_png, resolve_impl

__all__ = ["REFERENCE_PREFIX", "Resolved", "WidgetApp", "figure_to_png", "resolve_impl"]
