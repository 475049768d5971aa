"""Grade one job: intake, work dir, sandboxed run, trusted verdicts -> :class:`JobResult`.

The steps of :func:`grade_submission`, in order:

1. load the template (points, grade cells) and the check specs: the trusted side;
2. intake: restore the submission against the template (a missing file scores zero
   without running, as in nbgrader);
3. a notebook that needs a GPU on a grader without one stops here: ``awaiting_gpu``;
4. a fresh job directory: the grader's private inputs, and the work dir (restored
   notebook, a copy of the inputs, empty ``outputs/``, whitelisted files);
5. the box runs the notebook; ``results.json`` is read as untrusted data;
6. every autograded test cell with a spec is decided by :func:`autograder.specs.decide`
   against the private inputs, with the template's points (a trusted verdict); a plain
   nbgrader test cell, without a spec, by how it ran in the sandbox, as stock nbgrader
   scores it (:func:`autograder.specs.plain.decide_plain`, an in-process verdict);
7. the job directory is removed, whatever happened.

Nothing the student submits or runs can make this raise: student failures become
verdicts. An exception in the grader's own code ends as status ``error`` with the
traceback in ``JobResult.error``, for a human to look at.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import math
import multiprocessing
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autograder.box import Box
from autograder.intake import (
    CellRole,
    IntakeReport,
    NotebookTemplate,
    intake_notebook,
    load_template,
    restore_notebook,
)
from autograder.job import GradingJob, JobResult, JobStatus, TestVerdict, VerdictStatus
from autograder.runner.contract import CELL_KEYS, ERROR_CAP, STARTED_MARKER, STATUSES
from autograder.sandbox import SandboxResult
from autograder.specs import SpecRegistry, decide, load_specs, write_inputs
from autograder.specs.plain import calls_check, decide_plain
from autograder.workdir import JobDirs, job_directory, prepare_workdir

log = logging.getLogger(__name__)

RESULTS_MAX_BYTES = 4 * 2**20
"""Largest ``results.json`` read; the runner writes well under 2 KB per cell."""

STDERR_TAIL_BYTES = 4096
"""How much of the job's stderr the execution summary keeps (for the course team)."""

NO_SPEC_MESSAGE = "no check spec for this test: instructor must add one"
MISSING_NOTE = "no submission for this notebook: every test scores zero"


@dataclass(frozen=True)
class RunnerReport:
    """What ``results.json`` said, after validation (or why it could not be used)."""

    cells: list[dict[str, Any]]
    problem: str = ""


# --- steps ------------------------------------------------------------------------------


def cuda_visible() -> bool:
    """Whether this grader process can see a CUDA device (torch imported only here)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def intake_dict(report: IntakeReport) -> dict[str, Any]:
    """The intake report as JSON-ready data."""
    return {
        "status": report.status.value,
        "message": report.message,
        "notes": [
            {"kind": note.kind.value, "message": note.message, "grade_id": note.grade_id}
            for note in report.notes
        ],
        "answered_ids": list(report.answered_ids),
        "blank_ids": list(report.blank_ids),
        "recovered_ids": list(report.recovered_ids),
        "lost_ids": list(report.lost_ids),
    }


def run_intake(job: GradingJob, template: NotebookTemplate) -> tuple[Any, dict[str, Any]]:
    """The restored notebook and the intake summary; a missing file gives all blanks."""
    if job.submission_path is None:
        blanks = [cell.grade_id for cell in template.answer_cells if cell.grade_id]
        summary = {
            "status": "missing",
            "message": MISSING_NOTE,
            "notes": [{"kind": "missing_file", "message": MISSING_NOTE, "grade_id": None}],
            "answered_ids": [],
            "blank_ids": blanks,
            "recovered_ids": [],
            "lost_ids": [],
        }
        return restore_notebook(template, {}), summary
    notebook, report = intake_notebook(job.submission_path, template, job.intake)
    return notebook, intake_dict(report)


def _valid_cell(entry: object) -> bool:
    """One runner record: the shape the runner writes, nothing else."""
    if not isinstance(entry, dict) or set(entry) != set(CELL_KEYS):
        return False
    index, grade_id = entry["index"], entry["grade_id"]
    return (
        isinstance(index, int)
        and not isinstance(index, bool)
        and index >= 0
        and (grade_id is None or isinstance(grade_id, str) and len(grade_id) <= 200)
        and entry["status"] in STATUSES
        and isinstance(entry["error"], str)
        and len(entry["error"]) <= ERROR_CAP
        and isinstance(entry["stderr"], bool)
        and (entry["result"] is None or isinstance(entry["result"], str))
        and len(entry["result"] or "") <= ERROR_CAP
    )


def read_runner_report(path: Path) -> RunnerReport:
    """Read ``results.json`` as hostile data: regular file, size cap, JSON, exact schema.

    The sandboxed code can write anything there, so the report is only informative
    (cell statuses for feedback); it never decides points.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # no links out, no FIFO hangs
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return RunnerReport([], "results.json is missing")
    except OSError as error:
        return RunnerReport([], f"results.json cannot be opened: {error.strerror}")
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return RunnerReport([], "results.json is not a regular file")
        data = handle.read(RESULTS_MAX_BYTES + 1)
    if len(data) > RESULTS_MAX_BYTES:
        return RunnerReport([], f"results.json is over {RESULTS_MAX_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return RunnerReport([], "results.json is not valid JSON")
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list) or not all(_valid_cell(entry) for entry in cells):
        return RunnerReport([], "results.json does not follow the runner's schema")
    return RunnerReport(cells)


