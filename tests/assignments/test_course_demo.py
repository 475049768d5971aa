"""The main job on the real course: every assignment of course.toml, end to end.

``make demo`` is what an instructor runs; this test runs the same pipeline on the
repository's own course in a temporary folder: a fresh term, release with every proof
(solutions earn every autograded point, blanks earn zero, each solution runs top to
bottom within its budget in a real kernel, no leak, deterministic grading), then the
synthetic class of every assignment graded in the sandbox. Each student's expected score
comes from the course files, not from the grader: the reference earns the sum of the
notebooks' autograded points, the blank and the attacks earn 0, and each partial
student of ``course/synthetic/<a>/*.toml`` loses exactly the points of the tests it
names as failing.

The release's proof (d) is the one run of each solution top to bottom per test run: a
fresh ``python3`` kernel with the full course library, in a folder holding the notebook,
its visible check files and its specs file; every cell, widgets included, must run
without an error within the notebook's runtime budget.
:func:`test_solution_notebook_runs_top_to_bottom` reads that proof's verdict for each
solution, rather than running the notebook a second time; only a GPU notebook, which the
release leaves to a GPU runner, is run here instead.

An attack that scores is a failure, except where the machine has neither bubblewrap nor
an unprivileged job uid, so nothing could hide the graded sources: the demo prints that
as a warning, and the attack test is an ``xfail`` naming the attacks, never a pass.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from autograder.instructor.config import load_course
from autograder.instructor.demo import run_demo
from autograder.instructor.proof import AWAITING_GPU
from autograder.instructor.synthetic_files import read_partials
from autograder.instructor.top_to_bottom import run_top_to_bottom
from autograder.intake import load_template
from autograder.pipeline import cuda_visible
from autograder.specs import load_specs
from autograder.specs.cases import write_release_checks

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))
SEED = 20261123  # visible checks for a notebook this test runs itself
RUN_TIMEOUT_S = 300  # generous: a guard against a hung kernel, not a speed requirement


def _autograded_points(assignment) -> dict[str, float]:
    """Points per autograded test of the notebooks this machine grades: a notebook that
    needs a GPU runner is awaiting one here when there is no GPU, and counts nowhere."""
    return {
        test_id: points
        for notebook in assignment.notebooks
        if cuda_visible() or not notebook.needs_gpu
        for test_id, points in load_template(
            assignment.notebook_path(notebook)
        ).autograded_points.items()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    lines: list[str] = []
    out = tmp_path_factory.mktemp("course-demo") / "demo"
    result = run_demo(REPO, out=out, workers=2, progress=False, echo=lines.append)
    return result, "\n".join(lines)


def test_every_assignment_is_released_with_every_proof(demo):
    result, printed = demo
    course = load_course(REPO / "course" / "course.toml")
    assert result.release is not None and result.release.ok, printed
    for assignment in course.assignments:
        assert f"{assignment.name}: released to" in printed
        for notebook in assignment.notebooks:
            if notebook.needs_gpu and not cuda_visible():
                assert f"note {notebook.name}: {AWAITING_GPU}" in printed, printed
            else:
                assert f"note {notebook.name}: proved:" in printed, printed


def test_every_synthetic_student_earns_the_score_the_course_files_predict(demo):
    result, printed = demo
    course = load_course(REPO / "course" / "course.toml")
    got = {(item.assignment, item.student.student_id): item.got for item in result.outcomes}
    for assignment in course.assignments:
        points = _autograded_points(assignment)
        full = math.fsum(points.values())
        expected = {"reference": full, "blank": 0.0}
        for partial in read_partials(REPO, assignment.name):
            lost = math.fsum(points.get(test_id, 0.0) for test_id in partial.failing)
            assert 0 < lost < full, f"{partial.student_id} must lose some points, not all"
            expected[partial.student_id] = full - lost
        assert len(expected) > 2, f"{assignment.name} has no partial students"
        for student, score in expected.items():
            assert got[(assignment.name, student)] == pytest.approx(score), (student, printed)
    assert result.exit_code == 0, printed


def test_every_attack_earns_zero(demo):
    result, printed = demo
    course = load_course(REPO / "course" / "course.toml")
    exposed = []
    for assignment in course.assignments:
        attackers = [
            item for item in result.outcomes
            if item.assignment == assignment.name and item.student.kind == "adversarial"
        ]  # fmt: skip
        assert attackers, f"the synthetic class of {assignment.name} has no attacks"
        for item in attackers:
            if item.exposed:
                exposed.append(f"{item.assignment}/{item.student.student_id}")
                assert f"WARNING: {item.student.student_id} read the graded sources" in printed
                continue
            assert item.got == 0.0, (item.student.student_id, printed)
    if exposed:
        # Checked as far as this machine allows; the gap is shown, never passed as green.
        pytest.xfail(
            f"attacks scored because neither bubblewrap nor an unprivileged job uid "
            f"isolated them on this machine: {', '.join(exposed)} (install bubblewrap)"
        )


def test_every_solution_notebook_is_an_assignment_of_the_course():
    course = load_course(REPO / "course" / "course.toml")
    listed = {(a.name, notebook.name) for a in course.assignments for notebook in a.notebooks}
    found = {(path.parent.name, path.stem) for path in NOTEBOOKS}
    assert found, "no notebooks under solutions/"
    assert found - listed == set(), "solutions that course.toml does not list (never proved)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_solution_notebook_runs_top_to_bottom(demo, notebook: Path, tmp_path: Path):
    result, printed = demo
    assert result.release is not None
    (release,) = [
        item for item in result.release.assignments if item.assignment == notebook.parent.name
    ]
    failures = [reason for name, reason in release.failures if name == notebook.stem]
    assert failures == [], f"{notebook.relative_to(REPO)}: {failures}"
    notes = [note for name, note in release.notes if name == notebook.stem]
    if notes == [AWAITING_GPU]:
        # The release proves a GPU notebook on a GPU runner only, so it never ran here:
        # run it top to bottom once now, as a student would on the CPU.
        shutil.copy(notebook, tmp_path)
        specs = shutil.copy(notebook.with_name(f"{notebook.stem}.specs.py"), tmp_path)
        write_release_checks(load_specs(specs), tmp_path, SEED)
        run = run_top_to_bottom(tmp_path, notebook.stem, budget_s=RUN_TIMEOUT_S)
        assert run.failure is None, f"{notebook.relative_to(REPO)}: {run.failure}"
        return
    assert any("top to bottom in" in note for note in notes), (notes, printed)
