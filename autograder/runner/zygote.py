"""The warm box's zygote: a pre-imported Python that forks one sandboxed child per job.

:class:`autograder.box.warm.WarmBox` starts this once, inside bubblewrap when it can,
from the student runtime. It imports the heavy modules (numpy, torch, IPython,
matplotlib) a single time; every job is then a ``fork()`` of it, which costs
milliseconds instead of the seconds a fresh interpreter spends on ``import torch``.
Each child is a fresh copy-on-write process tree: what one job changes in memory
(a monkeypatched numpy) is invisible to every other. What a child does before the
job's code runs is in :mod:`autograder.runner.zygote_child`; when a job's main
process exits, the driver asks for a kill at the deadline, or the job's processes
together hold more than its memory cap (summed every ``MEMORY_INTERVAL``), the zygote
kills every process of the job's uid (:func:`autograder.runner.supervisor.kill_uid`)
before it reports.

Protocol: one ``AF_UNIX``/``SOCK_SEQPACKET`` socket inherited as ``control_fd``, one
JSON object per packet.

driver → zygote::

    {"op": "run", "job": ID, "uid": N, "workdir": PATH, "entry": "module:function",
     "kwargs": {...}, "rlimits": [[NAME, SOFT, HARD], ...], "threads": N,
     "job_memory_bytes": N, "tmpfs_bytes": N}
        with the job's stdout and stderr write ends attached (SCM_RIGHTS)
    {"op": "kill", "job": ID}
    end of file: kill every job, then exit

zygote → driver::

    {"event": "ready", "protocol": N, "pid": PID, "subreaper": BOOL, "setuid": BOOL,
     "private_ipc": BOOL, "preloaded": [...], "failed": {MODULE: ERROR}, "threads": N}
    {"event": "exit", "job": ID, "status": WAIT_STATUS,
     "reason": "exited"|"killed"|"memory_limit",
     "killed": N, "survivors": N}
    {"event": "exit", "job": ID, "error": TEXT}      (the job could not be started)

This module runs inside the sandbox, so it imports only the standard library, its
sibling modules, and (lazily) whatever it is told to preload.
"""

from __future__ import annotations

import gc
import importlib
import io
import json
import os
import selectors
import signal
import socket
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from autograder.runner.supervisor import (
    MEMORY_INTERVAL,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    become,
    flush_streams,
    job_memory,
    kill_uid,
    prctl,
    private_namespaces,
    processes,
)
from autograder.runner.zygote_child import run_child

PROTOCOL = 2
"""Bumped whenever a message changes; the driver refuses a zygote that speaks another."""

_MAX_PACKET = 1 << 20


# --- the zygote's loop ------------------------------------------------------------------------


@dataclass
class _Job:
    """One running job as the zygote tracks it."""

    job_id: str
    uid: int
    pid: int
    killed_count: int = 0
    survivors: int = 0
    memory_cap: int = 0
    """Bytes all the job's processes may hold together (0: no cap)."""
    kill_requested: bool = False
    over_memory: bool = False
    status: int | None = None


