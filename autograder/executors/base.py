"""What every executor shares: the protocol, the job function, and results for jobs not graded.

An executor runs one *job function* (``GradingJob -> JobResult.to_dict()``) for many jobs
in parallel and yields each result as soon as it exists. The function is named by
reference (``"module:attribute"``) so that it is imported inside the worker process
that runs it, not pickled from the driver: a worker on another machine needs only the
same checkout, and the driver never imports the grading pipeline just to hand it over.

Two results come from here rather than from the pipeline, because the pipeline never
ran (both built by :class:`~autograder.job.JobResult`'s constructors):
- :func:`awaiting_gpu_result`: the job needs a GPU and no runner has one;
- ``JobResult.failed``: the job function raised or its worker process died.
Neither carries a fingerprint: neither outcome is final (a GPU runner may join, a
crash may have been the machine's fault), so a resumed run grades them again.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from autograder.faults import fault_point
from autograder.job import GradingJob, JobResult

JobFn = Callable[[GradingJob], dict[str, Any]]
"""Grades one job in the calling process and returns ``JobResult.to_dict()``."""

JobFnRef = str | JobFn
"""A job function, or its ``"package.module:function"`` name resolved where it runs."""

DEFAULT_JOB_FN = "autograder.pipeline:grade_submission_dict"


class ExecutorLost(RuntimeError):
    """The executor lost what runs its jobs (a Dask scheduler went away) mid-run.

    Every result that came back before is journaled; the same command, run again once
    the cluster is back, grades the rest.
    """


@runtime_checkable
class Executor(Protocol):
    """Runs the job function for many jobs; yields ``(job, result dict)`` as each finishes.

    The executors subclass it for its context-manager behaviour."""

    @property
    def has_gpu(self) -> bool:
        """Whether GPU jobs can run here; when not, they come back awaiting a GPU."""
        ...

    def map_unordered(self, jobs: Sequence[GradingJob]) -> Iterator[tuple[GradingJob, dict]]:
        """Yield every job once with its result, in completion order; never raises per job."""
        ...

    def close(self) -> None:
        """Release worker processes or cluster connections."""
        ...

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leaving the ``with`` block closes the executor (subclasses inherit this)."""
        self.close()


def check_job_fn_ref(ref: JobFnRef) -> None:
    """Reject a malformed reference in the driver, before any worker tries to resolve it.

    Only the shape is checked: importing the module is the worker's business.
    """
    if callable(ref):
        return
    module, sep, attribute = ref.partition(":") if isinstance(ref, str) else ("", "", "")
    if not (sep and module and attribute):
        raise ValueError(f"job function must be callable or 'module:function', got {ref!r}")


def resolve_job_fn(ref: JobFnRef) -> JobFn:
    """The callable behind a job function reference (imports its module if needed)."""
    if callable(ref):
        return ref
    check_job_fn_ref(ref)
    module_name, _, attribute = ref.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"job function {ref!r} is not callable")
    return target


def call_job_fn(ref: JobFnRef, job: GradingJob) -> dict[str, Any]:
    """Run the job function on one job; raises if it raises or returns something else.

    The Dask executor submits this one, so that the scheduler sees the failure and can
    retry it on another worker.
    """
    fault_point("job", job.student_id)
    result = resolve_job_fn(ref)(job)
    if not isinstance(result, dict):
        raise TypeError(f"job function returned {type(result).__name__}, not a result dict")
    return result


def run_job(ref: JobFnRef, job: GradingJob) -> dict[str, Any]:
    """Like :func:`call_job_fn`, but a failure becomes an ERROR result instead of raising.

    The local pool runs this one: the traceback is formatted in the worker, where it
    still exists, and a raising job cannot be confused with a dying worker.
    """
    try:
        return call_job_fn(ref, job)
    except Exception as error:
        return JobResult.failed(job, error, traceback.format_exc()).to_dict()


def awaiting_gpu_result(job: GradingJob) -> dict:
    """The result of a GPU job that was not run because no GPU runner is available.

    The maximum score and the tests come from the template, so reports can show what
    is outstanding. A template that cannot be read is the course team's problem, so
    that becomes ERROR.
    """
    # Imported here: intake pulls in nbformat (seconds), which a worker that only runs
    # jobs never needs when the job function itself does not.
    from autograder.intake import load_template

    try:
        template = load_template(job.template_path)
    except Exception as error:
        return JobResult.failed(job, error).to_dict()
    return JobResult.awaiting_gpu(job, template).to_dict()
