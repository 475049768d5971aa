"""Every widget in every listed notebook reacts to its controls in a real browser.

Each notebook is opened in JupyterLab in chromium and run from top to bottom; the texts
it promises must be on screen; then every control of every widget is moved once, and
after each move the rendered output (picture pixels or HTML text, never the control's
own readout) must change.

Besides the demo notebook below, every assignment notebook under ``solutions/`` whose
metadata says ``dlcourse.widgets: true`` is driven, expecting the texts listed in its
``dlcourse.browser_texts``. A solution notebook is staged the way a student's release
folder looks: with its visible check files (written for a fixed seed) and, because its
hidden checks run outside the grader here, its specs file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.specs import load_specs
from autograder.specs.cases import write_release_checks

from . import harness

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
STAGE_SEED = 20261123


@dataclass(frozen=True)
class NotebookCase:
    """A notebook to drive, and texts its widgets must show once it has run."""

    path: Path
    expected_texts: tuple[str, ...] = ()


DEMO_NOTEBOOKS = [
    NotebookCase(
        REPO / "tests" / "browser" / "notebooks" / "activations_demo.ipynb",
        # The notebook's sigmoid_forward is a stub and sigmoid is selected first.
        expected_texts=(
            "Using the reference implementation: your sigmoid_forward is not implemented yet.",
        ),
    ),
]


def widget_notebooks() -> list[NotebookCase]:
    """The solution notebooks that declare widgets, with the texts they promise."""
    cases = []
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        meta = nbformat.read(path, as_version=4).metadata.get("dlcourse", {})
        if meta.get("widgets"):
            cases.append(NotebookCase(path, tuple(meta.get("browser_texts", ()))))
    return cases


NOTEBOOKS = DEMO_NOTEBOOKS + widget_notebooks()


def staged(case: NotebookCase, tmp_path: Path) -> Path:
    """The notebook to open: a solution notebook travels in a folder with its checks."""
    specs = case.path.with_name(case.path.stem + ".specs.py")
    if not specs.is_file():
        return case.path
    folder = tmp_path / f"{case.path.parent.name}-{case.path.stem}"
    folder.mkdir()
    shutil.copy(case.path, folder)
    write_release_checks(load_specs(shutil.copy(specs, folder)), folder, STAGE_SEED)
    (folder / harness.STAGE_MARKER).touch()
    return folder / case.path.name


@pytest.mark.parametrize("case", NOTEBOOKS, ids=lambda case: case.path.stem)
def test_every_widget_control_changes_the_rendered_output(page, jupyter_server, case, tmp_path):
    harness.assert_saved_without_outputs(case.path)
    harness.open_notebook(page, jupyter_server, staged(case, tmp_path))
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
