"""``report`` and ``collect-lms``: the pass-rate table, the histogram, the LMS front door."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest
from driver_fakes import ASSIGNMENT, NOTEBOOKS, STUDENTS, PreparedExecutor, make_course

from autograder import api
from autograder.cli import main
from autograder.gradebook_writer import GradebookWriter


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course graded once by the prepared executor (no sandbox: these tests read results)."""
    root = tmp_path_factory.mktemp("reports")
    course = make_course(root / "course")
    GradebookWriter(f"sqlite:///{course / 'gradebook.db'}").close()
    with PreparedExecutor() as executor:
        api.grade(ASSIGNMENT, course, executor=executor, progress=False)
    return course


def test_report_writes_a_row_per_test_and_a_png_histogram(graded_course, capsys):
    assert main(["report", ASSIGNMENT, "--nbgrader-root", str(graded_course)]) == 0
    out = graded_course / "reports" / ASSIGNMENT
    with open(out / "passrates.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # Every test of every notebook appears once, each counted over every student.
    assert len(rows) == len({(r["notebook"], r["test_id"]) for r in rows})
    assert {r["notebook"] for r in rows} == set(NOTEBOOKS)
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert f"{len(STUDENTS)} student(s)" in printed
    assert (out / "passrates.txt").read_text().strip() in printed


def _lms_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_collect_lms_places_notebooks_and_exits_1_when_someone_must_look(tmp_path, capsys):
    course = make_course(tmp_path / "course", students=())
    notebook = (course / "source" / ASSIGNMENT / f"{NOTEBOOKS[0]}.ipynb").read_bytes()
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id\n111,s01\n222,s02\n", encoding="utf-8")
    archive = _lms_zip(
        tmp_path / "download.zip",
        {
            f"doejane_111_9001_{NOTEBOOKS[0]}.ipynb": notebook,
            f"roeric_999_9002_{NOTEBOOKS[0]}.ipynb": notebook,  # not on the roster
        },
    )
    args = ["collect-lms", str(archive), ASSIGNMENT, "--nbgrader-root", str(course)]
    assert main([*args, "--roster", str(roster)]) == 1
    placed = course / "submitted" / "s01" / ASSIGNMENT / f"{NOTEBOOKS[0]}.ipynb"
    assert placed.read_bytes() == notebook
    captured = capsys.readouterr()
    assert "unmatched LMS id 999" in captured.out
    assert captured.err.startswith("error: 1 entries were not imported")  # says why it exits 1


def test_collect_lms_names_a_missing_roster_and_exits_2(tmp_path, capsys):
    course = make_course(tmp_path / "course", students=())
    archive = _lms_zip(tmp_path / "download.zip", {"x_1_2_a.ipynb": b"{}"})
    code = main(
        [
            "collect-lms",
            str(archive),
            ASSIGNMENT,
            "--nbgrader-root",
            str(course),
            "--roster",
            "nope.csv",
        ]
    )
    assert code == 2
    assert "nope.csv" in capsys.readouterr().err


def test_report_on_a_course_without_results_still_draws_an_empty_histogram(tmp_path):
    course = make_course(tmp_path / "course")
    files = api.report(ASSIGNMENT, course)
    assert files.students == 0
    assert files.histogram_png.stat().st_size > 0
    shutil.rmtree(files.histogram_png.parent)


def test_the_roster_reaches_grades_csv_with_the_points_awaiting_a_person(tmp_path, capsys):
    course = make_course(tmp_path / "course", students=())
    notebooks = {
        name: (course / "source" / ASSIGNMENT / f"{name}.ipynb").read_bytes() for name in NOTEBOOKS
    }
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "lms_id,student_id,first_name,last_name,email\n"
        "111,s01,Ada,Lovelace,ada@example.org\n222,s02,Alan,Turing,\n",
        encoding="utf-8",
    )
    entries = {f"lovelace_111_900{i}_{n}.ipynb": b for i, (n, b) in enumerate(notebooks.items())}
    # An ordinary resubmission (Canvas's -1 suffix) is not a problem: exit 0.
    entries[f"lovelace_111_9009_{NOTEBOOKS[0]}-1.ipynb"] = notebooks[NOTEBOOKS[0]]
    archive = _lms_zip(tmp_path / "download.zip", entries)
    args = ["collect-lms", str(archive), ASSIGNMENT, "--nbgrader-root", str(course)]
    assert main([*args, "--roster", str(roster)]) == 0
    assert "1 older upload(s) replaced by a newer one" in capsys.readouterr().out
    with PreparedExecutor() as executor:
        api.grade(ASSIGNMENT, course, executor=executor, progress=False)
    assert main(["export", "--nbgrader-root", str(course)]) == 0
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    ada, alan = rows["s01"], rows["s02"]
    assert (ada["first_name"], ada["last_name"], ada["email"]) == (
        "Ada", "Lovelace", "ada@example.org"
    )  # fmt: skip
    assert (ada["lms_user_id"], alan["lms_user_id"], alan["email"]) == ("111", "222", "")
    # Each notebook has a written answer (4) and a task (1) that no person has scored yet.
    assert float(ada["points_to_grade_by_hand"]) == 2 * (4 + 1)
    assert float(alan["points_to_grade_by_hand"]) == 0  # nothing submitted
