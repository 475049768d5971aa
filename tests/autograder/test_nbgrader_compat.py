"""Ordinary nbgrader assignments grade exactly as stock ``nbgrader autograde`` grades them.

Each course (see :mod:`nbgrader_compat_course`) is laid out twice and graded once per
side: by nbgrader's own ``generate_assignment`` + ``autograde``, and by ours. The two
gradebooks are then read through nbgrader's ``Gradebook`` API, the one formgrader and
``nbgrader export`` use, and must agree cell by cell.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from nbgrader.api import Gradebook
from nbgrader_compat_course import (
    DELETED_CELLS,
    DELETED_STUDENT,
    USER_GUIDE,
    build_course,
    nbgrader_app,
    stock_autograde,
)

from autograder import api
from autograder.course_layout import CourseLayout
from autograder.driver import load_templates
from autograder.job import JobResult
from autograder.journal import Journal
from autograder.reports.feedback import IN_PROCESS, render_feedback

pytestmark = pytest.mark.slow


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module", params=["ps1", "fixtures"])
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(assignment, stock course, our course), each graded once."""
    assignment = request.param
    stock = build_course(tmp_path_factory.mktemp(f"stock-{assignment}"), assignment)
    ours = build_course(tmp_path_factory.mktemp(f"ours-{assignment}"), assignment)
    stock_autograde(stock, assignment)
    summary = api.grade(assignment, ours, progress=False)  # no check() tests: no seed
    assert (summary.errors, summary.timeouts) == (0, 0), summary.results
    return assignment, stock, ours


def cell_rows(course: Path, assignment: str) -> dict[tuple[str, str, str], tuple]:
    """Every grade and comment row of the assignment's submissions, by (student,
    notebook, cell): what formgrader shows and ``nbgrader export`` sums."""
    rows: dict[tuple[str, str, str], tuple] = {}
    with Gradebook(db_url(course)) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                student, name = submission.student_id, notebook.name
                rows[student, name, "late penalty"] = (notebook.late_submission_penalty,)
                for grade in notebook.grades:
                    rows[student, name, f"grade {grade.name}"] = (
                        grade.auto_score,
                        grade.manual_score,
                        grade.needs_manual_grade,
                    )
                for comment in notebook.comments:
                    rows[student, name, f"comment {comment.name}"] = (comment.auto_comment,)
    return rows


def formgrader_rows(rows: list[dict[str, Any]], key: str = "student") -> list[dict[str, Any]]:
    """Formgrader's dicts less the random row ids and the student who deleted test
    cells (the one deliberate difference, checked cell by cell above), in a fixed order."""
    kept = [
        {k: v for k, v in row.items() if k != "id" or key == "id"}
        for row in rows
        if row[key] != DELETED_STUDENT
    ]
    return sorted(kept, key=lambda row: sorted((k, str(v)) for k, v in row.items()))


def test_every_cell_scores_and_is_flagged_as_under_stock_nbgrader(graded: Any) -> None:
    """One deliberate difference: a test cell the student deleted. Stock nbgrader leaves
    it ungraded for a human; ours restores it from the source and grades it, so it
    scores as it does for the student who kept it (``changed``, the same answers)."""
    assignment, stock, ours = graded
    expected = cell_rows(stock, assignment)
    got = cell_rows(ours, assignment)
    assert len(expected) > 10 and got.keys() == expected.keys()
    for cell in DELETED_CELLS:
        key = (DELETED_STUDENT, "p1", f"grade {cell}")
        if key in expected:
            assert expected.pop(key) == (None, None, True)  # stock: for a human
            assert got.pop(key) == got[("changed", "p1", f"grade {cell}")]
    assert got == expected


def test_formgraders_gradebook_api_reads_our_results_as_stock_ones(graded: Any) -> None:
    assignment, stock, ours = graded
    views = []
    for course in (stock, ours):
        with Gradebook(db_url(course)) as gradebook:
            notebooks = [nb.name for nb in gradebook.find_assignment(assignment).notebooks]
            views.append(
                {
                    "submissions": formgrader_rows(gradebook.submission_dicts(assignment)),
                    "students": formgrader_rows(gradebook.student_dicts(), "id"),
                    **{
                        name: formgrader_rows(gradebook.notebook_submission_dicts(name, assignment))
                        for name in notebooks
                    },
                }
            )
    assert views[1] == views[0]


def test_the_documentation_course_totals_are_nbgraders_own(graded: Any) -> None:
    assignment, stock, ours = graded
    if assignment != "ps1":
        pytest.skip("the documentation's totals are for ps1")
    # The scores nbgrader's documentation publishes for its example course.
    with (USER_GUIDE / "grades.csv").open(newline="") as handle:
        published = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)}
    for course in (stock, ours):
        with Gradebook(db_url(course)) as gradebook:
            totals = {s.student_id: s.score for s in gradebook.assignment_submissions("ps1")}
            assert {s.max_score for s in gradebook.assignment_submissions("ps1")} == {13.0}
        assert totals == published == {"bitdiddle": 1.5, "hacker": 3.0}


def test_plain_tests_are_marked_as_in_process_verdicts(graded: Any) -> None:
    assignment, _, ours = graded
    journal = Journal(ours / "autograder" / "results")
    results = [entry for _, entry in journal.entries(assignment) if isinstance(entry, JobResult)]
    verdicts = [verdict for result in results for verdict in result.verdicts]
    assert verdicts and all(verdict.in_process for verdict in verdicts)
    templates = load_templates(CourseLayout.open(ours), assignment)
    page = render_feedback(results[0], templates[results[0].notebook])
    assert IN_PROCESS in page


def test_nbgrader_generate_and_release_feedback_work_on_our_gradebook(
    graded: Any, tmp_path: Path
) -> None:
    assignment, _, ours = graded
    nbgrader_app(ours, "generate_feedback", assignment)
    students = sorted(path.name for path in (ours / "submitted").iterdir())
    notebooks = sorted(path.stem for path in (ours / "source" / assignment).glob("*.ipynb"))
    pages = sorted(path.relative_to(ours) for path in (ours / "feedback").rglob("*.html"))
    assert pages == sorted(
        Path("feedback", student, assignment, f"{name}.html")
        for student in students
        for name in notebooks
    )
    # The page shows the gradebook's score of the notebook (nbgrader's GetGrades).
    with Gradebook(db_url(ours)) as gradebook:
        notebook = gradebook.find_submission_notebook(notebooks[0], assignment, students[0])
        expected = f"Score: {notebook.score} / {notebook.max_score}"
    page = (ours / "feedback" / students[0] / assignment / f"{notebooks[0]}.html").read_text()
    assert expected in page
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader_app(
        ours,
        "release_feedback",
        assignment,
        f"--Exchange.root={exchange}",
        "--CourseDirectory.course_id=compat",
    )
    released = list((exchange / "compat" / "feedback").glob("*.html"))
    assert len(released) == len(students) * len(notebooks)