def safe_outputs_dir(dirs: JobDirs) -> Path:
    """The outputs dir, unless the job swapped it for a link (then an empty one)."""
    outputs = dirs.outputs
    if outputs.is_dir() and not outputs.is_symlink():
        return outputs
    empty = dirs.root / "no-outputs"
    empty.mkdir(exist_ok=True)
    return empty


def execution_summary(run: SandboxResult, report: RunnerReport) -> dict[str, Any]:
    """What the course team needs to know about the run, JSON-ready."""
    summary: dict[str, Any] = {
        "ended_by": run.ended_by,
        "timed_out": run.timed_out,
        "wall_seconds": round(run.wall_seconds, 3),
        "returncode": run.returncode,
        "signal": run.signal,
        "leftover_processes_killed": run.leftover_processes_killed,
        "stdout_truncated": run.stdout_truncated,
        "stderr_truncated": run.stderr_truncated,
        "runner_started": runner_started(run),
        "cells": report.cells,
    }
    if report.problem:
        summary["results_problem"] = report.problem
    summary["stderr_tail"] = run.stderr[-STDERR_TAIL_BYTES:].decode("utf-8", "replace")
    return summary


def runner_started(run: SandboxResult) -> bool:
    """Whether the runner got as far as the first cell (its marker comes before any)."""
    return STARTED_MARKER.encode() in run.stdout


def decide_all(
    template: NotebookTemplate,
    registry: SpecRegistry,
    trusted_inputs: Path,
    outputs: Path,
    report: RunnerReport,
    forbidden_calls: str = "flag",
) -> tuple[list[TestVerdict], list[str]]:
    """A verdict per autograded test cell (trusted from its spec, in-process for a plain
    test), and the ``check()`` tests that have no spec; ``forbidden_calls`` is the term's
    policy (:func:`autograder.specs.decide`)."""
    records = {(cell["index"], cell["grade_id"]): cell for cell in report.cells}
    verdicts: list[TestVerdict] = []
    unspecified: list[str] = []
    for cell in template.cells:
        grade_id = cell.grade_id
        if cell.role is not CellRole.TESTS or grade_id is None:
            continue
        if grade_id in registry:
            verdicts.append(
                decide(
                    registry[grade_id],
                    trusted_inputs,
                    outputs,
                    cell.points,
                    forbidden_calls=forbidden_calls,
                )
            )
        elif calls_check(cell.source, grade_id):
            unspecified.append(grade_id)
            verdicts.append(
                TestVerdict(
                    grade_id, VerdictStatus.FAILED, 0.0, cell.points, message=NO_SPEC_MESSAGE
                )
            )
        else:
            verdicts.append(
                decide_plain(grade_id, cell.points, records.get((cell.index, grade_id)))
            )
    return verdicts, unspecified


# --- the job ----------------------------------------------------------------------------


