"""Faults of a grading night, injected for real: each ends with the uninterrupted gradebook.

Every run goes through ``python -m autograder grade`` (or the instructor's ``release``)
under :mod:`faults_harness`, a child subreaper: whatever the run started and left
behind is re-parented to it and reported, so "nothing of ours is left running" is an
assertion, not a hope. Kills are tied to moments through the grader's fault points
(:mod:`autograder.faults`) or to the journal on disk, never to a sleep. The class is the
benchmark's ``mini`` course with three honest students (one partly wrong).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from driver_fakes import dump_gradebook

from autograder.job import WORKER_DIED

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HARNESS = HERE / "faults_harness.py"
sys.path.insert(0, str(REPO / "benchmarks"))
from _honest_course import build_honest_course, honest_mix  # noqa: E402

ASSIGNMENT = "mini"
STUDENTS = 3
WAIT_SECONDS = 600.0
"""Only a bound for a hung run: a kill is tied to a moment, never to this."""


@dataclass(frozen=True)
class Run:
    returncode: int
    out: str
    err: str
    left: list[str]

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.out + self.err).splitlines() if line.strip()]


def run(
    argv: list[str],
    scratch: Path,
    *,
    fault: str = "",
    during: Callable[[subprocess.Popen], None] | None = None,
) -> Run:
    """Run ``argv`` under the harness (with ``$AUTOGRADER_FAULT`` = ``fault``)."""
    scratch.mkdir(parents=True, exist_ok=True)
    report = scratch / f"harness-{time.monotonic_ns()}.json"
    env = {**os.environ, "AUTOGRADER_FAULT": fault}
    process = subprocess.Popen(
        [sys.executable, str(HARNESS), str(report), "--", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    if during is not None:
        during(process)
    out, err = process.communicate(timeout=WAIT_SECONDS)
    data = json.loads(report.read_text(encoding="utf-8"))
    done = Run(data["returncode"], out, err, data["left"])
    # With pytest -s, what the person at the keyboard saw, for the fault table.
    print(f"\n[{fault or 'no fault'}] exit {done.returncode}, left {len(done.left)}:")
    print("\n".join(f"    {line}" for line in done.lines[-4:]))
    return done


def grade(course: Path, *options: str) -> list[str]:
    return [
        sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--nbgrader-root",
        str(course), "--no-progress", *options,
    ]  # fmt: skip


def gradebook(course: Path) -> dict:
    return dump_gradebook(f"sqlite:///{course / 'gradebook.db'}")


def journal_files(workspace: Path) -> list[Path]:
    return sorted((workspace / "results").rglob("*.json"))


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert process.poll() is None, f"the run ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ungraded course; copy it before grading."""
    return build_honest_course(tmp_path_factory.mktemp("faults") / "base", honest_mix(STUDENTS))


