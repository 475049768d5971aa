"""A real Dask cluster on 127.0.0.1 for the executor tests: CLI processes, torn down reliably.

The scheduler and each worker are started with the ``dask`` command from this
environment, each in its own session so that teardown can signal the whole process
group (a worker's nanny spawns the worker process as its child). Workers get this
directory on ``PYTHONPATH`` so they can import :mod:`executor_jobs`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from distributed import Client

DASK = str(Path(sys.executable).with_name("dask"))
HERE = Path(__file__).resolve().parent

#: Workers may die under a task once and it is rescheduled; the second death ends it
#: (the scheduler's default of 3 would make the give-up test restart workers 4 times).
ALLOWED_FAILURES = 1

#: Generous: seven agents share two cores, and a worker start imports distributed.
START_SECONDS = 120.0


@dataclass(frozen=True)
class WorkerSpec:
    """One ``dask worker`` process: its name and the resources it advertises."""

    name: str
    resources: dict[str, int] = field(default_factory=dict)


@dataclass
class DaskTestCluster:
    """A running scheduler and workers; ``stop`` ends every process this started."""

    address: str
    directory: Path
    workers: tuple[WorkerSpec, ...]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def wait_for_workers(self, timeout: float = START_SECONDS) -> None:
        """Block until every worker (re)registered with the scheduler."""
        wanted = {spec.name for spec in self.workers}
        deadline = time.monotonic() + timeout
        with Client(self.address, timeout=30, set_as_default=False) as client:
            while True:
                info = client.scheduler_info(n_workers=-1)["workers"].values()
                if wanted <= {str(worker["name"]) for worker in info}:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"workers {wanted} did not register:\n{self.logs()}")
                time.sleep(0.2)

    def logs(self) -> str:
        """The tail of every process log, for a failing fixture's message."""
        parts = []
        for log in sorted(self.directory.glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """SIGTERM each process group (workers first), then SIGKILL what is left."""
        for process in reversed(self.processes):
            _signal_group(process, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            # Also reaches a worker process its nanny left behind.
            _signal_group(process, signal.SIGKILL)
            process.wait()


def start_cluster(directory: Path, workers: tuple[WorkerSpec, ...]) -> DaskTestCluster:
    """Start a scheduler on a free port of 127.0.0.1 and the given workers; wait for them."""
    directory.mkdir(parents=True, exist_ok=True)
    scheduler_file = directory / "scheduler.json"
    env = {
        **os.environ,
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    cluster = DaskTestCluster(address="", directory=directory, workers=workers)
    try:
        cluster.processes.append(
            _launch(
                [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
                + ["--scheduler-file", str(scheduler_file)],
                directory / "scheduler.log",
                env,
            )
        )
        cluster.address = _read_address(scheduler_file, cluster)
        for spec in workers:
            command = [DASK, "worker", cluster.address, "--name", spec.name]
            command += ["--nworkers", "1", "--nthreads", "1", "--no-dashboard"]
            command += ["--host", "127.0.0.1", "--memory-limit", "0"]
            command += ["--local-directory", str(directory / spec.name)]
            if spec.resources:
                pairs = " ".join(f"{key}={value}" for key, value in spec.resources.items())
                command += ["--resources", pairs]
            cluster.processes.append(_launch(command, directory / f"{spec.name}.log", env))
        cluster.wait_for_workers()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _launch(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _read_address(scheduler_file: Path, cluster: DaskTestCluster) -> str:
    """The scheduler's address, once it has written its scheduler file."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            if cluster.processes[0].poll() is not None:
                break
            time.sleep(0.1)
    raise RuntimeError(f"the scheduler did not start:\n{cluster.logs()}")


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group this helper created for ``process`` (its pid is the pgid)."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
