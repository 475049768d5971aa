"""Job functions for the executor tests, importable by pool and Dask worker processes.

Each test job carries a *script* in its submission file (JSON, see :class:`Script`)
saying what the job function should do: sleep, wait for another job, raise, or kill
its own worker process. The function reports where it ran (pid, Dask worker name and
resources) in the result's ``execution`` field, so tests can check routing without
looking inside the executor.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from autograder.job import GradingJob, JobResult, JobStatus

Action = Literal["ok", "raise", "exit", "exit_once"]

#: The name tests pass as ``job_fn`` (resolved inside the worker, as the default is).
SCRIPTED = "executor_jobs:scripted_job"

#: Longest a job waits for another job's file before giving up (a failing test, not a hang).
WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Script:
    """What :func:`scripted_job` does for one job."""

    action: Action = "ok"
    sleep: float = 0.0
    ran_log: str = ""
    """Append one line per start of the job function (proves whether and how often it ran)."""
    wait_for: str = ""
    """Block until this file exists (another job's ``touch``)."""
    touch: str = ""
    """Create this file once the sleep is over, before any scripted failure."""
    marker: str = ""
    """For ``exit_once``: exists after the first attempt, holding that attempt's worker."""
    at_exit: str = ""
    """Create this file from an ``atexit`` hook of the worker process (as boxes close)."""


def write_job(
    directory: Path,
    name: str,
    script: Script,
    template: Path,
    *,
    needs_gpu: bool = False,
) -> GradingJob:
    """A job for student ``name`` whose submission file holds ``script``."""
    directory.mkdir(parents=True, exist_ok=True)
    submission = directory / f"{name}.script.json"
    submission.write_text(json.dumps(asdict(script)), encoding="utf-8")
    return GradingJob(
        assignment="a1",
        notebook="hw1",
        student_id=name,
        submission_path=submission,
        template_path=template,
        specs_path=template,
        term_seed=7,
        needs_gpu=needs_gpu,
    )


def worker_identity() -> dict[str, Any]:
    """The Dask worker running this call (name and resources), or nulls outside Dask."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # ValueError: not inside a Dask worker
        return {"worker": None, "worker_resources": {}}
    return {"worker": str(worker.name), "worker_resources": dict(worker.state.total_resources)}


def scripted_job(job: GradingJob) -> dict[str, Any]:
    """Follow the job's script; return a graded result (score 1 of 1) saying where it ran."""
    script = Script(**json.loads(Path(job.submission_path).read_text(encoding="utf-8")))
    started = time.monotonic()
    identity = worker_identity()
    if script.ran_log:
        with open(script.ran_log, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {identity['worker']}\n")
    if script.at_exit:
        atexit.register(Path(script.at_exit).touch)
    if script.wait_for:
        deadline = started + WAIT_SECONDS
        while not Path(script.wait_for).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{script.wait_for} never appeared")
            time.sleep(0.02)
    time.sleep(script.sleep)
    if script.touch:
        Path(script.touch).touch()
    # The failures come last, after touch, so a test can know another job is in flight.
    first_worker = None
    if script.action == "exit_once":
        marker = Path(script.marker)
        if not marker.exists():
            marker.write_text(json.dumps(identity["worker"]), encoding="utf-8")
            os._exit(17)
        first_worker = json.loads(marker.read_text(encoding="utf-8"))
    if script.action == "exit":
        os._exit(17)
    if script.action == "raise":
        raise RuntimeError(f"scripted failure for {job.student_id}")
    return JobResult(
        assignment=job.assignment,
        notebook=job.notebook,
        student_id=job.student_id,
        status=JobStatus.GRADED,
        score=1.0,
        max_score=1.0,
        execution={
            "pid": os.getpid(),
            "first_worker": first_worker,
            "started": started,
            "ended": time.monotonic(),
            **identity,
        },
        fingerprint=job.fingerprint(),
    ).to_dict()
