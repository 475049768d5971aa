"""Every solution notebook runs top to bottom in a real Jupyter kernel, as a student's would.

The grader's own proofs (``autograder.instructor.release``) run the notebooks in the
sandbox, where the reference library is replaced by stubs, so a demonstration or widget
cell that uses the references cannot show its result there. This test runs each source
notebook the way a student runs the released one, with the release's own top-to-bottom
proof (:func:`run_top_to_bottom`): a fresh ``python3`` kernel, in a folder holding the
notebook, its visible check files (written for a fixed seed, as the release writes them)
and its specs file (which ``check_hidden`` needs outside the grader). Every cell must run
without an error, widgets included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.instructor.top_to_bottom import run_top_to_bottom
from autograder.specs import load_specs
from autograder.specs.cases import write_release_checks

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))
SEED = 20261123
RUN_TIMEOUT_S = 300  # generous: a guard against a hung kernel, not a speed requirement


def _specs_path(notebook: Path) -> Path:
    return notebook.with_name(notebook.stem + ".specs.py")


def test_every_solution_notebook_has_its_specs_file() -> None:
    assert NOTEBOOKS, "no notebooks under solutions/"
    missing = [str(nb.relative_to(REPO)) for nb in NOTEBOOKS if not _specs_path(nb).is_file()]
    assert missing == [], f"solution notebooks without a <name>.specs.py beside them: {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_solution_notebook_runs_top_to_bottom(notebook: Path, tmp_path: Path) -> None:
    shutil.copy(notebook, tmp_path)
    specs = shutil.copy(_specs_path(notebook), tmp_path)
    write_release_checks(load_specs(specs), tmp_path, SEED)
    run = run_top_to_bottom(tmp_path, notebook.stem, budget_s=RUN_TIMEOUT_S)
    assert run.failure is None, f"{notebook.relative_to(REPO)}: {run.failure}"
