"""Every solution notebook has what it needs to run top to bottom as a student's would.

The run itself happens once per test run, in the release's own top-to-bottom proof
(:mod:`autograder.instructor.top_to_bottom`) during the course demo:
``tests/assignments/test_course_demo.py::test_solution_notebook_runs_top_to_bottom``
reads its verdict for each solution (a fresh ``python3`` kernel with the full library,
the visible check files and the specs file; every cell, widgets included, without an
error and within the notebook's runtime budget). Running each solution again here
would double the slowest part of the suite and prove nothing more.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))


def _specs_path(notebook: Path) -> Path:
    return notebook.with_name(notebook.stem + ".specs.py")


def test_every_solution_notebook_has_its_specs_file() -> None:
    assert NOTEBOOKS, "no notebooks under solutions/"
    missing = [str(nb.relative_to(REPO)) for nb in NOTEBOOKS if not _specs_path(nb).is_file()]
    assert missing == [], f"solution notebooks without a <name>.specs.py beside them: {missing}"
