"""The gradebook writer against a real nbgrader gradebook in SQLite and nbgrader's own apps."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from driver_fakes import (
    ASSIGNMENT,
    MAX_SCORE,
    NOTEBOOKS,
    TERM_SEED,
    dump_gradebook,
    make_course,
    prepared_result,
)
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from autograder.course_layout import CourseLayout
from autograder.driver import load_templates
from autograder.gradebook_writer import GradebookMismatch, GradebookWriter
from autograder.intake import NotebookTemplate, template_from_notebook
from autograder.job import JobResult, JobStatus, VerdictStatus
from autograder.job import TestVerdict as Verdict  # not collected as a test class
from autograder.result_check import ResultRefused

BIN = Path(sys.executable).parent


def nbgrader(course: Path, *args: str) -> None:
    """Run a real ``nbgrader`` app in the course directory."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def blank_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty gradebook file, made once: creating one runs nbgrader's ``alembic`` (slow)."""
    path = tmp_path_factory.mktemp("blank") / "gradebook.db"
    GradebookWriter(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gradebook of ``nbgrader generate_assignment`` run on the test course, made once."""
    theirs = make_course(tmp_path_factory.mktemp("theirs") / "course", students=())
    nbgrader(theirs, "generate_assignment", ASSIGNMENT, "--force")
    return theirs / "gradebook.db"


@pytest.fixture
def course(tmp_path: Path, blank_gradebook: Path) -> Path:
    course = make_course(tmp_path / "course", students=("s01", "s02"))
    shutil.copyfile(blank_gradebook, course / "gradebook.db")
    return course


@pytest.fixture
def templates(course: Path) -> dict[str, NotebookTemplate]:
    return load_templates(CourseLayout.open(course), ASSIGNMENT)


@pytest.fixture
def writer(course: Path, templates):
    with GradebookWriter(db_url(course)) as opened:
        opened.ensure_assignment(ASSIGNMENT, templates)
        yield opened


def result_for(
    student: str, notebook: str, points: dict[str, float], status: JobStatus = JobStatus.GRADED
) -> JobResult:
    verdicts = [
        Verdict(test_id, VerdictStatus.PARTIAL, value, 99.0) for test_id, value in points.items()
    ]
    return JobResult(ASSIGNMENT, notebook, student, status, 0.0, 0.0, verdicts=verdicts)


def grades(course: Path, student: str, notebook: str) -> dict[str, tuple]:
    """cell name -> (auto_score, manual_score, needs_manual_grade) for one notebook."""
    rows = dump_gradebook(db_url(course))["grade"]
    return {
        row[3]: (row[5], row[6], bool(row[8]))
        for row in rows
        if row[1] == student and row[2] == notebook
    }


def raw_rows(course: Path) -> dict[str, list[tuple]]:
    """Every row of every table, ids included: equal only if nothing at all changed."""
    engine = create_engine(db_url(course))
    with engine.connect() as connection:
        tables = [
            row[0]
            for row in connection.execute(text("select name from sqlite_master where type='table'"))
        ]
        dump = {
            table: sorted(map(tuple, connection.execute(text(f"select * from {table}"))), key=repr)
            for table in tables
        }
    engine.dispose()
    return dump


def test_new_assignment_gets_the_rows_nbgrader_generate_assignment_creates(
    course: Path, templates, generated: Path
):
    with GradebookWriter(db_url(course)) as writer:
        writer.ensure_assignment(ASSIGNMENT, templates)
    assert dump_gradebook(db_url(course)) == dump_gradebook(f"sqlite:///{generated}")


def test_assignment_created_by_nbgrader_is_used_as_is(course: Path, templates, generated: Path):
    shutil.copyfile(generated, course / "gradebook.db")
    before = raw_rows(course)
    with GradebookWriter(db_url(course)) as writer:
        writer.ensure_assignment(ASSIGNMENT, templates)
        writer.write(result_for("s01", "part1", {"test_relu": 2.0}), templates["part1"])
    after = raw_rows(course)
    for table in ("assignment", "notebook", "base_cell", "grade_cells", "source_cell"):
        assert after[table] == before[table], table
    assert grades(course, "s01", "part1")["test_relu"] == (2.0, None, False)


def test_points_changed_in_the_source_are_refused_with_the_fix(course: Path, templates):
    with GradebookWriter(db_url(course)) as writer:
        writer.ensure_assignment(ASSIGNMENT, templates)
    notebook = templates["part1"]
    changed_nb = {
        "cells": [cell.node() for cell in notebook.cells],
        "metadata": notebook.metadata,
        "nbformat": 4,
        "nbformat_minor": notebook.nbformat_minor,
    }
    changed_nb["cells"][3]["metadata"]["nbgrader"]["points"] = 5
    changed = template_from_notebook(changed_nb)
    with GradebookWriter(db_url(course)) as writer:
        with pytest.raises(GradebookMismatch) as caught:
            writer.ensure_assignment(ASSIGNMENT, {"part1": changed})
    message = str(caught.value)
    assert "'test_relu' is worth 2.0 points, source says 5.0" in message
    assert "nbgrader generate_assignment hw1 --force" in message


def test_result_sets_auto_scores_and_leaves_manual_and_task_grades_for_a_human(
    course: Path, writer, templates
):
    writer.write(result_for("s01", "part1", {"test_relu": 1.5}), templates["part1"])
    assert grades(course, "s01", "part1") == {
        "test_relu": (1.5, None, False),
        "test_softmax": (0.0, None, False),  # no verdict: zero
        "explain": (None, None, True),
        "task_plot": (None, None, True),
    }
    # the submission mirrors every notebook of the assignment, as nbgrader's does
    assert grades(course, "s01", "part2")["test_relu"] == (None, None, True)


def test_maximum_score_comes_from_the_template_not_the_result(course: Path, writer, templates):
    claimed = result_for("s01", "part1", {"test_relu": 2.0})
    claimed.max_score = 999.0
    writer.write(claimed, templates["part1"])
    with Gradebook(db_url(course), course_id="") as gradebook:
        submitted = gradebook.find_submission_notebook("part1", ASSIGNMENT, "s01")
        assert submitted.max_score == MAX_SCORE
        assert submitted.score == 2.0


def test_writing_the_same_result_twice_changes_no_row(course: Path, writer, templates):
    job = CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED)[0]
    result = JobResult.from_dict(prepared_result(job))
    stamp = datetime(2024, 3, 1, 17, 0)
    writer.write(result, templates["part1"], timestamp=stamp)
    first = raw_rows(course)
    writer.write(result, templates["part1"], timestamp=stamp)
    assert raw_rows(course) == first
    # SQLite keeps nbgrader's naive UTC datetimes as text with microseconds
    assert dump_gradebook(db_url(course))["submission"] == [
        (ASSIGNMENT, "s01", "2024-03-01 17:00:00.000000")
    ]


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ({"explain": 1.0}, "unknown test 'explain'"),  # a manual cell is not autograded
        ({"test_nope": 1.0}, "unknown test 'test_nope'"),
        ({"test_relu": 2.5}, "outside 0..2.0"),
        ({"test_relu": -0.5}, "outside 0..2.0"),
    ],
)
def test_invalid_result_is_refused_and_writes_nothing(course, writer, templates, points, problem):
    before = raw_rows(course)
    with pytest.raises(ResultRefused, match=problem):
        writer.write(result_for("s01", "part1", points), templates["part1"])
    assert raw_rows(course) == before


def test_result_with_a_test_reported_twice_is_refused(course, writer, templates):
    result = result_for("s01", "part1", {"test_relu": 1.0})
    result.verdicts.append(result.verdicts[0])
    with pytest.raises(ResultRefused, match="more than one verdict"):
        writer.write(result, templates["part1"])


def test_awaiting_a_gpu_leaves_the_gradebook_alone(course, writer, templates):
    writer.write(result_for("s01", "part1", {"test_relu": 2.0}), templates["part1"])
    before = raw_rows(course)
    status = JobStatus.AWAITING_GPU
    assert not writer.write(result_for("s01", "part1", {}, status), templates["part1"])
    assert not writer.write(result_for("s02", "part1", {}, status), templates["part1"])
    assert raw_rows(course) == before
    assert not writer.has_submission(ASSIGNMENT, "s02")


def test_an_error_withdraws_the_earlier_score_and_flags_it_for_review(course, writer, templates):
    writer.write(result_for("s01", "part1", {"test_relu": 2.0}), templates["part1"])
    error = result_for("s01", "part1", {}, JobStatus.ERROR)
    assert not writer.write(error, templates["part1"])
    with Gradebook(db_url(course), course_id="") as gradebook:
        grade = gradebook.find_grade("test_relu", "part1", ASSIGNMENT, "s01")
        assert grade.auto_score is None and grade.needs_manual_grade
    before = raw_rows(course)
    assert not writer.write(error, templates["part1"])  # replaying it changes nothing
    assert not writer.write(result_for("s02", "part1", {}, JobStatus.ERROR), templates["part1"])
    assert raw_rows(course) == before
    assert not writer.has_submission(ASSIGNMENT, "s02")


def test_a_human_score_is_kept_and_a_changed_auto_score_flags_it_for_review(
    course, writer, templates
):
    writer.write(result_for("s01", "part1", {"test_relu": 1.0}), templates["part1"])
    with Gradebook(db_url(course), course_id="") as gradebook:
        grade = gradebook.find_grade("test_relu", "part1", ASSIGNMENT, "s01")
        grade.manual_score = 2.0
        grade.needs_manual_grade = False
        gradebook.db.commit()
    writer.write(result_for("s01", "part1", {"test_relu": 1.0}), templates["part1"])
    assert grades(course, "s01", "part1")["test_relu"] == (1.0, 2.0, False)
    writer.write(result_for("s01", "part1", {"test_relu": 0.5}), templates["part1"])
    assert grades(course, "s01", "part1")["test_relu"] == (0.5, 2.0, True)


def test_nbgrader_export_shows_the_written_scores(course: Path, writer, templates):
    writer.write(
        result_for("s01", "part1", {"test_relu": 2.0, "test_softmax": 1.5}), templates["part1"]
    )
    writer.write(result_for("s01", "part2", {"test_relu": 0.5}), templates["part2"])
    writer.write(
        result_for("s02", "part1", {"test_relu": 0.0, "test_softmax": 3.0}),
        templates["part1"],
        timestamp=datetime(2024, 3, 2, 9, 30),
    )
    writer.close()
    nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as stream:
        rows = {row["student_id"]: row for row in csv.DictReader(stream)}
    assert set(rows) == {"s01", "s02"}
    assert float(rows["s01"]["raw_score"]) == 4.0
    assert float(rows["s02"]["raw_score"]) == 3.0
    assert rows["s02"]["timestamp"] == "2024-03-02 09:30:00"
    for row in rows.values():
        assert row["assignment"] == ASSIGNMENT
        assert float(row["max_score"]) == MAX_SCORE * len(NOTEBOOKS)


def test_unopenable_database_url_is_a_configuration_error_naming_the_option():
    from autograder.course import CourseError

    with pytest.raises(CourseError, match="--db URL"):
        GradebookWriter("nosuchdialect://x")


def comments(course: Path, student: str, notebook: str) -> dict[str, str | None]:
    with Gradebook(db_url(course), course_id="") as gradebook:
        submitted = gradebook.find_submission_notebook(notebook, ASSIGNMENT, student)
        return {comment.name: comment.auto_comment for comment in submitted.comments}


def test_answers_left_as_released_score_and_say_no_response_as_nbgrader_does(
    course: Path, writer, templates
):
    result = result_for("s01", "part1", {"test_relu": 2.0})
    result.unchanged_answers = ["explain", "relu"]
    writer.write(result, templates["part1"])
    # a written answer left blank scores 0 without review (nbgrader's determine_grade)
    assert grades(course, "s01", "part1")["explain"] == (0.0, None, False)
    assert grades(course, "s01", "part1")["task_plot"] == (None, None, True)
    said = comments(course, "s01", "part1")
    assert said["explain"] == said["relu"] == "No response."
    assert said["task_plot"] is None  # tasks never get it
    # answered later: back to a human, and the comment goes
    result.unchanged_answers = []
    writer.write(result, templates["part1"])
    assert grades(course, "s01", "part1")["explain"] == (None, None, True)
    assert set(comments(course, "s01", "part1").values()) == {None}


def test_a_missing_notebook_scores_zero_everywhere_as_nbgrader_does(
    course: Path, writer, templates
):
    result = result_for("s01", "part1", {})
    result.intake = {"status": "missing"}
    writer.write(result, templates["part1"])
    assert set(grades(course, "s01", "part1").values()) == {(0.0, None, False)}


class HalfOffPlugin:
    """A late-submission plugin as nbgrader calls one; remembers its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def late_submission_penalty(self, student_id: str, score: float, seconds_late: float):
        self.calls.append((student_id, score, seconds_late))
        return score / 2


def test_a_late_plugin_is_called_with_the_gradebooks_due_date_as_nbgrader_calls_it(
    course: Path, writer, templates
):
    due = datetime(2024, 3, 1, 12, 0)
    writer.ensure_assignment(ASSIGNMENT, templates, duedate=due)
    plugin = HalfOffPlugin()
    on_time = result_for("s01", "part1", {"test_relu": 2.0})
    writer.write(on_time, templates["part1"], timestamp=due, late_plugin=plugin)
    late = result_for("s02", "part1", {"test_relu": 2.0})
    writer.write(
        late, templates["part1"], timestamp=datetime(2024, 3, 1, 13, 0), late_plugin=plugin
    )
    assert plugin.calls == [("s02", 2.0, 3600.0)]
    with Gradebook(db_url(course), course_id="") as gradebook:
        penalties = {
            student: gradebook.find_submission_notebook(
                "part1", ASSIGNMENT, student
            ).late_submission_penalty
            for student in ("s01", "s02")
        }
    assert penalties == {"s01": None, "s02": 1.0}


def test_a_late_resubmission_ending_in_error_withdraws_the_score_without_pricing_it(
    course: Path, writer, templates
):
    due = datetime(2024, 3, 1, 12, 0)
    writer.ensure_assignment(ASSIGNMENT, templates, duedate=due)
    plugin = HalfOffPlugin()
    late = datetime(2024, 3, 1, 13, 0)
    writer.write(result_for("s01", "part1", {"test_relu": 2.0}), templates["part1"],
                 timestamp=late, late_plugin=plugin)  # fmt: skip
    errored = result_for("s01", "part1", {}, status=JobStatus.ERROR)
    assert writer.write(errored, templates["part1"], timestamp=late, late_plugin=plugin) is False
    assert plugin.calls == [("s01", 2.0, 3600.0)]  # the ERROR is not priced
    with Gradebook(db_url(course), course_id="") as gradebook:
        notebook = gradebook.find_submission_notebook("part1", ASSIGNMENT, "s01")
        relu = next(grade for grade in notebook.grades if grade.name == "test_relu")
        assert (relu.auto_score, relu.needs_manual_grade) == (None, True)
        assert notebook.late_submission_penalty is None