@pytest.fixture(scope="module")
def uninterrupted(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The gradebook one uninterrupted run gives."""
    course = Path(shutil.copytree(base, tmp_path_factory.mktemp("whole") / "course"))
    done = run(grade(course), course.parent)
    assert done.returncode == 0, done.lines
    assert done.left == []
    return gradebook(course)


@pytest.fixture
def course(base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "course"))


# --- 1. the driver killed ------------------------------------------------------------------


def test_a_driver_killed_before_the_first_result_mid_run_and_in_a_gradebook_write_resumes(
    course: Path, uninterrupted: dict
):
    # result:1 = the first result arrived, nothing journaled; journaled:2 = the second
    # result journaled but not in the gradebook; commit:3 = inside the gradebook's third
    # transaction (the first is the assignment's structure), before its commit.
    for fault in ("result:1", "journaled:2", "commit:3"):
        killed = run(grade(course), course.parent, fault=fault)
        assert killed.returncode == -signal.SIGKILL, (fault, killed.lines)
        assert killed.left == [], f"{fault}: left running: {killed.left}"
        assert (course / "autograder" / "driver.lock").read_text().strip(), "names the run"
    resumed = run(grade(course), course.parent)
    assert resumed.returncode == 0, resumed.lines
    assert resumed.left == []
    assert any(line.startswith("the previous run (pid ") for line in resumed.lines)
    assert gradebook(course) == uninterrupted
    assert not list((course / "autograder").rglob(".tmp-*"))
    assert (course / "autograder" / "driver.lock").read_text() == "", "a finished run clears it"


# --- 2. a worker killed --------------------------------------------------------------------


def test_a_local_worker_killed_mid_job_is_retried_once_in_a_fresh_worker(
    course: Path, uninterrupted: dict
):
    fault = f"job:s001:{course.parent / 'fired'}"
    done = run(grade(course, "--workers", "2"), course.parent, fault=fault)
    assert (course.parent / "fired").exists(), "the fault fired"
    assert done.returncode == 0, done.lines
    assert done.left == []
    assert gradebook(course) == uninterrupted


def test_a_submission_that_kills_its_worker_twice_is_an_error_for_that_student_alone(
    course: Path, uninterrupted: dict
):
    done = run(grade(course, "--workers", "2"), course.parent, fault="job:s001")
    assert done.returncode == 1, done.lines
    assert done.left == []
    entry = json.loads((course / "autograder/results/mini/s001/mini.json").read_text())
    assert entry["status"] == "error"
    assert entry["error"].startswith(WORKER_DIED)
    others = {
        table: [row for row in rows if "s001" not in row]
        for table, rows in uninterrupted.items()
        if table != "counts"
    }
    mine = gradebook(course)
    assert {table: mine[table] for table in others} == others
    pages = run(
        [sys.executable, "-m", "autograder", "feedback", ASSIGNMENT, "--nbgrader-root",
         str(course)],
        course.parent,
    )  # fmt: skip
    assert pages.returncode == 0, pages.lines
    page = (course / "feedback/s001/mini/mini.html").read_text(encoding="utf-8")
    assert "crashed the grading process twice" in page


# --- 3. the disk fills up ------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs, made for the test (the suite runs as root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_while_journaling_stops_with_the_folder_named_and_a_rerun_completes(
    course: Path, uninterrupted: dict, small_disk: Path
):
    workspace = small_disk / "workspace"
    filler = small_disk / "filler"

    def fill_after_first_entry(process: subprocess.Popen) -> None:
        wait_for(lambda: len(journal_files(workspace)) >= 1, process, "a journal entry")
        handle = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:  # every byte that is left
                os.write(handle, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(handle)

    full = run(
        grade(course, "--workspace", str(workspace)), course.parent, during=fill_after_first_entry
    )
    assert full.returncode == 2, full.lines
    assert full.left == []
    message = next(line for line in full.lines if line.startswith("error: "))
    assert f"cannot write the journal in {workspace / 'results' / ASSIGNMENT}" in message
    assert "No space left on device" in message
    assert not list(workspace.rglob(".tmp-*")), "no half-written entry"
    for path in journal_files(workspace):
        json.loads(path.read_text(encoding="utf-8"))  # each entry whole
    filler.unlink()
    again = run(grade(course, "--workspace", str(workspace)), course.parent)
    assert again.returncode == 0, again.lines
    assert gradebook(course) == uninterrupted


# --- 4. the gradebook locked by another writer ---------------------------------------------

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_a_gradebook_held_by_another_writer_is_waited_for_and_no_row_is_lost(
    course: Path, uninterrupted: dict
):
    holder: list[subprocess.Popen] = []

    def lock_after_first_entry(process: subprocess.Popen) -> None:
        wait_for(lambda: len(journal_files(course / "autograder")) >= 1, process, "an entry")
        holder.append(
            subprocess.Popen(
                [sys.executable, "-c", HOLD, str(course / "gradebook.db"), "12"],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
        assert holder[0].stdout is not None and holder[0].stdout.readline() == "held\n"

    done = run(grade(course), course.parent, during=lock_after_first_entry)
    assert holder[0].wait(timeout=120) == 0
    assert done.returncode == 0, done.lines
    assert done.left == []
    assert any("is locked by another writer" in line for line in done.lines), done.lines
    assert gradebook(course) == uninterrupted
    with sqlite3.connect(course / "gradebook.db") as check:
        assert check.execute("pragma integrity_check").fetchone() == ("ok",)


# --- 5. a journal entry truncated as by a power cut ----------------------------------------


def test_a_truncated_journal_entry_is_regraded_and_the_run_says_so(
    course: Path, uninterrupted: dict
):
    first = run(grade(course), course.parent)
    assert first.returncode == 0, first.lines
    entry = course / "autograder/results/mini/s002/mini.json"
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text[: len(text) // 2], encoding="utf-8")
    again = run(grade(course), course.parent)
    assert again.returncode == 0, again.lines
    assert again.left == []
    regrading = "warning: regrading mini/s002/mini: its journal entry"
    assert any(line.startswith(regrading) for line in again.lines), again.lines
    assert "2 unchanged since the last run (not regraded)" in again.lines
    json.loads(entry.read_text(encoding="utf-8"))
    assert gradebook(course) == uninterrupted


# --- 7. release killed ---------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    """Every visible file under ``folder`` with its bytes (hidden leftovers aside)."""
    visible = [path for path in folder.iterdir() if not path.name.startswith(".")]
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for top in visible
        for path in sorted([top, *top.rglob("*")])
        if path.is_file()
    }


def test_kill_9_during_release_leaves_assignments_exactly_as_before(tmp_path: Path):
    from instructor_course import make_course

    root = make_course(tmp_path / "repo")
    command = [sys.executable, "-m", "autograder.instructor", "--course", str(root),
               "release", "mini", "--no-prove"]  # fmt: skip
    first = run(command, tmp_path)
    assert first.returncode == 0, first.lines
    before = tree(root / "assignments")
    assert before, "the first release wrote files"
    notebook = root / "solutions/mini/mini.ipynb"
    notebook.write_text(
        notebook.read_text().replace("Mini assignment", "Mini assignment, edited"), encoding="utf-8"
    )
    killed = run(command, tmp_path, fault="release:install")
    assert killed.returncode == -signal.SIGKILL, killed.lines
    assert killed.left == []
    assert tree(root / "assignments") == before
    again = run(command, tmp_path)
    assert again.returncode == 0, again.lines
    after = tree(root / "assignments")
    assert after != before, "the rerun released the change"
    assert not [p for p in (root / "assignments").iterdir() if p.name.startswith(".")]


# --- 2 and 6. Dask: a worker killed, the scheduler gone ------------------------------------


def _cluster(directory: Path):
    from dask_cluster import WorkerSpec, start_cluster

    return start_cluster(directory, (WorkerSpec("w0"), WorkerSpec("w1")))


def test_a_dask_worker_killed_mid_job_is_rescheduled_and_a_double_killer_is_an_error(
    course: Path, uninterrupted: dict, monkeypatch: pytest.MonkeyPatch
):
    # The workers inherit the fault: s001's first job kills its worker, s002's every one.
    monkeypatch.setenv("AUTOGRADER_FAULT", f"job:s001:{course.parent / 'fired'},job:s002")
    # One task per single-threaded worker: a task queued behind a killer must not share
    # its worker's death (allowed-failures is 1 in the test cluster).
    monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION", "1.0")
    cluster = _cluster(course.parent / "dask")
    try:
        done = run(grade(course, "--scheduler", cluster.address), course.parent)
    finally:
        cluster.stop()
    assert (course.parent / "fired").exists()
    assert done.returncode == 1, done.lines
    assert done.left == []
    entry = json.loads((course / "autograder/results/mini/s002/mini.json").read_text())
    assert entry["status"] == "error" and entry["error"].startswith(WORKER_DIED)
    mine = gradebook(course)
    for table, rows in uninterrupted.items():
        if table != "counts":
            assert [row for row in mine[table] if "s002" not in row] == [
                row for row in rows if "s002" not in row
            ], table


def test_the_dask_scheduler_gone_mid_run_is_one_line_and_a_rerun_continues(
    course: Path, uninterrupted: dict
):
    cluster = _cluster(course.parent / "dask1")

    def kill_scheduler(process: subprocess.Popen) -> None:
        wait_for(lambda: len(journal_files(course / "autograder")) >= 1, process, "an entry")
        os.killpg(cluster.processes[0].pid, signal.SIGKILL)

    try:
        lost = run(
            grade(course, "--scheduler", cluster.address), course.parent, during=kill_scheduler
        )
    finally:
        cluster.stop()
    assert lost.returncode == 1, lost.lines
    assert lost.left == []
    errors = [line for line in lost.lines if line.startswith("error: ")]
    assert len(errors) == 1 and "lost the Dask scheduler" in errors[0], lost.lines
    assert "Traceback" not in lost.err, "one line, not distributed's reconnect noise"
    cluster = _cluster(course.parent / "dask2")
    try:
        again = run(grade(course, "--scheduler", cluster.address), course.parent)
    finally:
        cluster.stop()
    assert again.returncode == 0, again.lines
    assert gradebook(course) == uninterrupted
