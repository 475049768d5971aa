"""Run one submission's process tree under every isolation layer this machine offers.

Flow of :func:`run_sandboxed`:

1. The job gets a scrubbed environment whose HOME and TMPDIR lie in its work dir.
2. A launcher (:mod:`autograder.runner.supervisor`, run as a script) is started in a
   new session, inside bubblewrap when possible. The launcher sets the rlimits, drops
   a root driver's job to an unprivileged uid, enforces the wall-clock deadline, and
   kills every process of the job before it exits, including orphans (it is a child
   subreaper).
3. This process feeds stdin and drains stdout/stderr concurrently with a
   selector. Output past a cap is read and thrown away rather than killing the
   job: a chatty but correct submission should still get graded, and the wall
   deadline bounds the cost of draining.
4. A backstop a little after the deadline covers a launcher that fails to do
   its job: the runner then SIGKILLs the launcher's group and sweeps the job's
   session itself.

If bubblewrap fails to start, the job is re-run without it and the report says
why the bubblewrap layers are missing.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.runner import supervisor
from autograder.runner.contract import TMP_DIRNAME
from autograder.sandbox.bwrap import WORKDIR_MOUNT, BwrapSpec, build_bwrap_argv, gpu_device_nodes
from autograder.sandbox.capture import Capture
from autograder.sandbox.env import scrubbed_env
from autograder.sandbox.layers import (
    INTERPRETER_PATHS,
    IsolationReport,
    Layer,
    LayerStatus,
    SandboxUnavailable,
    choose_bwrap,
    job_identity,
    layer_report,
    unreachable_path,
    uses_isolated_python,
)
from autograder.sandbox.limits import Limits

REAPER_SCRIPT = Path(supervisor.__file__)
REAPER_MOUNT = "/run/autograder/supervisor.py"
"""Where the launcher script is bound inside bubblewrap."""

_STATUS_CAP = 64 * 1024  # the launcher writes two short JSON lines


@dataclass
class SandboxResult:
    """What happened to one job."""

    returncode: int | None
    """Exit status of the job's main process; None if a signal ended it."""
    signal: int | None
    """Signal that ended the job's main process, if any."""
    stdout: bytes
    """Captured stdout, at most ``Limits.stdout_bytes``."""
    stderr: bytes
    """Captured stderr, at most ``Limits.stderr_bytes``."""
    stdout_truncated: bool
    """The job wrote more stdout than the cap."""
    stderr_truncated: bool
    """The job wrote more stderr than the cap."""
    timed_out: bool
    """The wall-clock deadline ended the job."""
    wall_seconds: float
    """Time from starting the launcher until everything was dead and collected."""
    leftover_processes_killed: int
    """Processes still alive when the job ended or was stopped, which the sandbox killed."""
    layers: IsolationReport
    """Which isolation layers were active for this run."""
    ended_by: str = "exited"
    """Why the job ended.

    ``exited``: on its own; ``deadline``: the wall clock; ``process_limit``: the
    process-count watchdog; ``memory_limit``: the job's processes together held more
    than ``Limits.job_memory_bytes``; ``terminated``: the launcher was told to stop;
    ``backstop``: the runner had to kill the tree itself; ``launcher_lost``: the
    launcher died early (a job running as root killed it) and the runner swept up.
    """

    @classmethod
    def ended(cls, ended_by: str, stdout: Capture, stderr: Capture, **fields: Any) -> SandboxResult:
        """A result from how the job ended and its captured streams (either box)."""
        return cls(
            stdout=bytes(stdout.data),
            stderr=bytes(stderr.data),
            stdout_truncated=stdout.truncated,
            stderr_truncated=stderr.truncated,
            timed_out=ended_by in ("deadline", "backstop"),
            ended_by=ended_by,
            **fields,
        )


@dataclass
class _Attempt:
    """The raw outcome of one launch."""

    events: list[dict]
    stdout: Capture
    stderr: Capture
    backstop_hit: bool
    swept: int
    wall_seconds: float

    def event(self, name: str) -> dict | None:
        return next((e for e in self.events if e.get("event") == name), None)


