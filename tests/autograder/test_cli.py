"""``python -m autograder``: exit statuses, messages that name the fix, the summary line."""

from __future__ import annotations

import csv
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from driver_fakes import ASSIGNMENT, NOTEBOOKS, STUDENTS, PreparedExecutor, make_course

from autograder import api
from autograder.cli import build_parser, main
from autograder.driver import grade_assignment
from autograder.gradebook_writer import GradebookWriter

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def blank_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty gradebook file, made once: creating one runs nbgrader's ``alembic`` (slow)."""
    path = tmp_path_factory.mktemp("blank") / "gradebook.db"
    GradebookWriter(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def course(tmp_path: Path, blank_gradebook: Path) -> Path:
    course = make_course(tmp_path / "course")
    shutil.copyfile(blank_gradebook, course / "gradebook.db")
    return course


@pytest.fixture
def graded_course(course: Path) -> Path:
    """A course whose every job is already settled in the journal and the gradebook."""
    grade_assignment(course, ASSIGNMENT, executor=PreparedExecutor(), progress=False)
    return course


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_course_directory_exits_2_naming_it_and_the_option(tmp_path: Path, capsys):
    missing = tmp_path / "nowhere"
    code, _, err = run_main(capsys, "grade", ASSIGNMENT, "--nbgrader-root", str(missing))
    assert code == 2
    assert str(missing) in err and "--nbgrader-root DIR" in err


def test_folder_without_source_is_not_taken_for_a_course(tmp_path: Path, capsys):
    code, _, err = run_main(capsys, "grade", ASSIGNMENT, "--nbgrader-root", str(tmp_path))
    assert code == 2 and "no source/ folder" in err


def test_missing_term_seed_exits_2_naming_both_ways_to_give_it(course: Path, capsys):
    (course / "term.json").unlink()
    code, _, err = run_main(capsys, "grade", ASSIGNMENT, "--nbgrader-root", str(course))
    assert code == 2
    assert "--term-seed N" in err and str(course / "term.json") in err


def test_malformed_term_file_exits_2(course: Path, capsys):
    (course / "term.json").write_text(json.dumps({"seed": "twelve"}))
    code, _, err = run_main(capsys, "grade", ASSIGNMENT, "--nbgrader-root", str(course))
    assert code == 2 and "must be an integer" in err


def test_unknown_assignment_exits_2_listing_the_known_ones(course: Path, capsys):
    code, _, err = run_main(capsys, "grade", "hw9", "--nbgrader-root", str(course))
    assert code == 2
    assert "unknown assignment 'hw9'" in err and "assignments found: hw1" in err


def test_unknown_student_exits_2(course: Path, capsys):
    code, _, err = run_main(
        capsys, "grade", ASSIGNMENT, "--nbgrader-root", str(course), "--student", "ghost"
    )
    assert code == 2 and "student 'ghost' has no submission" in err


def test_workers_and_scheduler_together_are_a_usage_error(course: Path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["grade", ASSIGNMENT, "--workers", "2", "--scheduler", "tcp://x:8786"])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_settled_course_exits_0_with_the_summary_line_last(graded_course: Path, capsys):
    code, out, _ = run_main(
        capsys, "grade", ASSIGNMENT, "--nbgrader-root", str(graded_course), "--no-progress"
    )
    lines = out.strip().splitlines()
    assert code == 0
    jobs = len(STUDENTS) * len(NOTEBOOKS)
    # Nothing was graded by this run: the summary does not count the unchanged as graded.
    assert lines[-1] == f"graded 0 · unchanged {jobs} · errors 0 · timeouts 0 · awaiting GPU 0"
    assert lines[0] == f"{jobs} unchanged since the last run (not regraded)"


def test_grader_errors_exit_1_and_name_the_job(course: Path, capsys):
    # Specs that cannot load are the course team's bug: the pipeline reports ERROR.
    for name in NOTEBOOKS:
        (course / "source" / ASSIGNMENT / f"{name}.specs.py").write_text("raise RuntimeError\n")
    code, out, err = run_main(
        capsys,
        "grade",
        ASSIGNMENT,
        "--nbgrader-root",
        str(course),
        "--student",
        "s01",
        "--workers",
        "1",
        "--no-progress",
    )
    assert code == 1
    assert out.strip().splitlines()[-1] == "graded 0 · errors 2 · timeouts 0 · awaiting GPU 0"
    named = [line for line in err.splitlines() if line.startswith("error: hw1/s01/part1: ")]
    assert len(named) == 1 and "Traceback" not in named[0]  # the gist, not a traceback header
    # The exit status has its own line: what failed, and that a rerun grades only those.
    assert "error: 2 notebook(s) could not be graded" in err.splitlines()[-1]


def test_gpu_work_left_exits_3_from_a_real_process(tmp_path: Path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so nothing would be left awaiting one")
    course = make_course(tmp_path / "course", needs_gpu=True)  # fresh gradebook: no copy
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # the venv's bin (alembic) not on PATH
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--nbgrader-root", str(course)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == (
        "graded 0 · errors 0 · timeouts 0 · awaiting GPU 8"
    )
    assert "note: 8 notebook(s) need a GPU and were not graded here" in done.stderr


def test_export_writes_nbgrader_csv_and_refuses_unknown_assignments(
    graded_course: Path, tmp_path: Path, capsys
):
    target = tmp_path / "grades.csv"
    code, out, _ = run_main(
        capsys, "export", ASSIGNMENT, "--nbgrader-root", str(graded_course), "--to", str(target)
    )
    assert code == 0 and str(target) in out
    with open(target, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(row["student_id"] for row in rows) == list(STUDENTS)
    code, _, err = run_main(capsys, "export", "hw9", "--nbgrader-root", str(graded_course))
    assert code == 2 and "'hw9' is not in the gradebook" in err


def test_feedback_writes_a_page_per_graded_notebook(graded_course: Path, capsys):
    code, out, _ = run_main(
        capsys, "feedback", ASSIGNMENT, "--nbgrader-root", str(graded_course), "--student", "s01"
    )
    assert code == 0 and "wrote 2 feedback page(s)" in out
    for name in NOTEBOOKS:
        assert (graded_course / "feedback" / "s01" / ASSIGNMENT / f"{name}.html").is_file()


def test_command_line_defaults_are_the_api_defaults():
    args = build_parser().parse_args(["grade", ASSIGNMENT])
    signature = inspect.signature(api.grade).parameters
    assert args.nbgrader_root == signature["course_dir"].default
    assert args.workers == signature["workers"].default
    assert args.progress == signature["progress"].default
    assert args.only_ungraded == signature["only_ungraded"].default
    export = build_parser().parse_args(["export"])
    assert export.assignment == inspect.signature(api.export).parameters["assignment"].default


def test_both_command_lines_share_their_grading_options_with_one_meaning():
    from autograder.instructor.cli import build_parser as instructor_parser

    shared = ["--nbgrader-root", "ws", "--student", "s1", "--only-ungraded", "--workers", "3"]
    grader = build_parser().parse_args(["grade", ASSIGNMENT, *shared, "--regrade"])
    instructor = instructor_parser().parse_args(["grade", ASSIGNMENT, *shared, "--regrade"])
    for args in (grader, instructor):
        assert (args.nbgrader_root, args.students, args.workers) == ("ws", ["s1"], 3)
        assert args.only_ungraded and args.regrade and args.progress
    assert build_parser().parse_args(["regrade", ASSIGNMENT]).regrade
    assert not build_parser().parse_args(["grade", ASSIGNMENT]).regrade
    # --course is only ever the repository root, given before the instructor's command.
    assert instructor_parser().parse_args(["--course", "repo", "check-sync"]).course == "repo"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["grade", ASSIGNMENT, "--course", "repo"])
