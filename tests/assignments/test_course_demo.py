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
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from autograder.instructor.config import load_course
from autograder.instructor.demo import run_demo
from autograder.instructor.synthetic_files import read_partials
from autograder.intake import load_template
from autograder.pipeline import autograded_tests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _autograded_points(assignment) -> dict[str, float]:
    return {
        test_id: points
        for notebook in assignment.notebooks
        for test_id, points in autograded_tests(load_template(assignment.notebook_path(notebook)))
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
    assert result.release_ok, printed
    for assignment in course.assignments:
        assert f"{assignment.name}: released to" in printed
        for notebook in assignment.notebooks:
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
            lost = math.fsum(points[test_id] for test_id in partial.failing)
            assert 0 < lost < full, f"{partial.student_id} must lose some points, not all"
            expected[partial.student_id] = full - lost
        assert len(expected) > 2, f"{assignment.name} has no partial students"
        for student, score in expected.items():
            assert got[(assignment.name, student)] == pytest.approx(score), (student, printed)
        attackers = [
            item for item in result.outcomes
            if item.assignment == assignment.name and item.student.kind == "adversarial"
        ]  # fmt: skip
        assert attackers, "the synthetic class has no attacks"
        for item in attackers:
            if item.exposed:
                continue  # no bubblewrap and no job uid: reported as a warning, not judged
            assert item.got == 0.0, (item.student.student_id, printed)
    assert result.exit_code == 0, printed