def hand_over(workdir: Path, uid: int, gid: int) -> None:
    """Give the work dir tree to the job's uid so it can write there (links not followed)."""
    os.chown(workdir, uid, gid)
    for root, dirs, files in os.walk(workdir):
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _pump(
    proc: subprocess.Popen, status_fd: int, stdin: bytes | None, limits: Limits, backstop: float
) -> tuple[Capture, Capture, bytes, bool]:
    """Feed stdin and drain stdout, stderr and the status pipe until EOF or the backstop."""
    assert proc.stdout is not None and proc.stderr is not None
    captures = {
        proc.stdout.fileno(): Capture(limits.stdout_bytes),
        proc.stderr.fileno(): Capture(limits.stderr_bytes),
        status_fd: Capture(_STATUS_CAP),
    }
    selector = selectors.DefaultSelector()
    for fd in captures:
        selector.register(fd, selectors.EVENT_READ)
    pending = memoryview(stdin or b"")
    if proc.stdin is not None:
        os.set_blocking(proc.stdin.fileno(), False)
        selector.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
    backstop_hit = False
    while any(key.events & selectors.EVENT_READ for key in selector.get_map().values()):
        remaining = backstop - time.monotonic()
        if remaining <= 0:
            backstop_hit = True
            break
        for key, _mask in selector.select(min(remaining, 1.0)):
            fd = key.fd
            if fd in captures:
                if not captures[fd].read_from(fd):
                    selector.unregister(fd)
                continue
            try:
                pending = pending[os.write(fd, pending[:65536]) :]
            except BrokenPipeError:
                pending = pending[:0]  # the job closed stdin; the rest is moot
            if not pending:
                selector.unregister(fd)
                proc.stdin.close()  # EOF for the job
    selector.close()
    return (
        captures[proc.stdout.fileno()],
        captures[proc.stderr.fileno()],
        bytes(captures[status_fd].data),
        backstop_hit,
    )


