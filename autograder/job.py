"""The records that travel between the grading stages: one job in, one result out.

A :class:`GradingJob` names one student's one notebook and everything needed to grade
it; :func:`autograder.pipeline.grade_submission` turns it into a :class:`JobResult`.
Results are plain data: they serialize to JSON (``to_dict`` / ``from_dict``) so they
can cross process and machine boundaries (local pool, Dask), be journaled to disk for
resumable runs, and be written to the gradebook by the driver alone.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.intake.validate import IntakeConfig
from autograder.sandbox.limits import Limits

if TYPE_CHECKING:
    from autograder.intake import NotebookTemplate

ERROR_TEXT_CHARS = 8_000
"""Longest error text kept in a result: it crosses the network and lands in the journal."""

AWAITING_GPU_MESSAGE = "This test needs a GPU runner; it will be graded when one is available."


WORKER_DIED = (
    "This notebook was not graded: the grading process running it died twice (the "
    "notebook used too much memory or crashed the interpreter), the second time on a "
    "fresh worker, so the notebook caused it."
)
"""The error of a job that killed its worker twice, local or Dask; its feedback page says so."""


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
    specs_path: Path | None
    """Python file defining the notebook's check specs (see :mod:`autograder.specs`); None
    for a notebook whose tests are all plain nbgrader test cells."""
    term_seed: int
    needs_gpu: bool = False
    limits: Limits = field(default_factory=Limits)
    extra_files: tuple[Path, ...] = ()
    """Whitelisted files copied into the sandbox work dir (data the notebook reads)."""
    intake: IntakeConfig = field(default_factory=IntakeConfig)
    """The caps on what is read of the submission (the course file's ``[intake]``)."""
    forbidden_calls: str = "flag"
    """The term's policy for calls into an exercise's forbidden modules (``flag``/``zero``)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.assignment, self.student_id, self.notebook)

    def fingerprint(self) -> str:
        """Hash of everything the verdicts depend on; equal hashes need no regrade.

        The job's identity and term seed; the submission, the template and the specs
        file; every extra (data) file; the limits and the GPU need; and the reference
        code (:func:`reference_digest`), so a fixed reference re-grades by itself.
        """
        h = hashlib.sha256()
        identity = (self.assignment, self.notebook, self.student_id, str(self.term_seed))
        # The default policy adds nothing, so fingerprints from before it existed hold.
        policy = [] if self.forbidden_calls == "flag" else [self.forbidden_calls]
        caps = [asdict(self.limits), asdict(self.intake), self.needs_gpu, *policy]
        settings = json.dumps(caps, sort_keys=True)
        for part in (*identity, settings, reference_digest()):
            h.update(part.encode() + b"\0")
        # The submission is the student's: past the notebook cap it is never read (intake
        # refuses it), so only its size and time are hashed.
        paths = [Path(self.submission_path)] if self.submission_path else []
        h.update(files_digest(paths, max_bytes=self.intake.max_bytes).encode() + b"\0")
        for path in (self.template_path, self.specs_path, *self.extra_files):
            h.update(files_digest([Path(path)] if path else []).encode() + b"\0")
        return h.hexdigest()


def files_digest(roots: list[Path], pattern: str = "*", *, max_bytes: int | None = None) -> str:
    """Hash of the files at or under ``roots`` (in directories, those matching
    ``pattern``): their names relative to the root's parent, and their contents, read by
    streaming. A file over ``max_bytes`` is not read: its size and time stand in.

    Cached by each file's path, size and modification time: a data set or a library
    that every job shares is read once per change, not once per job.
    """
    signature = []
    for root in roots:
        for path in sorted(root.rglob(pattern)) if root.is_dir() else [root]:
            if path.is_file():
                info = path.stat()
                name = str(path.relative_to(root.parent))
                signature.append((name, str(path), info.st_size, info.st_mtime_ns))
    return _digest_of(tuple(signature), max_bytes)


@functools.lru_cache(maxsize=1024)
def _digest_of(
    signature: tuple[tuple[str, str, int, int], ...], max_bytes: int | None = None
) -> str:
    h = hashlib.sha256()
    for name, path, size, mtime in signature:
        if max_bytes is not None and size > max_bytes:
            digest = f"not read: {size} bytes, {mtime}".encode()
        else:
            streamed = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    streamed.update(block)
            digest = streamed.digest()
        h.update(name.encode() + b"\0" + digest)
    return h.hexdigest()


REFERENCE_PACKAGES = ("dlcourse", "autograder.specs")
"""The code verdicts are decided with: the references and the comparison."""


def reference_dirs() -> list[Path]:
    """Where the :data:`REFERENCE_PACKAGES` live (found without importing them)."""
    specs = [importlib.util.find_spec(name) for name in REFERENCE_PACKAGES]
    return [
        Path(where) for spec in specs if spec for where in spec.submodule_search_locations or ()
    ]


def reference_digest() -> str:
    """Hash of the reference packages' Python sources."""
    return files_digest(reference_dirs(), "*.py")


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
    forbidden: list[str] = field(default_factory=list)
    """Modules the exercise must be written without that the graded calls used (see
    :mod:`dlcourse.checks.forbid`); the run flags them for the course team."""
    in_process: bool = False
    """Decided inside the student's process (a plain nbgrader test cell, which student
    code could defeat); False: a trusted verdict from a ``check()`` test."""


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
    unchanged_answers: list[str] = field(default_factory=list)
    """grade_ids of answer cells left as released (nbgrader: "No response.", and a
    manually graded one scores 0 without review)."""
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

    @classmethod
    def failed(
        cls,
        job: GradingJob,
        error: BaseException | str,
        details: str = "",
        *,
        max_score: float | None = None,
    ) -> JobResult:
        """An ERROR result: nothing scored, the error (capped) for the course team.

        ``max_score`` defaults to the template's, or 0 when the template is what failed.
        No fingerprint: an error never settles a job, so the next run grades it again.
        """
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        text = f"{error}\n{details}".strip() if details else error
        if max_score is None:
            from autograder.intake import load_template  # nbformat: only when needed

            try:
                max_score = load_template(job.template_path).max_score
            except Exception:
                max_score = 0.0
        return cls(*_names(job), JobStatus.ERROR, 0.0, max_score, error=_cap(text))

    @classmethod
    def awaiting_gpu(cls, job: GradingJob, template: NotebookTemplate) -> JobResult:
        """Not run for want of a GPU: not a zero, every autograded test listed unscored.

        No fingerprint: not final, so a run with a GPU runner grades it.
        """
        verdicts = [
            TestVerdict(
                test_id, VerdictStatus.AWAITING_GPU, 0.0, points, message=AWAITING_GPU_MESSAGE
            )
            for test_id, points in template.autograded_points.items()
        ]
        result = cls(*_names(job), JobStatus.AWAITING_GPU, 0.0, template.max_score, verdicts)
        result.manual_cells = template.manual_ids
        return result

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


def _names(job: GradingJob) -> tuple[str, str, str]:
    return job.assignment, job.notebook, job.student_id


def _cap(text: str) -> str:
    """Keep the head and the tail of a long error: the cause and the innermost frame."""
    if len(text) <= ERROR_TEXT_CHARS:
        return text
    half = ERROR_TEXT_CHARS // 2
    cut = len(text) - ERROR_TEXT_CHARS
    return f"{text[:half]}\n... [{cut} characters cut] ...\n{text[-half:]}"
