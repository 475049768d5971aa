"""Every widget in every listed notebook reacts to its controls in a real browser.

Each notebook is opened in JupyterLab in chromium and run from top to bottom; the texts
it promises must be on screen; then every control of every widget is moved once, and
after each move the rendered output (picture pixels or HTML text, never the control's
own readout) must change. Add an assignment notebook to ``NOTEBOOKS`` to put its
widgets under the same test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from . import harness

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class NotebookCase:
    """A notebook to drive, and texts its widgets must show once it has run."""

    path: Path
    expected_texts: tuple[str, ...] = ()


NOTEBOOKS = [
    NotebookCase(
        REPO / "tests" / "browser" / "notebooks" / "activations_demo.ipynb",
        # The notebook's sigmoid_forward is a stub and sigmoid is selected first.
        expected_texts=(
            "Using the reference implementation: your sigmoid_forward is not implemented yet.",
        ),
    ),
]


@pytest.mark.parametrize("case", NOTEBOOKS, ids=lambda case: case.path.stem)
def test_every_widget_control_changes_the_rendered_output(page, jupyter_server, case):
    harness.assert_saved_without_outputs(case.path)
    harness.open_notebook(page, jupyter_server, case.path)
    harness.run_all_cells(page)

    outputs = harness.widget_outputs(page)
    assert outputs, f"{case.path.name} displayed no widget with a control"
    shown = " ".join(
        " ".join(output.locator(harness.TEXT_SELECTOR).all_inner_texts()) for output in outputs
    )
    for text in case.expected_texts:
        assert text in shown, f"{text!r} is not on screen; the widgets show {shown!r}"

    for number, output in enumerate(outputs):
        controls = harness.find_controls(output)
        assert controls, f"widget {number} of {case.path.name} lost its controls"
        for control in controls:
            what = f"{control.describe()} of widget {number} in {case.path.name}"
            before = harness.settle(page, output)
            harness.change_control(control)
            harness.wait_for_change(output, before, what)
