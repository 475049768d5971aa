"""The driver: single writer, resumable, journal first, gradebook repaired by replay."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from driver_fakes import (
    ASSIGNMENT,
    NOTEBOOKS,
    STUDENTS,
    TERM_SEED,
    PreparedExecutor,
    add_submission,
    dump_gradebook,
    journal_dump,
    make_course,
    prepared_result,
)

from autograder.course import CourseError
from autograder.course_layout import CourseLayout
from autograder.driver import (
    EXIT_AWAITING_GPU,
    EXIT_ERRORS,
    EXIT_OK,
    grade_assignment,
    workspace_lock,
)
from autograder.gradebook_writer import GradebookWriter
from autograder.job import JobResult, JobStatus
from autograder.journal import Journal

HERE = Path(__file__).parent
ALL_JOBS = [(student, notebook) for student in STUDENTS for notebook in NOTEBOOKS]


@pytest.fixture(scope="module")
def blank_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty gradebook file, made once: creating one runs nbgrader's ``alembic`` (slow)."""
    path = tmp_path_factory.mktemp("blank") / "gradebook.db"
    GradebookWriter(f"sqlite:///{path}").close()
    return path


def new_course(root: Path, blank_gradebook: Path, **options) -> Path:
    course = make_course(root, **options)
    shutil.copyfile(blank_gradebook, course / "gradebook.db")
    return course


@pytest.fixture
def course(tmp_path: Path, blank_gradebook: Path) -> Path:
    return new_course(tmp_path / "course", blank_gradebook)


def db(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def grade(course: Path, executor: PreparedExecutor, **options):
    return grade_assignment(course, ASSIGNMENT, executor=executor, progress=False, **options)


def auto_scores(course: Path, student: str, notebook: str) -> dict[str, float | None]:
    return {
        row[3]: row[5]
        for row in dump_gradebook(db(course))["grade"]
        if row[1] == student and row[2] == notebook
    }


def test_first_run_grades_every_job_into_journal_and_gradebook(course: Path):
    summary = grade(course, PreparedExecutor())
    assert summary.line == "graded 7 · errors 0 · timeouts 1 · awaiting GPU 0"
    assert summary.exit_code == EXIT_OK
    journal = Journal(course / "autograder" / "results")
    jobs = CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED)
    assert len(jobs) == len(ALL_JOBS)
    for job in jobs:
        entry = journal.get(job)
        assert entry is not None and entry.fingerprint == job.fingerprint()
        expected = {v["test_id"]: v["points"] for v in prepared_result(job)["verdicts"]}
        scores = auto_scores(course, job.student_id, job.notebook)
        assert scores == {
            "test_relu": expected.get("test_relu", 0.0),
            "test_softmax": expected.get("test_softmax", 0.0),
            "explain": None,
            "task_plot": None,
        }


def test_new_workspace_is_ignored_by_git_in_a_course_repository(course: Path):
    grade(course, PreparedExecutor())
    repo = subprocess.run(["git", "init", "-q", str(course)], capture_output=True)
    if repo.returncode != 0:
        pytest.skip("git is not available")
    ignored = subprocess.run(
        ["git", "-C", str(course), "check-ignore", "-q", "autograder/results/hw1/s01/part1.json"]
    )
    assert ignored.returncode == 0


def test_second_run_grades_nothing_and_changes_no_row(course: Path):
    grade(course, PreparedExecutor())
    before = dump_gradebook(db(course))
    again = PreparedExecutor()
    summary = grade(course, again)
    assert again.seen == []
    assert summary.unchanged == len(ALL_JOBS)
    assert summary.line == "graded 0 · unchanged 8 · errors 0 · timeouts 0 · awaiting GPU 0"
    assert dump_gradebook(db(course)) == before


def test_only_the_changed_submission_is_graded_again(course: Path):
    grade(course, PreparedExecutor())
    add_submission(course, "s02", notebooks=("part2",), answer="second try")
    again = PreparedExecutor()
    summary = grade(course, again)
    assert again.seen == [("s02", "part2")]
    assert summary.unchanged == len(ALL_JOBS) - 1
    assert summary.line.startswith(f"graded 1 · unchanged {len(ALL_JOBS) - 1} · errors 0")


def test_regrade_grades_every_job_again(course: Path):
    grade(course, PreparedExecutor())
    again = PreparedExecutor()
    grade(course, again, regrade=True)
    assert sorted(again.seen) == sorted(ALL_JOBS)


def test_only_ungraded_skips_students_with_a_journal_entry_or_a_gradebook_submission(
    course: Path,
):
    grade(course, PreparedExecutor(), students=["s01", "s02"])
    shutil.rmtree(course / "autograder" / "results" / ASSIGNMENT / "s02")  # gradebook only
    again = PreparedExecutor()
    grade(course, again, only_ungraded=True)
    assert sorted(again.seen) == [(s, n) for s in ("s03", "s04") for n in NOTEBOOKS]


