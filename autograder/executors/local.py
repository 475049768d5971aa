"""The embedded default executor: a pool of worker processes on this machine.

Start method: ``spawn``, always. Forking the driver is unsafe: it has imported torch,
whose OpenMP and intra-op thread pools may already be running, and it probes CUDA for
:attr:`LocalExecutor.has_gpu`, which initialises the driver (a CUDA context does not
survive ``fork``); a forked child inherits locks held by threads that do not exist in it
and can deadlock. ``forkserver`` avoids that too, but its workers end with ``os._exit``,
so their ``atexit`` hooks never run, and the pipeline closes each worker's cached
sandbox box from ``atexit``. ``spawn`` workers are fresh interpreters that exit normally.
Their start cost (one interpreter and its imports) is paid once per worker, because
workers are reused for every job.

Worker deaths: when a worker process dies (``os._exit``, a segfault, the OOM killer),
:class:`~concurrent.futures.ProcessPoolExecutor` fails *every* unfinished job with
``BrokenProcessPool``, not only the one that killed it. Blaming all of them would give
innocent students an ERROR, so the pool is rebuilt and the jobs that were in flight are
rerun one at a time in fresh workers: a job whose worker dies again while it runs alone
has killed two workers and gets an ERROR result; the others come back graded. At most
``workers`` jobs are ever in flight, which keeps that set of suspects small.

The driver's death: each worker asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), so a killed driver takes its workers along, and with them their
sandbox boxes (a warm box's zygote dies with its worker, a job with its zygote) and
multiprocessing's resource tracker, which exits once no process holds its pipe. The
signal follows the *thread* that started the worker: workers are started by the thread
that calls :meth:`LocalExecutor.map_unordered`, which must outlive the executor.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from autograder.executors.base import (
    DEFAULT_JOB_FN,
    Executor,
    JobFnRef,
    awaiting_gpu_result,
    check_job_fn_ref,
    run_job,
)
from autograder.job import WORKER_DIED, GradingJob, JobResult
from autograder.runner.supervisor import PR_SET_PDEATHSIG, prctl


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: SIGKILL this worker when the driver that started it dies."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the driver died before the line above took effect
        os._exit(1)


def cuda_available() -> bool:
    """Whether torch in this process sees a CUDA device."""
    import torch  # imported here: the executor module stays cheap to import

    return bool(torch.cuda.is_available())


def _start_worker(parent_pid: int) -> None:
    """Pool initializer: the worker dies with the driver (:func:`die_with_parent`) and
    ignores SIGINT: Ctrl-C reaches the terminal's whole process group, and the driver
    alone decides how to stop (it lets running jobs finish), so workers do not each print
    a traceback. The setting is inherited by the sandbox."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class _Batch:
    """The state of one ``map_unordered`` call: queues, jobs in flight, crash suspects."""

    cpu: deque[GradingJob]
    gpu: deque[GradingJob]
    in_flight: dict[Future, GradingJob] = field(default_factory=dict)
    suspects: deque[GradingJob] = field(default_factory=deque)
    """Jobs that were in flight when a worker died; rerun alone to find the cause."""
    died_once: set[tuple[str, str, str]] = field(default_factory=set)
    """Keys of jobs whose worker died under them once already."""

    def next_job(self, gpu_slots: int) -> GradingJob | None:
        """The next job to start: a GPU job while a GPU slot is free, else a CPU job."""
        gpu_busy = sum(job.needs_gpu for job in self.in_flight.values())
        if self.gpu and gpu_busy < gpu_slots:
            return self.gpu.popleft()
        if self.cpu:
            return self.cpu.popleft()
        return None


