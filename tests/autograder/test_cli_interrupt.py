"""Ctrl-C and SIGTERM during ``python -m autograder grade``: one line, the lock released,
no traceback, and a rerun continues where the run stopped (the real sandboxed grader)."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).parent / "fixtures" / "mini"
ASSIGNMENT = "mini"
JOBS = 3  # students, one notebook each


def make_course(root: Path) -> Path:
    """An nbgrader course folder: the fixture notebook as source and as every submission."""
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name in ("mini.ipynb", "mini.specs.py"):
        shutil.copy(FIXTURE / name, source)
    for number in range(JOBS):
        folder = root / "submitted" / f"s{number}" / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(FIXTURE / "mini.ipynb", folder)
    (root / "term.json").write_text('{"seed": 7}', encoding="utf-8")
    return root


def _grade(course: Path) -> subprocess.Popen:
    """The real command in a session of its own, as a terminal would run it."""
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--nbgrader-root"]
    return subprocess.Popen(
        [*command, str(course), "--workers", "1", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _stop_after(process: subprocess.Popen, course: Path, entries: int, stop) -> tuple[str, str]:
    """Send ``stop`` once the journal holds ``entries`` results; the run's (stdout, stderr)."""
    results = course / "autograder" / "results"
    deadline = time.monotonic() + 300
    while len(list(results.rglob("*.json"))) < entries:
        assert process.poll() is None, f"grading ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "grading made no progress"
        time.sleep(0.05)
    stop(process)
    return process.communicate(timeout=300)


def _lock_is_free(course: Path) -> bool:
    handle = os.open(course / "autograder" / "driver.lock", os.O_RDWR)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(handle)


def _saved(process: subprocess.Popen, err: str, course: Path) -> int:
    """Checks the interrupted run's one line; returns how many results it says it saved."""
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = [text for text in err.splitlines() if text.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted: the ") and "run the same command again" in lines[0]
    assert _lock_is_free(course)
    return int(lines[0].split("the ", 1)[1].split(" ", 1)[0])


def test_an_interrupted_run_says_what_was_saved_and_a_rerun_continues(tmp_path: Path):
    course = make_course(tmp_path / "course")
    # SIGTERM to the driver alone (a scheduler stopping it), then Ctrl-C, which a terminal
    # sends to the whole process group (the workers included).
    first = _grade(course)
    _, err = _stop_after(first, course, 1, lambda p: p.send_signal(signal.SIGTERM))
    saved = _saved(first, err, course)
    second = _grade(course)
    _, err = _stop_after(second, course, saved + 1, lambda p: os.killpg(p.pid, signal.SIGINT))
    saved += _saved(second, err, course)
    assert 2 <= saved < JOBS
    last = _grade(course)
    out, err = last.communicate(timeout=600)
    assert last.returncode == 0, err
    line = out.strip().splitlines()[-1]
    assert line.startswith(f"graded {JOBS - saved} · unchanged {saved} · errors 0"), line
