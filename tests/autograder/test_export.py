"""The grades CSV matches ``nbgrader export`` exactly, from the gradebook and from results."""

from __future__ import annotations

import csv
import os
import sys
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin
from reports_fixtures import NOTEBOOK, POINTS

from autograder.job import VerdictStatus
from autograder.reports.export import (
    EXPORT_COLUMNS,
    EXTRA_COLUMNS,
    GradeRow,
    StudentInfo,
    rows_from_gradebook,
    write_grades_csv,
)

# nbgrader's own add_submission trips SQLAlchemy autoflush warnings; they are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
V = VerdictStatus
STUDENTS = {
    "s1": StudentInfo("Ada", "Lovelace", "ada@example.org"),
    "s2": StudentInfo("Alan", "Turing", None),
    "s3": StudentInfo("Grace", "Hopper", "grace@example.org"),
}
#: Autograded points per student on a1 (s3 submits a1 late, and does not submit a0).
AUTO = {
    "s1": {"relu_forward_test": 2.0, "softmax_loss_test": 1.5},
    "s3": {"relu_forward_test": 2.0, "softmax_loss_test": 3.0, "gpu_speed_test": 1.0},
}
DUE = datetime(2024, 3, 1, 17, 0, 0)
STAMPS = {"s1": datetime(2024, 3, 1, 16, 59, 30, 250000), "s3": datetime(2024, 3, 2, 9, 0, 0)}


def _build_gradebook(db_url: str) -> None:
    """A gradebook with two assignments, three students, submissions, grades, a penalty."""
    with Gradebook(db_url) as gb:
        gb.add_assignment("a1", duedate=DUE)
        gb.add_assignment("a0")  # no due date: nbgrader lists it first
        gb.add_notebook(NOTEBOOK, "a1")
        gb.add_notebook("intro", "a0")
        for test_id in ("relu_forward_test", "softmax_loss_test", "gpu_speed_test"):
            gb.add_grade_cell(test_id, NOTEBOOK, "a1", max_score=POINTS[test_id], cell_type="code")
        gb.add_grade_cell("why_relu", NOTEBOOK, "a1", max_score=4.0, cell_type="markdown")
        gb.add_task_cell("plot_losses", NOTEBOOK, "a1", max_score=2.0, cell_type="markdown")
        gb.add_grade_cell("intro_test", "intro", "a0", max_score=1.0, cell_type="code")
        for student_id, info in STUDENTS.items():
            gb.add_student(
                student_id,
                first_name=info.first_name,
                last_name=info.last_name,
                email=info.email,
            )
        for student_id, points in AUTO.items():
            gb.add_submission("a1", student_id, timestamp=STAMPS[student_id])
            for test_id, score in points.items():
                grade = gb.find_grade(test_id, NOTEBOOK, "a1", student_id)
                grade.auto_score = score
            gb.db.commit()
        gb.add_submission("a0", "s1", timestamp=datetime(2024, 2, 1, 12, 0, 0))
        gb.find_grade("intro_test", "intro", "a0", "s1").auto_score = 1.0
        notebook = gb.find_submission_notebook(NOTEBOOK, "a1", "s3")
        notebook.late_submission_penalty = 1.5
        gb.db.commit()


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Built once per module (creating one costs seconds); the tests only read it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('gradebook') / 'gradebook.db'}"
    with pytest.MonkeyPatch.context() as patch:
        # Creating a gradebook runs the `alembic` command from PATH; it is beside this Python.
        bin_dir = str(Path(sys.executable).parent)
        patch.setenv("PATH", os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
        _build_gradebook(url)
    return url


def _nbgrader_export(db_url: str, path: Path, **filters: list[str]) -> str:
    with Gradebook(db_url) as gb:
        CsvExportPlugin(to=str(path), **filters).export(gb)
    return path.read_text()


def _nbgrader_columns(text: str) -> str:
    """Our file without the columns we add after nbgrader's (no field here holds a comma)."""
    return "".join(line.rsplit(",", len(EXTRA_COLUMNS))[0] + "\n" for line in text.splitlines())


def test_gradebook_export_is_identical_to_nbgrader_export(tmp_path: Path, gradebook: str) -> None:
    theirs = _nbgrader_export(gradebook, tmp_path / "nbgrader.csv")
    ours = write_grades_csv(rows_from_gradebook(gradebook), tmp_path / "ours.csv").read_text()
    assert _nbgrader_columns(ours) == theirs
    # The comparison is not vacuous: every student of both assignments, scores and penalty.
    lines = theirs.splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    assert len(lines) == 1 + 2 * 3
    assert "a1,2024-03-01 17:00:00,2024-03-02 09:00:00,s3,Hopper,Grace," in theirs
    assert ",6.0,1.5,4.5,12.0" in theirs


def test_one_assignment_matches_nbgrader_export_filtered(tmp_path: Path, gradebook: str) -> None:
    theirs = _nbgrader_export(gradebook, tmp_path / "nbgrader.csv", assignment=["a1"])
    ours = write_grades_csv(rows_from_gradebook(gradebook, "a1"), tmp_path / "ours.csv")
    assert _nbgrader_columns(ours.read_text()) == theirs


def test_points_awaiting_a_person_and_the_lms_id_follow_nbgrader_columns(
    tmp_path: Path, gradebook: str
) -> None:
    rows = {(r.assignment, r.student_id): r for r in rows_from_gradebook(gradebook)}
    # s1 on a1: relu and softmax autograded; gpu_speed_test (1), why_relu (4) and the task
    # plot_losses (2) have no score yet: 7 of the 12 points await a person.
    assert rows["a1", "s1"].points_to_grade_by_hand == 7.0
    assert rows["a1", "s3"].points_to_grade_by_hand == 6.0  # gpu_speed_test was scored
    assert rows["a1", "s2"].points_to_grade_by_hand == 0.0  # nothing submitted
    text = write_grades_csv(rows.values(), tmp_path / "g.csv").read_text()
    assert text.splitlines()[0].endswith(",max_score,lms_user_id,points_to_grade_by_hand")


def test_unknown_assignment_is_a_clear_error(gradebook: str) -> None:
    with pytest.raises(ValueError, match=r"'a9' is not in the gradebook \(it has: a0, a1\)"):
        rows_from_gradebook(gradebook, "a9")


def test_missing_gradebook_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no gradebook at"):
        rows_from_gradebook(f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()


def test_a_comma_in_a_name_is_quoted_so_the_file_still_parses(tmp_path: Path) -> None:
    row = GradeRow("a1", None, None, "s1", "Smith, Jr.", 'Ann "Al"', None, 1.0, 0.0, 1.0, 2.0)
    path = write_grades_csv([row], tmp_path / "grades.csv")
    with path.open(newline="") as handle:
        parsed = list(csv.reader(handle))
    assert parsed == [list(EXPORT_COLUMNS + EXTRA_COLUMNS), row.fields()]
    assert parsed[1][4:6] == ["Smith, Jr.", 'Ann "Al"']