class LocalExecutor(Executor):
    """Grades jobs in parallel worker processes on this machine.

    ``workers``: worker processes, one per core by default (each drives one sandboxed
    notebook at a time). ``job_fn``: the job function or its ``"module:function"`` name.
    ``gpu_slots``: GPU jobs allowed to run at once, so two notebooks training on the one
    GPU cannot run each other out of memory. ``has_gpu``: ``None`` asks torch.
    """

    def __init__(
        self,
        workers: int | None = None,
        job_fn: JobFnRef = DEFAULT_JOB_FN,
        *,
        gpu_slots: int = 1,
        has_gpu: bool | None = None,
    ) -> None:
        check_job_fn_ref(job_fn)
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if gpu_slots < 1:
            raise ValueError(f"gpu_slots must be at least 1, got {gpu_slots}")
        self.workers = workers or os.cpu_count() or 1
        self.job_fn = job_fn
        self.gpu_slots = gpu_slots
        self._context = multiprocessing.get_context("spawn")  # see the module docstring
        self._has_gpu = cuda_available() if has_gpu is None else has_gpu
        self._pool: ProcessPoolExecutor | None = None
        """Started on the first submission, so a batch with nothing to run starts nothing."""

    @property
    def has_gpu(self) -> bool:
        """Whether GPU jobs run here; otherwise they come back awaiting a GPU."""
        return self._has_gpu

    def map_unordered(self, jobs: Sequence[GradingJob]) -> Iterator[tuple[GradingJob, dict]]:
        """Yield each job with its result dict as soon as it is ready; never raises per job."""
        jobs = list(jobs)  # read three times below; a generator would be spent after one
        waiting = [job for job in jobs if job.needs_gpu and not self.has_gpu]
        batch = _Batch(
            cpu=deque(job for job in jobs if not job.needs_gpu),
            gpu=deque(job for job in jobs if job.needs_gpu and self.has_gpu),
        )
        # Workers start on the first jobs before the caller sees the not-run GPU jobs.
        self._fill(batch)
        for job in waiting:
            yield job, awaiting_gpu_result(job)
        try:
            while batch.in_flight:
                yield from self._collect(batch)
        finally:
            # The caller stopped early: drop what has not started; close() waits for the rest.
            for future in batch.in_flight:
                future.cancel()

    def close(self) -> None:
        """Stop the worker processes, waiting for jobs that are still running."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _fill(self, batch: _Batch) -> None:
        """Start jobs until every worker is busy (or one suspect, alone, while any remain)."""
        if batch.suspects:
            if not batch.in_flight:
                self._submit(batch, batch.suspects.popleft())
            return
        while len(batch.in_flight) < self.workers:
            job = batch.next_job(self.gpu_slots)
            if job is None:
                return
            self._submit(batch, job)

    def _submit(self, batch: _Batch, job: GradingJob) -> None:
        """Hand one job to the pool, rebuilding it if it broke since the last look."""
        try:
            future = self._running_pool().submit(run_job, self.job_fn, job)
        except BrokenProcessPool:
            # A worker died between jobs (nothing of ours was on it): start over once.
            self.close()  # a broken pool: its processes are gone or going
            future = self._running_pool().submit(run_job, self.job_fn, job)
        batch.in_flight[future] = job

    def _collect(self, batch: _Batch) -> list[tuple[GradingJob, dict]]:
        """Wait for at least one job to end; return the finished ones and start more."""
        done, _ = wait(batch.in_flight, return_when=FIRST_COMPLETED)
        if any(isinstance(future.exception(), BrokenProcessPool) for future in done):
            # A broken pool fails every in-flight job; gather all of them before deciding.
            done, _ = wait(batch.in_flight)
        finished: list[tuple[GradingJob, dict]] = []
        broken: list[GradingJob] = []
        for future in done:
            job = batch.in_flight.pop(future)
            error = future.exception()
            if error is None:
                finished.append((job, future.result()))
            elif isinstance(error, BrokenProcessPool):
                broken.append(job)
            else:  # the job ran but its result could not come back (e.g. not picklable)
                finished.append((job, JobResult.failed(job, error).to_dict()))
        if broken:
            self.close()  # a broken pool: its processes are gone or going
            for job in broken:
                if len(broken) == 1 and job.key in batch.died_once:
                    finished.append((job, JobResult.failed(job, WORKER_DIED).to_dict()))
                else:  # first death, or not alone: rerun it alone in a fresh worker
                    batch.died_once.add(job.key)
                    batch.suspects.append(job)
        self._fill(batch)
        return finished

    def _running_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._context,
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        return self._pool
