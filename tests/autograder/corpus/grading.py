"""Grade a corpus course with the real driver, the local executor and the default box.

Two things differ from a plain ``grade_assignment`` call, both through public hooks:

- the job function tightens the limits (:data:`CORPUS_LIMITS`): the course default of
  300 s per notebook would make every deadline-bound attack cost five minutes. The
  driver has no setting for limits, so the executor's ``job_fn`` applies them;
- the grading processes run with a secret in ``GRADER_SECRET_TOKEN`` and with
  ``TMPDIR`` inside a folder named after the run marker. Work dirs and the student
  runtime are made under ``TMPDIR``, so every sandboxed process's command line holds
  the marker, which is how the audit finds processes that outlived their job.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autograder.driver import GradingSummary, grade_assignment
from autograder.executors import LocalExecutor
from autograder.job import GradingJob
from autograder.sandbox import Limits
from corpus.notebooks import ASSIGNMENT

CORPUS_LIMITS = Limits(wall_seconds=30.0, cpu_seconds=40, kill_grace_seconds=3.0)
"""Per-notebook limits in the corpus: a correct notebook needs a few seconds."""

JOB_FN = "corpus.grading:grade_with_corpus_limits"
SECRET_VARIABLE = "GRADER_SECRET_TOKEN"


INSECURE_JOB_FN = "corpus.grading:grade_without_isolation"


def grade_with_corpus_limits(job: GradingJob) -> dict[str, Any]:
    """The default job function, with :data:`CORPUS_LIMITS` (runs in executor workers)."""
    from autograder.pipeline import grade_submission_dict

    return grade_submission_dict(replace(job, limits=CORPUS_LIMITS))


@functools.cache
def _insecure_box() -> Any:
    from autograder.box.cold import ColdBox
    from autograder.pipeline import default_runtime_dest
    from autograder.studentlib import build_runtime

    return ColdBox(
        build_runtime(default_runtime_dest()), use_bwrap=False, user=None, namespaces=False
    )


def grade_without_isolation(job: GradingJob) -> dict[str, Any]:
    """The pipeline in a cold box without bubblewrap and without dropping root.

    The audit's own positive control: graded this way, the escaping attacks must show
    up in the harm figures, which proves the audit can see them.
    """
    from autograder.pipeline import grade_submission

    return grade_submission(replace(job, limits=CORPUS_LIMITS), _insecure_box()).to_dict()


@dataclass(frozen=True)
class GradingRun:
    """How one grading of a course went."""

    summary: GradingSummary | None
    seconds: float
    error: str = ""
    """Set when ``grade_assignment`` raised: the batch aborted."""


@contextmanager
def grading_environment(marker: str, secret: str, scratch: Path) -> Iterator[Path]:
    """Put the secret and a marker-named ``TMPDIR`` in this process's environment.

    Executor workers are spawned from here and inherit both; the old values come back
    afterwards. Yields the temporary folder.
    """
    tmpdir = scratch / f"tmp-{marker}"
    tmpdir.mkdir(parents=True, exist_ok=True)
    tmpdir.chmod(0o755)  # job uids must pass through it to reach their work dirs
    saved = {name: os.environ.get(name) for name in (SECRET_VARIABLE, "TMPDIR")}
    os.environ[SECRET_VARIABLE] = secret
    os.environ["TMPDIR"] = str(tmpdir)
    try:
        yield tmpdir
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def grade_course(course_dir: Path, *, workers: int = 2, job_fn: str = JOB_FN) -> GradingRun:
    """Grade the corpus assignment of ``course_dir``; never raises for a batch abort."""
    started = time.monotonic()
    try:
        with LocalExecutor(workers, job_fn=job_fn, has_gpu=False) as executor:
            summary = grade_assignment(course_dir, ASSIGNMENT, executor=executor, progress=False)
    except Exception as error:  # the figure "batch aborts" counts exactly this
        return GradingRun(None, time.monotonic() - started, f"{type(error).__name__}: {error}")
    return GradingRun(summary, time.monotonic() - started)