def _grade(job: GradingJob, box: Box) -> JobResult:
    """Steps 1-7 of the module docstring; grader-side failures raise."""
    template = load_template(job.template_path)
    registry = load_specs(job.specs_path) if job.specs_path else SpecRegistry(())
    notebook, intake = run_intake(job, template)
    if job.needs_gpu and not cuda_visible():
        result = JobResult.awaiting_gpu(job, template)
        result.intake = intake
        result.layers = box.layers().to_dict()
        return result
    result = JobResult(
        job.assignment, job.notebook, job.student_id, JobStatus.GRADED, 0.0, template.max_score
    )
    result.intake = intake
    result.manual_cells = template.manual_ids
    result.unchanged_answers = [
        cell.grade_id
        for cell in template.answer_cells
        if cell.grade_id and notebook.cells[cell.index].source == cell.release_source
    ]
    if job.submission_path is None:  # as nbgrader: a missing notebook scores zero unrun
        result.verdicts = [
            TestVerdict(test_id, VerdictStatus.MISSING, 0.0, points, message=MISSING_NOTE)
            for test_id, points in template.autograded_points.items()
        ]
        result.layers = box.layers().to_dict()
        return result
    tested = [registry[grade_id] for grade_id in template.autograded_points if grade_id in registry]
    with job_directory() as dirs:
        prepare_workdir(
            dirs,
            notebook,
            tested,
            lambda spec, directory: write_inputs(spec, directory, job.term_seed, job.student_id),
            job.extra_files,
        )
        # Reached only where CUDA is visible (above): the job may use the GPUs.
        run = box.run(dirs.workdir, replace(job.limits, gpu=True) if job.needs_gpu else job.limits)
        report = read_runner_report(dirs.results)
        result.execution = execution_summary(run, report)
        result.layers = run.layers.to_dict()
        if not runner_started(run) and not run.timed_out:
            raise RuntimeError(
                "the runner did not start in the sandbox (no student code ran); its stderr:\n"
                + result.execution["stderr_tail"]
            )
        verdicts, unspecified = decide_all(
            template,
            registry,
            dirs.trusted_inputs,
            safe_outputs_dir(dirs),
            report,
            job.forbidden_calls,
        )
    for grade_id in unspecified:
        log.error(
            "grader error in %s/%s: test %r has no check spec in %s",
            job.assignment,
            job.notebook,
            grade_id,
            registry.source,
        )
    result.verdicts = verdicts
    result.score = math.fsum(verdict.points for verdict in verdicts)
    result.status = JobStatus.TIMEOUT if run.timed_out else JobStatus.GRADED
    return result


def grade_submission(job: GradingJob, box: Box) -> JobResult:
    """Grade one job in ``box``; never raises (grader failures become status ``error``)."""
    started = time.monotonic()
    try:
        result = _grade(job, box)
    except Exception as error:
        log.exception("grading %s failed", "/".join(job.key))
        result = JobResult.failed(job, error, traceback.format_exc())
    try:
        result.fingerprint = job.fingerprint()
    except OSError as error:  # a file vanished mid-run: still return the result
        result.error += f"\nfingerprint unavailable: {error}"
    result.seconds = time.monotonic() - started
    return result


# --- executors --------------------------------------------------------------------------


def default_runtime_dest() -> Path:
    """Where this machine's student runtimes are built: private to the driver's uid."""
    return Path(tempfile.gettempdir()) / f"autograder-runtime-{os.geteuid()}"


BOX_ENV_VAR = "AUTOGRADER_BOX"
"""``warm``, ``cold`` or ``auto`` (the default): which box a grading process uses.

``auto`` takes the warm box (a pre-imported zygote that forks one child per job; it
needs root, to give every job its own uid) and falls back to the cold box (a fresh
interpreter per job) where the warm box cannot start, logging why.
"""


def _claim_warm_box(warm_box: Any, runtime: Path, tries: int = 256) -> Box:
    """A one-slot warm box on the first free job uid from 61000 up.

    Executors run one grading process per core, each with its own box; uids are
    reserved host-wide, so each process takes the next uid nobody holds.
    """
    from autograder.box.warm.files import UidInUse

    for offset in range(tries):
        try:
            return warm_box(runtime, slots=1, uid_base=61000 + offset)
        except UidInUse:
            continue
    raise RuntimeError(f"no free job uid in 61000..{61000 + tries - 1} for a warm box")


@functools.cache
def process_box() -> Box:
    """This process's box, built on first use and closed when the process exits."""
    from autograder.box.cold import ColdBox
    from autograder.studentlib import build_runtime

    choice = os.environ.get(BOX_ENV_VAR, "auto").strip().lower()
    if choice not in ("auto", "warm", "cold"):
        raise ValueError(f"{BOX_ENV_VAR} must be auto, warm or cold, got {choice!r}")
    runtime = build_runtime(default_runtime_dest())
    box: Box | None = None
    if choice == "warm" or (choice == "auto" and os.geteuid() == 0):
        from autograder.box.warm import WarmBox

        try:
            box = _claim_warm_box(WarmBox, runtime)
        except Exception:
            if choice == "warm":
                raise
            log.warning("warm box unavailable, grading with the cold box", exc_info=True)
    if box is None:
        box = ColdBox(runtime)
    atexit.register(box.close)
    if (
        multiprocessing.parent_process() is not None
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        # A pool ends its workers with SIGTERM: leave through atexit, so the box closes
        # (its zygote, uids and state dir) instead of dying with them held. (A Dask
        # worker grades in a thread, where no handler can be set; its nanny ends it.)
        signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    return box


def grade_submission_dict(job: GradingJob) -> dict[str, Any]:
    """:func:`grade_submission` in this process's box, as JSON-ready data (for executors)."""
    try:
        box = process_box()
    except Exception as error:
        log.exception("no box for %s", "/".join(job.key))
        return JobResult.failed(job, error, traceback.format_exc()).to_dict()
    return grade_submission(job, box).to_dict()
