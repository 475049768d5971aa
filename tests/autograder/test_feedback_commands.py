"""What students and course teams are shown, through the real commands on a real grading:
the cause of import-time failures, a missing notebook, the late penalty, the points still
to be graded by hand, and rounded points (the sandboxed grader on the fixture notebook)."""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.instructor.term_report import AssignmentSummary, render

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
ASSIGNMENT = "mini"
TERM = {
    "seed": 11,
    "late_policy": {"late_penalty_per_day": 0.3, "max_late_days": 3},
    "assignments": {ASSIGNMENT: {"release": "2026-01-01", "due": "2026-01-10"}},
}
LATE_STAMP = "2026-01-11 12:00:00.000000 UTC"  # 1 started day after 2026-01-10 23:59:59


def _text(html: str) -> str:
    """The page's visible text, whitespace collapsed."""

    class Text(HTMLParser):
        parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.parts = []
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Graded once: a late solution, an answer importing the reference, a missing notebook."""
    root = tmp_path_factory.mktemp("feedback") / "course"
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name in ("mini.ipynb", "mini.specs.py"):
        shutil.copy(FIXTURE / name, source)
    (root / "term.json").write_text(json.dumps(TERM), encoding="utf-8")
    submitted = root / "submitted"
    late = submitted / "late" / ASSIGNMENT
    late.mkdir(parents=True)
    shutil.copy(FIXTURE / "mini.ipynb", late)
    (late / "timestamp.txt").write_text(LATE_STAMP, encoding="utf-8")
    importer = submitted / "importer" / ASSIGNMENT
    importer.mkdir(parents=True)
    notebook = nbformat.read(FIXTURE / "mini.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu_forward":
            cell.source = "from dlcourse.functional.activations import relu_forward"
    nbformat.write(notebook, importer / "mini.ipynb")
    absent = submitted / "absent" / ASSIGNMENT
    absent.mkdir(parents=True)
    (absent / "notes.txt").write_text("forgot the notebook", encoding="utf-8")
    args = ["--nbgrader-root", str(root)]
    assert main(["grade", ASSIGNMENT, *args, "--workers", "2", "--no-progress"]) == 0
    assert main(["feedback", ASSIGNMENT, *args]) == 0
    return root


def _page(course: Path, student: str) -> str:
    return _text((course / "feedback" / student / ASSIGNMENT / "mini.html").read_text())


def test_import_time_failures_are_said_first_with_their_cells(course):
    page = _page(course, "importer")
    top = page.split("Autograded tests", 1)[0]
    assert (
        "ReferenceNotAvailableError in “1. Activations” (relu_forward): your code imports "
        "dlcourse.functional.activations.relu_forward, a course reference that is not "
        "available while grading" in top
    )
    assert "NameError in “1. Activations” (relu_forward_test)" in top
    assert "uses relu_forward without a definition" in top


def test_a_missing_notebook_is_said_first_and_its_rows_say_not_submitted(course, capsys):
    page = _page(course, "absent")
    assert page.index("This notebook was not in your submission") < page.index("Score:")
    assert "not submitted" in page and "NotImplementedError" not in page
    capsys.readouterr()
    assert main(["report", ASSIGNMENT, "--nbgrader-root", str(course)]) == 0
    assert "2 more are graded by hand" in capsys.readouterr().out
    with open(course / "reports" / ASSIGNMENT / "passrates.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # importer and absent fail relu_forward_test; only the absent one counts as missing.
    relu = next(row for row in rows if row["test_id"] == "relu_forward_test")
    assert (relu["passed"], relu["missing"]) == ("1", "2")  # importer recorded nothing too
    sigmoid = next(row for row in rows if row["test_id"] == "sigmoid_forward_test")
    assert (sigmoid["passed"], sigmoid["missing"], sigmoid["failed"]) == ("2", "1", "0")


def test_the_late_penalty_and_the_hand_graded_points_are_on_the_page(course):
    page = _page(course, "late")
    assert "Due 2026-01-10 23:59 UTC; submitted 2026-01-11 12:00 UTC, late" in page
    # 17 autograded points, 1 started day at 0.3 a day: 5.1 off.
    assert "late penalty 5.1 points, score 17 before the penalty and 11.9 after" in page
    assert "Score: 11.9 / 19" in page
    assert "2 of the 19 points are graded by hand and are not in this score yet" in page


def test_grades_csv_rounds_points_and_says_what_awaits_a_person(course):
    assert main(["export", "--nbgrader-root", str(course)]) == 0
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    late = rows["late"]
    assert (late["raw_score"], late["late_submission_penalty"], late["score"]) == (
        "17.0", "5.1", "11.9"
    )  # fmt: skip
    assert late["points_to_grade_by_hand"] == "2.0"


def test_the_term_report_says_which_points_are_graded_by_hand():
    summary = AssignmentSummary("a1", 81.0, 18.0, totals={"s1": 63.0})
    page = _text(render("dl", "2027", [summary], datetime(2027, 1, 1, tzinfo=timezone.utc)))
    assert "out of 81, of which 18 are graded by hand and are not in these scores" in page
    assert "(the autograded maximum is 63)" in page
