"""Scale-out executor: grade on an existing Dask distributed cluster.

The cluster is started elsewhere (by hand, by dask-jobqueue on SLURM, by dask-kubernetes;
see ``docs/SCALING.md``); this module only connects a client to its scheduler. Workers
import the job function from their own checkout and send back plain result dicts; the
driver stays the only writer of journal and gradebook.

GPU routing uses Dask *resources*: a GPU job asks for one unit of ``gpu_resource``, so
only workers started with ``--resources GPU=1`` run it, one at a time each. When no
worker advertises the resource, GPU jobs are not submitted (they would wait forever)
and come back awaiting a GPU.

Failures, and who retries them:
- the job function raises: the scheduler reruns the task up to ``retries`` more times,
  possibly on another worker (a worker missing bubblewrap or a mount can be the cause);
- the worker process dies mid-job: the scheduler reschedules the task on a live worker
  by itself and, once workers died under it more than the scheduler's
  ``distributed.scheduler.allowed-failures`` (default 3), gives up with ``KilledWorker``.
  That limit is scheduler configuration, not a per-task setting, so it is set where the
  scheduler is started, not here.
Either way the final failure comes back as an ERROR result, never an exception, and a
job that killed its worker twice says so in its error (``WORKER_DIED``, also on the
student's feedback page). The scheduler itself going away is not a job's failure: the
batch stops with :class:`~autograder.executors.base.ExecutorLost` and the next run
continues from the journal.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

from distributed import Client, Future, as_completed
from distributed.scheduler import KilledWorker

from autograder.executors.base import (
    DEFAULT_JOB_FN,
    Executor,
    ExecutorLost,
    JobFnRef,
    awaiting_gpu_result,
    call_job_fn,
    check_job_fn_ref,
)
from autograder.job import WORKER_DIED, GradingJob, JobResult


def task_key(job: GradingJob) -> str:
    """The Dask key of a job: who and what, plus a fingerprint prefix.

    Deterministic on purpose: submitting a job whose task is still known to the
    scheduler returns the existing future instead of grading it twice, and a changed
    submission (new fingerprint) gets a new key.
    """
    return f"grade/{job.assignment}/{job.student_id}/{job.notebook}/{job.fingerprint()[:16]}"


class DaskExecutor(Executor):
    """Grades jobs on the Dask cluster whose scheduler listens at ``address``.

    ``job_fn``: the job function or its ``"module:function"`` name (resolved on the
    worker). ``gpu_resource``: the resource name GPU workers advertise. ``retries``: how
    many times a job whose function raised is run again. ``connect_timeout``: seconds to
    wait for the scheduler.
    """

    def __init__(
        self,
        address: str,
        job_fn: JobFnRef = DEFAULT_JOB_FN,
        gpu_resource: str = "GPU",
        *,
        retries: int = 1,
        connect_timeout: float = 30.0,
    ) -> None:
        check_job_fn_ref(job_fn)
        if retries < 0:
            raise ValueError(f"retries must be at least 0, got {retries}")
        self.job_fn = job_fn
        self.gpu_resource = gpu_resource
        self.retries = retries
        # Not the default client: the driver may hold others, and nothing here should
        # pick this one up implicitly.
        self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        self._lost = False

    @property
    def has_gpu(self) -> bool:
        """Whether some worker now advertises the GPU resource (asked live: workers come
        and go on batch systems)."""
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except TypeError:  # distributed before 2025 has no n_workers and lists all workers
            info = self.client.scheduler_info()
        workers = info["workers"].values()
        return any(w.get("resources", {}).get(self.gpu_resource, 0) >= 1 for w in workers)

    def map_unordered(self, jobs: Sequence[GradingJob]) -> Iterator[tuple[GradingJob, dict]]:
        """Submit every job and yield each with its result dict as soon as it is back.

        Identical jobs in one batch share one task (same key) and each gets the result.
        """
        gpu_ok = self.has_gpu
        jobs_by_key: dict[str, list[GradingJob]] = {}
        waiting: list[GradingJob] = []
        futures: list[Future] = []
        for job in jobs:
            if job.needs_gpu and not gpu_ok:
                waiting.append(job)
                continue
            key = task_key(job)
            if key not in jobs_by_key:
                futures.append(self._submit(job, key))
            jobs_by_key.setdefault(key, []).append(job)
        for job in waiting:
            yield job, awaiting_gpu_result(job)
        again: set[str] = set()
        try:
            # Our client is not the default one, so as_completed must be given its loop.
            completed = as_completed(futures, loop=self.client.loop)
            for future in completed:
                if future.status == "cancelled":  # we never cancel: the scheduler is gone
                    self._lost = True
                    raise ExecutorLost(
                        f"lost the Dask scheduler {self.client.scheduler.address} mid-run; "
                        "every result that came back is journaled: start it again and rerun "
                        "the same command to grade the rest"
                    )
                if _killed(future) and future.key not in again:
                    # Dask blames every task on a dying worker, an innocent neighbour of
                    # a killer too: each gets one fresh start before it is an ERROR.
                    key = f"{future.key}/again"
                    again.add(key)
                    jobs_by_key[key] = jobs_by_key.pop(future.key)
                    retry = self._submit(jobs_by_key[key][0], key)
                    futures.append(retry)
                    completed.add(retry)
                    future.release()
                    continue
                for job in jobs_by_key[future.key]:
                    yield job, self._result_of(future, job)
                # Dropping our reference lets the scheduler forget the task and its result.
                future.release()
        finally:
            # The caller stopped early: tasks nobody holds a future for are cancelled.
            for future in futures:
                future.release()

    def close(self) -> None:
        """Disconnect from the scheduler; the cluster itself keeps running."""
        if not self._lost:
            self.client.close()
            return
        # Closing cancels the client's attempts to reconnect, which distributed logs as a
        # traceback: after the one line that said the scheduler is gone, noise.
        quiet = [logging.getLogger(name) for name in ("distributed.utils", "distributed.client")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.CRITICAL)
        try:
            self.client.close()
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)

    def _submit(self, job: GradingJob, key: str) -> Future:
        resources = {self.gpu_resource: 1} if job.needs_gpu else None
        return self.client.submit(
            call_job_fn,
            self.job_fn,
            job,
            key=key,
            pure=False,
            resources=resources,
            retries=self.retries,
        )

    @staticmethod
    def _result_of(future: Future, job: GradingJob) -> dict[str, Any]:
        """The job's result dict, or an ERROR result saying why there is none."""
        try:
            return future.result()
        except KilledWorker as error:  # workers died under it past allowed-failures
            return JobResult.failed(job, WORKER_DIED, f"{type(error).__name__}: {error}").to_dict()
        except Exception as error:
            # distributed re-raises with the worker's frames attached: keep them for the
            # course team (a KilledWorker has none; its message says what happened).
            frames = "".join(traceback.format_tb(error.__traceback__))
            return JobResult.failed(job, error, frames).to_dict()


def _killed(future: Future) -> bool:
    """Whether the task ended because the workers running it died (Dask's KilledWorker)."""
    return future.status == "error" and isinstance(future.exception(), KilledWorker)
