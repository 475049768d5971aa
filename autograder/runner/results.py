"""The runner's only report: ``results.json``, one record per executed code cell.

The file is rewritten atomically (temporary file, fsync, rename) after every cell, so a
job that is killed mid-way (a wall-clock deadline, ``os._exit`` in student code) still
leaves the statuses of every cell that finished. Everything here runs inside the
sandbox and is therefore untrusted by the grader: the pipeline re-validates the file
and never uses it to award points.

Standard library only: this module is copied into the sandbox's runtime. The file's name
and record keys are part of the work-dir contract (:mod:`autograder.runner.contract`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.runner.contract import ERROR_CAP


@dataclass(frozen=True)
class CellRecord:
    """How one code cell ended."""

    index: int
    """Position of the cell in the notebook (all cells counted, markdown included)."""
    grade_id: str | None
    """The cell's nbgrader grade id, when it has one."""
    status: str
    """One of :data:`STATUSES`."""
    error: str = ""
    """``"<type>: <message>"`` for errors and timeouts, capped at :data:`ERROR_CAP`."""
    stderr: bool = False
    """A test cell wrote to standard error (nbgrader scores that cell zero)."""
    result: str | None = None
    """A test cell's displayed value as ``text/plain`` (nbgrader's partial credit), capped."""


def describe_exception(error: BaseException) -> str:
    """``"<type>: <message>"`` for an exception raised by student code, capped.

    Student exceptions may define a ``__str__`` that raises or returns megabytes, so
    both are guarded.
    """
    name = type(error).__name__
    try:
        message = str(error)
    except BaseException:  # a hostile __str__ must not stop the runner
        message = "<exception message could not be read>"
    text = f"{name}: {message}" if message else name
    return cap_text(text)


def cap_text(text: str, cap: int = ERROR_CAP) -> str:
    """``text`` cut to at most ``cap`` characters, marking the cut."""
    if len(text) <= cap:
        return text
    marker = " ...[truncated]"
    return text[: cap - len(marker)] + marker


def write_results(path: Path, records: list[CellRecord]) -> None:
    """Atomically replace ``path`` with the JSON report of ``records``.

    Written to a sibling temporary file, flushed to disk and renamed over the old
    report, so a reader (or a kill) never sees a half-written file.
    """
    payload = json.dumps({"cells": [asdict(record) for record in records]}, indent=1)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
