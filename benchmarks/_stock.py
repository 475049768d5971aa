"""Stock nbgrader on a course: ``generate_assignment`` once, then a timed ``autograde``.

Run with this environment's ``nbgrader`` and its ``bin`` first on ``PATH``, so the
Jupyter kernel it starts per notebook is this interpreter, where ``dlcourse`` and
``autograder`` import (``check_hidden`` calls ``autograder.specs.direct_check``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

VENV_BIN = Path(sys.executable).parent
NBGRADER = str(VENV_BIN / "nbgrader")
RELEASE_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.specs.py"]
"""The specs stay out of the release; autograde's own copy keeps nbgrader's default."""


@dataclass(frozen=True)
class StockRun:
    seconds: float
    returncode: int
    log_tail: str


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _nbgrader(course: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NBGRADER, *args],
        cwd=course,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def generate_assignment(course: Path, assignment: str) -> None:
    """Register the assignment in the course's gradebook (autograde refuses otherwise)."""
    result = _nbgrader(
        course,
        "generate_assignment",
        assignment,
        "--force",
        f"--CourseDirectory.ignore={json.dumps(RELEASE_IGNORE)}",
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-4000:]}")


def autograde(course: Path, assignment: str, timeout: float = 3600) -> StockRun:
    """``nbgrader autograde <assignment> --force``, timed as one command."""
    started = time.perf_counter()
    result = _nbgrader(course, "autograde", assignment, "--force", timeout=timeout)
    seconds = time.perf_counter() - started
    return StockRun(seconds, result.returncode, (result.stdout + result.stderr)[-4000:])


def notebook_scores(
    db_path: Path, assignment: str, notebook: str, students: list[str]
) -> dict[str, float | None]:
    """Each student's score for one notebook in an nbgrader gradebook (None: absent)."""
    scores: dict[str, float | None] = {}
    with Gradebook(f"sqlite:///{db_path}") as gradebook:
        for student in students:
            try:
                found = gradebook.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                scores[student] = None
            else:
                scores[student] = float(found.score)
    return scores
