"""Executors: run the job function for many grading jobs in parallel.

- :class:`LocalExecutor`: a process pool on this machine (the default);
- :class:`DaskExecutor`: an existing Dask distributed cluster (see ``docs/SCALING.md``).

Both follow the :class:`Executor` protocol: ``map_unordered(jobs)`` yields
``(job, JobResult dict)`` pairs in completion order and never raises for one job.
``DaskExecutor`` is imported on first use, so local grading never imports distributed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autograder.executors.base import Executor, awaiting_gpu_result, resolve_job_fn
from autograder.executors.local import LocalExecutor

if TYPE_CHECKING:
    from autograder.executors.dask import DaskExecutor

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "awaiting_gpu_result", "resolve_job_fn"]


def __getattr__(name: str) -> Any:
    if name == "DaskExecutor":
        from autograder.executors.dask import DaskExecutor

        return DaskExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