def test_students_option_limits_the_run_and_unknown_students_are_named(course: Path):
    chosen = PreparedExecutor()
    grade(course, chosen, students=["s03"])
    assert chosen.seen == [("s03", "part1"), ("s03", "part2")]
    with pytest.raises(CourseError, match="student 'nobody' has no submission"):
        grade(course, PreparedExecutor(), students=["nobody"])


def test_refused_result_is_journaled_as_an_error_scores_nothing_and_is_retried(course: Path):
    bad = prepared_result(CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED)[2])
    bad["verdicts"].append({**bad["verdicts"][0], "test_id": "test_invented"})
    summary = grade(course, PreparedExecutor(overrides={("s02", "part1"): bad}))
    assert summary.errors == 1 and summary.exit_code == EXIT_ERRORS
    entry = Journal(course / "autograder" / "results").get(
        CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED, students=["s02"])[0]
    )
    assert entry.status is JobStatus.ERROR and "unknown test 'test_invented'" in entry.error
    assert set(auto_scores(course, "s02", "part1").values()) == {None}
    retry = PreparedExecutor()
    assert grade(course, retry).exit_code == EXIT_OK
    assert retry.seen == [("s02", "part1")]


def test_malformed_worker_data_becomes_an_error_result(course: Path):
    summary = grade(course, PreparedExecutor(overrides={("s01", "part1"): ["not", "a", "dict"]}))
    errors = [r for r in summary.results if r.status is JobStatus.ERROR]
    assert [(r.student_id, r.notebook) for r in errors] == [("s01", "part1")]
    assert "must be a JSON object" in errors[0].error


def test_a_job_the_executor_never_answers_becomes_an_error(course: Path):
    summary = grade(course, PreparedExecutor(drop=[("s04", "part2")]))
    assert summary.errors == 1
    assert "without returning a result" in summary.results[-1].error


def test_gpu_work_without_a_gpu_runner_awaits_and_is_graded_once_one_exists(
    tmp_path: Path, blank_gradebook: Path
):
    course = new_course(tmp_path / "gpu", blank_gradebook, needs_gpu=True)
    summary = grade(course, PreparedExecutor(has_gpu=False))
    assert summary.line == "graded 0 · errors 0 · timeouts 0 · awaiting GPU 8"
    assert summary.exit_code == EXIT_AWAITING_GPU
    assert dump_gradebook(db(course))["submission"] == []
    runner = PreparedExecutor(has_gpu=True)
    assert grade(course, runner).awaiting_gpu == 0
    assert len(runner.seen) == len(ALL_JOBS)


def test_journal_entries_without_gradebook_rows_are_replayed_on_the_next_run(
    tmp_path: Path, blank_gradebook: Path
):
    whole = new_course(tmp_path / "whole", blank_gradebook)
    grade(whole, PreparedExecutor())
    # A run killed after every journal write but before the matching gradebook writes.
    crashed = new_course(tmp_path / "crashed", blank_gradebook)
    journal = Journal(crashed / "autograder" / "results")
    for job in CourseLayout.open(crashed).build_jobs(ASSIGNMENT, TERM_SEED):
        result = JobResult.from_dict(prepared_result(job))
        result.fingerprint = job.fingerprint()
        journal.write(result)
    resumed = PreparedExecutor()
    grade(crashed, resumed)
    assert resumed.seen == []
    assert dump_gradebook(db(crashed)) == dump_gradebook(db(whole))


def test_a_second_driver_on_the_same_workspace_is_refused(course: Path):
    with workspace_lock(course / "autograder"):
        with pytest.raises(CourseError, match="another grading run holds"):
            grade(course, PreparedExecutor())


def test_progress_bar_counts_the_jobs_on_stderr(course: Path, capsys):
    grade_assignment(course, ASSIGNMENT, executor=PreparedExecutor(), progress=True)
    assert f"{ASSIGNMENT}: 100%" in capsys.readouterr().err


