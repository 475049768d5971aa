"""Launcher that runs one job and guarantees none of its processes outlive it.

Runs as a standalone script (``python -I _reaper.py CONFIG_JSON -- ARGV...``),
inside bubblewrap or not, so it imports nothing but the standard library. It:

1. marks itself a child subreaper, so every orphan of the job (a double-forked
   daemon, a ``setsid()`` escapee) is re-parented to it instead of to init;
2. forks the job into its own session, applies the rlimits, drops to the
   unprivileged uid and execs the job with the launcher's own environment;
3. waits for the job, the wall-clock deadline, a SIGTERM (also sent if its
   parent dies) or, when the job still runs as root, a process-count overflow;
4. SIGKILLs every remaining descendant until none is left, then writes one JSON
   line with the outcome to the status fd.

The status fd protocol is JSON lines: ``{"event": "started", ...}`` once the
job is forked, then ``{"event": "exit", ...}``. The job never inherits it.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

# How often a root job's processes are counted; a short interval bounds how far
# a fork bomb gets past max_processes before the watchdog notices.
WATCHDOG_INTERVAL = 0.05
# Without a watchdog the loop only wakes for SIGCHLD/SIGTERM or the deadline.
IDLE_INTERVAL = 1.0

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> bool:
    """Call prctl(2); True on success."""
    return _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0


def _process_table() -> dict[int, tuple[int, str]]:
    """Map pid -> (ppid, state) for every process visible in /proc."""
    table: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read().decode("ascii", "replace")
        except OSError:
            continue  # exited while we looked
        # The command name is parenthesised and may itself hold spaces or ')'.
        fields = raw[raw.rfind(")") + 2 :].split()
        table[int(name)] = (int(fields[1]), fields[0])
    return table


def _descendants(root: int) -> list[int]:
    """Live (non-zombie) processes whose parent chain leads to ``root``."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _state) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if table[pid][1] != "Z":
            found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _reap(job_pid: int) -> int | None:
    """Collect every exited child without blocking; return the job's wait status if seen."""
    job_status = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return job_status
        if pid == 0:
            return job_status
        if pid == job_pid:
            job_status = status


def _kill_everything(job_pid: int) -> tuple[set[int], int | None]:
    """SIGKILL all descendants until none remain; return (killed pids, job status if reaped)."""
    me = os.getpid()
    # Counted before the group kill below, which would otherwise hide them.
    killed: set[int] = set(_descendants(me))
    job_status = None
    try:
        # One atomic signal to the job's whole process group first: a fork bomb
        # that stays in its group cannot out-fork it.
        os.killpg(job_pid, signal.SIGKILL)
    except OSError:
        pass
    while True:
        alive = _descendants(me)
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        job_status = _reap(job_pid) if job_status is None else job_status
        time.sleep(0.005)
    # Everything is dead; collect the zombies that are (or become) our children.
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == job_pid:
            job_status = status
    return killed, job_status


def _start_job(config: dict, argv: list[str], old_mask: set[int]) -> int:
    """Fork the job; the child sets limits and identity, then execs ``argv``."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()  # own session and process group, detached from the launcher's
        _prctl(PR_SET_NO_NEW_PRIVS, 1)  # setuid binaries can't regain privilege
        for name, soft, hard in config["rlimits"]:
            limit = getattr(resource, name)
            _cur_soft, cur_hard = resource.getrlimit(limit)
            if cur_hard != resource.RLIM_INFINITY:
                # Never above the driver's own hard limit: raising it needs
                # CAP_SYS_RESOURCE, which the sandbox does not keep.
                soft, hard = min(soft, cur_hard), min(hard, cur_hard)
            resource.setrlimit(limit, (soft, hard))
        if config["uid"] is not None:
            os.setgroups([])
            os.setgid(config["gid"])
            os.setuid(config["uid"])
        os.chdir(config["cwd"])
        # The signal mask survives exec; the job must start with the usual one.
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.execvpe(argv[0], argv, os.environ)
    except BaseException as exc:  # anything: the child must never return into the launcher
        os.write(2, f"sandbox: cannot start {argv[0]!r}: {exc}\n".encode())
    os._exit(127)


def main() -> None:
    """Run the job described by ``sys.argv`` and report its outcome."""
    config = json.loads(sys.argv[1])
    argv = sys.argv[3:]
    status = os.fdopen(config["status_fd"], "w", buffering=1)
    os.set_inheritable(config["status_fd"], False)
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # If the driver dies, SIGTERM makes us clean up rather than orphan the job.
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    wake_on = {signal.SIGCHLD, signal.SIGTERM}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, wake_on)
    job_pid = _start_job(config, argv, old_mask)
    status.write(json.dumps({"event": "started", "pid": job_pid, "subreaper": subreaper}) + "\n")

    reason = "exited"
    job_status = None
    interval = WATCHDOG_INTERVAL if config["watchdog"] else IDLE_INTERVAL
    while True:
        job_status = _reap(job_pid)
        if job_status is not None:
            break
        remaining = config["deadline"] - time.monotonic()
        if remaining <= 0:
            reason = "deadline"
            break
        if config["watchdog"] and len(_descendants(os.getpid())) > config["max_processes"]:
            reason = "process_limit"
            break
        info = signal.sigtimedwait(wake_on, min(remaining, interval))
        if info is not None and info.si_signo == signal.SIGTERM:
            reason = "terminated"
            break

    killed, late_status = _kill_everything(job_pid)
    job_status = job_status if job_status is not None else late_status
    returncode = sig = None
    if job_status is not None and os.WIFEXITED(job_status):
        returncode = os.WEXITSTATUS(job_status)
    elif job_status is not None and os.WIFSIGNALED(job_status):
        sig = os.WTERMSIG(job_status)
    outcome = {"event": "exit", "reason": reason, "returncode": returncode, "signal": sig}
    outcome["killed"] = len(killed)
    status.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    main()
