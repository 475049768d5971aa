"""The records that travel between the grading stages: one job in, one result out.

A :class:`GradingJob` names one student's one notebook and everything needed to grade
it; :func:`autograder.pipeline.grade_submission` turns it into a :class:`JobResult`.
Results are plain data: they serialize to JSON (``to_dict`` / ``from_dict``) so they
can cross process and machine boundaries (local pool, Dask), be journaled to disk for
resumable runs, and be written to the gradebook by the driver alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from autograder.sandbox.limits import Limits


class JobStatus(str, Enum):
    """How grading one notebook ended (the summary line counts these)."""

    GRADED = "graded"
    """Executed and scored (wrong answers, errors in student code included)."""
    TIMEOUT = "timeout"
    """The notebook's wall-clock deadline ended the run; what was recorded is scored."""
    ERROR = "error"
    """The grader could not grade it (a grader bug or a broken template): needs a human."""
    AWAITING_GPU = "awaiting_gpu"
    """The notebook needs a GPU runner and none was available: not scored, not zero."""


class VerdictStatus(str, Enum):
    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"
    MISSING = "missing"
    """The test recorded no output (the code raised, exited early, or never ran)."""
    AWAITING_GPU = "awaiting_gpu"


@dataclass(frozen=True)
class GradingJob:
    """One student's one notebook, with everything a worker needs to grade it."""

    assignment: str
    notebook: str
    """Notebook name without ``.ipynb``."""
    student_id: str
    submission_path: Path | None
    """The submitted ``.ipynb``; None when the student submitted no such notebook."""
    template_path: Path
    """The instructor's source notebook (with hidden tests): ``source/<assignment>/`` in an
    nbgrader course directory (the course's ``solutions/`` is that source)."""
    specs_path: Path
    """Python file defining the notebook's check specs (see :mod:`autograder.specs`)."""
    term_seed: int
    needs_gpu: bool = False
    limits: Limits = field(default_factory=Limits)
    extra_files: tuple[Path, ...] = ()
    """Whitelisted files copied into the sandbox work dir (data the notebook reads)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.assignment, self.student_id, self.notebook)

    def fingerprint(self) -> str:
        """Hash of everything that decides the result: submission, template, specs, seed.

        A journaled result with the same fingerprint need not be graded again.
        """
        h = hashlib.sha256()
        for part in (self.assignment, self.notebook, self.student_id, str(self.term_seed)):
            h.update(part.encode() + b"\0")
        for path in (self.submission_path, self.template_path, self.specs_path):
            if path is None or not Path(path).is_file():
                h.update(b"<none>\0")
            else:
                h.update(Path(path).read_bytes() + b"\0")
        return h.hexdigest()


@dataclass
class TestVerdict:
    """The trusted decision for one graded test cell (``test_id`` is its grade_id)."""

    test_id: str
    status: VerdictStatus
    points: float
    max_points: float
    passed_cases: int = 0
    total_cases: int = 0
    message: str = ""
    """Feedback for the student: what was expected and what came back. Never contains
    hidden-test source or reference outputs."""


@dataclass
class JobResult:
    """Everything learned from grading one job; JSON-serializable."""

    assignment: str
    notebook: str
    student_id: str
    status: JobStatus
    score: float
    max_score: float
    verdicts: list[TestVerdict] = field(default_factory=list)
    manual_cells: list[str] = field(default_factory=list)
    """grade_ids of manually graded answers (written answers): scored by a human."""
    intake: dict[str, Any] = field(default_factory=dict)
    """The intake report: status and notes (duplicated cells, recovered answers, ...)."""
    execution: dict[str, Any] = field(default_factory=dict)
    """Sandbox summary: ended_by, timed_out, wall_seconds, leftover_processes_killed,
    stdout/stderr truncated, and per-cell statuses from the runner."""
    layers: dict[str, Any] = field(default_factory=dict)
    """IsolationReport.to_dict(): which isolation layers were active."""
    fingerprint: str = ""
    error: str = ""
    """For status ERROR: what went wrong, for the course team."""
    seconds: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.assignment, self.student_id, self.notebook)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for verdict in data["verdicts"]:
            verdict["status"] = VerdictStatus(verdict["status"]).value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobResult:
        data = dict(data)
        data["status"] = JobStatus(data["status"])
        data["verdicts"] = [
            TestVerdict(**{**v, "status": VerdictStatus(v["status"])}) for v in data["verdicts"]
        ]
        return cls(**data)