def _start(course: Path, delay: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "driver_fakes.py"), str(course), "--delay", str(delay)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after(process: subprocess.Popen, results: Path, entries: int) -> None:
    """SIGKILL the driver once ``entries`` journal files exist (or fail if it ends first)."""
    deadline = time.monotonic() + 300
    while len(list(results.rglob("*.json"))) < entries:
        assert process.poll() is None, f"driver ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "driver made no progress"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_driver_killed_at_several_points_resumes_to_the_uninterrupted_gradebook(
    tmp_path: Path, blank_gradebook: Path
):
    whole = new_course(tmp_path / "whole", blank_gradebook)
    grade(whole, PreparedExecutor())
    killed = new_course(tmp_path / "killed", blank_gradebook)
    results = killed / "autograder" / "results"
    for entries in (1, 3, 6):
        _kill_after(_start(killed, delay=0.3), results, entries)
    finished = _start(killed, delay=0.0)
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    # The killed runs journaled some results; the last run counts those as unchanged.
    line = out.strip().splitlines()[-1]
    counts = re.fullmatch(
        r"graded (\d+) · unchanged (\d+) · errors 0 · timeouts ([01]) · awaiting GPU 0", line
    )
    assert counts is not None, line
    assert sum(map(int, counts.groups())) == len(ALL_JOBS) and int(counts[2]) >= 6
    assert dump_gradebook(db(killed)) == dump_gradebook(db(whole))
    assert journal_dump(killed / "autograder") == journal_dump(whole / "autograder")
    assert not list(results.rglob(".tmp-*"))


# --- with the real pipeline ---------------------------------------------------------------
MINI = HERE / "fixtures" / "mini"


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("autograder.pipeline") is None,
    reason="autograder.pipeline is not written yet; the end-to-end run needs it",
)
def test_real_pipeline_grades_a_solution_fully_and_a_missing_notebook_as_zero(
    tmp_path: Path, blank_gradebook: Path
):
    from autograder.executors import LocalExecutor
    from autograder.intake import load_template

    course = tmp_path / "course"
    source = course / "source" / "mini"
    source.mkdir(parents=True)
    for name in ("mini.ipynb", "mini.specs.py"):
        shutil.copyfile(MINI / name, source / name)
    (course / "submitted" / "solved" / "mini").mkdir(parents=True)
    shutil.copyfile(MINI / "mini.ipynb", course / "submitted" / "solved" / "mini" / "mini.ipynb")
    (course / "submitted" / "absent" / "mini").mkdir(parents=True)
    (course / "term.json").write_text(json.dumps({"seed": 2024}))
    shutil.copyfile(blank_gradebook, course / "gradebook.db")

    with LocalExecutor(workers=1, has_gpu=False) as executor:
        summary = grade_assignment(course, "mini", executor=executor, progress=False)
    assert summary.line == "graded 2 · errors 0 · timeouts 0 · awaiting GPU 0", [
        r.error for r in summary.results
    ]
    points = load_template(source / "mini.ipynb").autograded_points
    rows = dump_gradebook(db(course))["grade"]
    solved = {row[3]: row[5] for row in rows if row[1] == "solved" and row[3] in points}
    absent = {row[3]: row[5] for row in rows if row[1] == "absent" and row[3] in points}
    assert solved == points
    assert absent == dict.fromkeys(points, 0.0)


def test_a_changed_reference_grades_every_job_again_by_itself(
    course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import autograder.job as job_module

    library = tmp_path / "reflib"
    library.mkdir()
    (library / "relu.py").write_text("def relu(x):\n    return x * (x > 0)\n")
    monkeypatch.setattr(job_module, "reference_dirs", lambda: [library])
    grade(course, PreparedExecutor())
    unchanged = PreparedExecutor()
    assert grade(course, unchanged).unchanged == len(ALL_JOBS)

    (library / "relu.py").write_text("def relu(x):\n    return abs(x)  # fixed reference\n")
    again = PreparedExecutor()
    summary = grade(course, again)

    assert unchanged.seen == []
    assert sorted(again.seen) == sorted(ALL_JOBS)
    assert summary.unchanged == 0


def test_a_resubmission_ending_in_error_leaves_no_earlier_score_and_asks_for_review(
    course: Path,
):
    grade(course, PreparedExecutor())
    first = auto_scores(course, "s01", "part1")
    assert any(score for score in first.values())
    add_submission(course, "s01", notebooks=("part1",), answer="resubmitted")
    job = CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED, students=["s01"])[0]
    # What the pipeline returns when the trusted side raises on the new submission.
    failed = JobResult.failed(job, RuntimeError("trusted side raised"), max_score=10.0)
    summary = grade(course, PreparedExecutor(overrides={("s01", "part1"): failed.to_dict()}))
    assert summary.errors == 1
    rows = [
        row
        for row in dump_gradebook(db(course))["grade"]
        if row[1:3] == ("s01", "part1") and row[3] in ("test_relu", "test_softmax")
    ]
    assert [(row[5], row[8]) for row in rows] == [(None, 1), (None, 1)]
    assert set(auto_scores(course, "s02", "part1").values()) != {None}  # others untouched
    grade(course, PreparedExecutor())  # the fault fixed: the next run scores it again
    again = auto_scores(course, "s01", "part1")
    assert again["test_relu"] is not None and again["test_softmax"] is not None