class Zygote:
    """Forks children on request, reaps them, and kills their uids when they end."""

    def __init__(
        self, control: socket.socket, uid_range: tuple[int, int], private_ipc: bool
    ) -> None:
        self.control = control
        self.uid_range = uid_range
        self.private_ipc = private_ipc
        self.jobs: dict[str, _Job] = {}
        self.by_pid: dict[int, _Job] = {}
        self.finished: list[_Job] = []
        self.pid = os.getpid()
        self._wake_r, wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(wake_w, False)
        # SIGCHLD only needs to interrupt select(); the wakeup fd makes it readable.
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self._wake_r, selectors.EVENT_READ)
        self.selector.register(control, selectors.EVENT_READ)

    def send(self, message: dict[str, Any]) -> None:
        with suppress(OSError):  # the driver is gone: EOF will end the loop
            self.control.send(json.dumps(message).encode())

    def reap(self) -> None:
        """Collect every exited child; remember the status of job main processes."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.by_pid.pop(pid, None)
            if job is not None:
                job.status = status
                self.finished.append(job)

    def start(self, request: dict[str, Any], fds: list[int]) -> None:
        """Fork the job's child; report an error instead when the request is bad."""
        job_id = str(request.get("job"))
        try:
            uid = int(request["uid"])
            low, high = self.uid_range
            if not low <= uid <= high or uid == 0:
                raise ValueError(f"uid {uid} is outside the job range {low}-{high}")
            if any(job.uid == uid for job in self.jobs.values()) or job_id in self.jobs:
                raise ValueError(f"job {job_id} or uid {uid} is already running")
            if len(fds) != 2:
                raise ValueError(f"expected 2 descriptors (stdout, stderr), got {len(fds)}")
            flush_streams()  # or the child inherits and re-flushes the zygote's buffers
            pid = os.fork()
            if pid == 0:
                run_child({**request, "private_ipc": self.private_ipc}, fds, self.pid)
        except Exception as exc:  # a bad request or a failed fork: the driver decides
            self.send({"event": "exit", "job": job_id, "error": f"{type(exc).__name__}: {exc}"})
            return
        finally:
            for fd in fds:
                os.close(fd)
        job = _Job(job_id, uid, pid, memory_cap=int(request.get("job_memory_bytes", 0)))
        self.jobs[job_id] = job
        self.by_pid[pid] = job

    def kill(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.status is None:
            job.kill_requested = True
            killed, _survivors = kill_uid(job.uid, self.reap)
            job.killed_count += killed

    def watch_memory(self) -> None:
        """Kill each running job whose processes together hold more than its cap."""
        capped = [job for job in self.jobs.values() if job.status is None and job.memory_cap]
        if not capped:
            return
        table = processes()
        for job in capped:
            pids = [p.pid for p in table if str(job.uid) in p.uids[:3] and not p.zombie]
            if job_memory(pids) > job.memory_cap:
                job.over_memory = True
                self.kill(job.job_id)

    def finish(self) -> None:
        """Clean up after, and report, every job whose main process has exited."""
        while self.finished:
            job = self.finished.pop(0)
            killed, job.survivors = kill_uid(job.uid, self.reap)
            job.killed_count += killed
            del self.jobs[job.job_id]
            reason = "killed" if job.kill_requested else "exited"
            reason = "memory_limit" if job.over_memory else reason
            self.send(
                {
                    "event": "exit",
                    "job": job.job_id,
                    "status": job.status,
                    "reason": reason,
                    "killed": job.killed_count,
                    "survivors": job.survivors,
                }
            )

    def handle(self) -> bool:
        """Act on one control packet; False at end of file."""
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.control, _MAX_PACKET, 2)
        except OSError:
            return False
        if not data:
            return False
        try:
            request = json.loads(data)
        except ValueError:
            request = {}
        if request.get("op") == "run":
            self.start(request, fds)
            return True
        for fd in fds:  # descriptors only travel with "run"
            os.close(fd)
        if request.get("op") == "kill":
            self.kill(str(request.get("job")))
        return True

    def serve(self) -> None:
        """Run until the driver closes the control socket, then kill every job."""
        running = True
        while running:
            timeout = MEMORY_INTERVAL if self.jobs else 1.0
            for key, _events in self.selector.select(timeout=timeout):
                if key.fd == self._wake_r:
                    with suppress(BlockingIOError):
                        while os.read(self._wake_r, 4096):
                            pass
                elif not self.handle():
                    running = False
            self.reap()
            self.watch_memory()
            self.finish()
        for job in list(self.jobs.values()):
            kill_uid(job.uid, self.reap)


# --- start-up -----------------------------------------------------------------------------


def preload(modules: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import each module once; (imported, {module: error}) for the ready message."""
    loaded: list[str] = []
    failed: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except BaseException as exc:  # a broken optional module must not stop the zygote
            failed[name] = f"{type(exc).__name__}: {exc}"[:500]
    return loaded, failed


def warm_up(loaded: list[str]) -> None:
    """Exercise what every job would otherwise set up again after the fork.

    Drawing one figure loads the font files, the Agg renderer and the PNG writer;
    a job's uid may not even be able to read them (no bubblewrap, venv under /root).
    """
    if "matplotlib.pyplot" in loaded:
        pyplot = sys.modules["matplotlib.pyplot"]
        figure, axes = pyplot.subplots()
        axes.plot([0, 1])
        axes.set_title("warm-up")
        figure.savefig(io.BytesIO(), format="png")
        pyplot.close(figure)


def _child_can(step: Callable[[], object]) -> bool:
    """Whether a child of ours can take ``step`` (becoming a uid needs CAP_SETUID, private
    namespaces CAP_SYS_ADMIN: what survived the sandbox)."""
    pid = os.fork()
    if pid == 0:
        try:
            step()
            os._exit(0)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def main(config_json: str) -> None:
    """Start the zygote described by ``config_json`` and serve until end of file.

    Keys: ``control_fd``, ``uid_min``, ``uid_max``, ``preload`` (module names).
    """
    # Die with whoever started us (the grading process, or bubblewrap's init): our jobs
    # carry the same signal towards us, so a killed driver's tree ends to the last job.
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    config = json.loads(config_json)
    control = socket.socket(fileno=int(config["control_fd"]))
    os.set_inheritable(control.fileno(), False)
    subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1)
    loaded, failed = preload(list(config.get("preload", [])))
    try:
        warm_up(loaded)
    except Exception as exc:  # only a lost optimisation
        failed["warm-up"] = f"{type(exc).__name__}: {exc}"[:500]
    uid_range = (int(config["uid_min"]), int(config["uid_max"]))
    can_setuid = _child_can(lambda: become(uid_range[0], uid_range[0]))
    private_ipc = _child_can(lambda: private_namespaces(2**20))
    flush_streams()
    # Everything imported so far lives as long as the zygote: moving it out of the
    # collector's reach keeps children from dirtying (copying) those pages.
    gc.collect()
    gc.freeze()
    zygote = Zygote(control, uid_range, private_ipc)
    zygote.send(
        {
            "event": "ready",
            "protocol": PROTOCOL,
            "pid": os.getpid(),
            "subreaper": subreaper,
            "setuid": can_setuid,
            "private_ipc": private_ipc,
            "preloaded": loaded,
            "failed": failed,
            "threads": len(os.listdir("/proc/self/task")),
        }
    )
    zygote.serve()