def _parse_events(status: bytes) -> list[dict]:
    """The launcher's JSON-lines status messages; a torn last line is dropped."""
    events = []
    for line in status.decode(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _launch(
    command: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    limits: Limits,
    status_pipe: tuple[int, int],
    backstop: float,
    sweep_job: bool,
) -> _Attempt:
    """Start the launcher command and collect everything it produces."""
    read_fd, write_fd = status_pipe
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            pass_fds=(write_fd,),
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # only the launcher may hold the write end, or EOF never comes
    with proc:
        try:
            stdout, stderr, status, backstop_hit = _pump(proc, read_fd, stdin, limits, backstop)
        finally:
            os.close(read_fd)
        events = _parse_events(status)
        swept = 0
        try:
            # EOF comes as the launcher exits; give it until the backstop to finish.
            proc.wait(timeout=max(backstop - time.monotonic(), 0.0) + 0.5)
        except subprocess.TimeoutExpired:
            backstop_hit = True
        if backstop_hit or not any(e.get("event") == "exit" for e in events):
            # The launcher overran or died (a root job can kill it): kill its
            # group (under bwrap that tears down the pid namespace); outside
            # bwrap also sweep the job's own session.
            ids = {proc.pid}
            start = next((e for e in events if e.get("event") == "started"), None)
            if sweep_job and start is not None:
                ids.add(int(start["pid"]))
            killed = supervisor.sweep(lambda p: p.pgid in ids or p.sid in ids)
            swept = len(killed - {proc.pid})  # the launcher is ours, not the job's
        proc.wait()
    return _Attempt(events, stdout, stderr, backstop_hit, swept, time.monotonic() - started)


def _report(
    job: _Job,
    identity: tuple[int, int] | None,
    identity_why: str,
    bwrap_problem: str | None,
    attempt: _Attempt,
) -> IsolationReport:
    """The report of what one finished attempt actually had."""
    started = attempt.event("started") or {}
    nproc = "RLIMIT_NPROC enforced for the job's uid"
    if identity is None and os.geteuid() == 0:
        nproc = "RLIMIT_NPROC is not enforced for root; the reaper counts processes instead"
    isolated = uses_isolated_python(job.argv)
    return layer_report(
        isolated=LayerStatus(
            isolated, "python -I" if isolated else "argv does not start python with -I"
        ),
        subreaper=LayerStatus(
            bool(started.get("subreaper")),
            "launcher adopts orphans" if started.get("subreaper") else "prctl refused",
        ),
        uid=LayerStatus(identity is not None, identity_why),
        bwrap_problem=bwrap_problem,
        private_ipc=LayerStatus(True, "bubblewrap's namespaces and /dev/shm, per job")
        if bwrap_problem is None
        else LayerStatus(
            str(started.get("private_ipc", "")).startswith("own"),
            started.get("private_ipc") or "needs bubblewrap or a root driver",
        ),
        job_memory=LayerStatus(
            True, f"launcher kills the job past {job.limits.job_memory_bytes} bytes in all"
        ),
        details={Layer.RLIMITS: nproc},
    )


@dataclass(frozen=True)
class _Job:
    """The caller's request, bundled so each launch attempt sees the same one."""

    argv: tuple[str, ...]
    workdir: Path
    limits: Limits
    read_only_paths: tuple[Path, ...]
    writable_paths: tuple[Path, ...]
    env: Mapping[str, str]
    stdin: bytes | None

    def environment(self, home: str) -> dict[str, str]:
        """The scrubbed environment, with HOME at ``home`` and TMPDIR inside it."""
        return scrubbed_env(
            home=home,
            tmpdir=f"{home}/{TMP_DIRNAME}",
            threads=self.limits.threads,
            extra=self.env,
        )


def run_sandboxed(
    argv: Sequence[str],
    *,
    workdir: Path,
    limits: Limits | None = None,
    read_only_paths: Sequence[Path] = (),
    writable_paths: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    use_bwrap: bool | None = None,
    user: str | int | None = "nobody",
    bwrap: str | None = None,
    namespaces: bool = True,
) -> SandboxResult:
    """Run ``argv`` as one sandboxed job and return once every process of it is dead.

    Args:
        argv: the command; paths into the work dir should be relative, since
            under bubblewrap the work dir is mounted at ``/home/sandbox``.
        workdir: a private directory holding only the files the job may see;
            it becomes the job's cwd and HOME.
        limits: resource limits (defaults: :class:`Limits`).
        read_only_paths: host paths bound read-only (bubblewrap only).
        writable_paths: host paths bound read-write (bubblewrap only).
        env: extra environment variables on top of the scrubbed allow-list.
        stdin: bytes fed to the job's stdin; None gives it /dev/null.
        use_bwrap: True requires bubblewrap (else :class:`SandboxUnavailable`),
            False disables it, None uses it when it works.
        user: the unprivileged user (name or numeric uid) a root driver runs
            the job as; None keeps the driver's uid.
        bwrap: path of the bwrap binary; None looks it up on PATH.
        namespaces: without bubblewrap, a root launcher gives the job its own IPC and
            network namespaces; False leaves it in the host's (isolation-off controls).

    Raises:
        SandboxUnavailable: ``use_bwrap=True`` and bubblewrap is missing or broken.
        ValueError: empty argv, missing work dir, or paths that cannot be bound.
    """
    if not argv:
        raise ValueError("argv must not be empty")
    job = _Job(
        argv=tuple(argv),
        workdir=Path(workdir).absolute(),
        limits=limits or Limits(),
        read_only_paths=tuple(Path(p) for p in read_only_paths),
        writable_paths=tuple(Path(p) for p in writable_paths),
        env=dict(env or {}),
        stdin=stdin,
    )
    if not job.workdir.is_dir():
        raise ValueError(f"work dir does not exist: {job.workdir}")
    (job.workdir / TMP_DIRNAME).mkdir(exist_ok=True)
    identity, identity_why = job_identity(user)

    bwrap_path, bwrap_problem = choose_bwrap(use_bwrap, bwrap, probe=False)

    if bwrap_path is not None:
        attempt = _attempt(job, identity, bwrap_path)
        if attempt.event("started") is not None:
            return _result(attempt, _report(job, identity, identity_why, None, attempt))
        # Nothing of the job ran: the launcher reports "started" before forking it.
        message = attempt.stderr.data.decode(errors="replace").strip().splitlines()
        bwrap_problem = f"bwrap failed to start: {message[-1] if message else 'no message'}"
        if use_bwrap:
            raise SandboxUnavailable(bwrap_problem)

    if identity is not None:
        # Outside bwrap the job sees the host's paths, so its uid must reach them.
        path = job.environment(str(job.workdir))["PATH"]
        program = shutil.which(job.argv[0], path=path) or job.argv[0]
        needed: list[Path | str] = [program, *INTERPRETER_PATHS, job.workdir]
        blocked = unreachable_path(needed, *identity)
        if blocked is not None:
            identity, identity_why = None, f"not possible without bubblewrap: {blocked}"
    attempt = _attempt(job, identity, None, namespaces)
    if attempt.event("started") is None:
        raise RuntimeError(
            "sandbox launcher failed: " + attempt.stderr.data.decode(errors="replace")[-2000:]
        )
    return _result(attempt, _report(job, identity, identity_why, bwrap_problem, attempt))


def _attempt(
    job: _Job, identity: tuple[int, int] | None, bwrap_path: str | None, namespaces: bool = True
) -> _Attempt:
    """One launch, under bubblewrap when ``bwrap_path`` is given; without it, a root
    launcher gives the job its own IPC and network namespaces unless ``namespaces`` is
    False."""
    home = WORKDIR_MOUNT if bwrap_path else str(job.workdir)
    if identity is not None:
        hand_over(job.workdir, *identity)
    status_pipe = os.pipe()
    deadline = time.monotonic() + job.limits.wall_seconds
    config = {
        "status_fd": status_pipe[1],
        "deadline": deadline,
        "rlimits": job.limits.rlimits(),
        "uid": identity[0] if identity else None,
        "gid": identity[1] if identity else None,
        "cwd": home,
        "max_processes": job.limits.max_processes,
        # Root ignores RLIMIT_NPROC, so a job left as root needs counting.
        "watchdog": identity is None and os.geteuid() == 0,
        "job_memory_bytes": job.limits.job_memory_bytes,
        "private_ipc": bwrap_path is None and os.geteuid() == 0 and namespaces,
        "tmpfs_bytes": job.limits.tmpfs_bytes,
    }
    reaper = REAPER_MOUNT if bwrap_path else str(REAPER_SCRIPT)
    command = [sys.executable, "-I", reaper, json.dumps(config), "--", *job.argv]
    if bwrap_path is not None:
        spec = BwrapSpec(
            workdir=job.workdir,
            read_only_paths=job.read_only_paths,
            writable_paths=job.writable_paths,
            files=((REAPER_SCRIPT, REAPER_MOUNT),),
            tmpfs_bytes=job.limits.tmpfs_bytes,
            keep_setuid_caps=os.geteuid() == 0,
            devices=gpu_device_nodes() if job.limits.gpu else (),
        )
        try:
            command = build_bwrap_argv(bwrap_path, spec, command)
        except ValueError:
            os.close(status_pipe[0])
            os.close(status_pipe[1])
            raise
    return _launch(
        command,
        cwd=Path("/") if bwrap_path else job.workdir,
        env=job.environment(home),
        stdin=job.stdin,
        limits=job.limits,
        status_pipe=status_pipe,
        backstop=deadline + job.limits.kill_grace_seconds,
        sweep_job=bwrap_path is None,
    )


def _result(attempt: _Attempt, report: IsolationReport) -> SandboxResult:
    """Turn a finished attempt into the public result."""
    outcome = attempt.event("exit") or {}
    ended_by = outcome.get("reason", "launcher_lost")
    if attempt.backstop_hit:
        ended_by = "backstop"
    return SandboxResult.ended(
        ended_by,
        attempt.stdout,
        attempt.stderr,
        returncode=outcome.get("returncode"),
        signal=outcome.get("signal"),
        wall_seconds=attempt.wall_seconds,
        leftover_processes_killed=int(outcome.get("killed", 0)) + attempt.swept,
        layers=report,
    )
