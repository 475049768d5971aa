"""Kill every process and System V IPC object of one uid, and wait until they are gone.

The warm box gives each running job its own uid, so "everything the job started" is
"everything of that uid": daemons that called ``setsid()`` or double-forked cannot
shed their uid without privilege. A helper that has become the uid sends
``kill(-1, SIGKILL)``, which the kernel delivers to all of the uid's processes under
one lock (no fork can slip between a scan and a kill), and removes the uid's IPC
objects (shared memory would otherwise outlive the job); then ``/proc`` is scanned
until nothing of the uid, zombies included, is left.

Runs inside the sandbox as part of the zygote: standard library only.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Callable
from contextlib import suppress

IPC_RMID = 0

KILL_ROUNDS = 400
"""Bound on the wait loop, so a process that cannot die never hangs the zygote."""
ROUND_SECONDS = 0.0025
RESWEEP_EVERY = 20

_libc = ctypes.CDLL(None, use_errno=True)

ReapFn = Callable[[], None]


def uid_processes(uid: int) -> tuple[list[int], list[int]]:
    """(live pids, zombie pids) of every visible process whose real, effective or saved
    uid is ``uid``."""
    live: list[int] = []
    zombies: list[int] = []
    wanted = str(uid)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as handle:
                text = handle.read().decode("ascii", "replace")
        except OSError:
            continue  # exited while we looked
        state, uids = "", []
        for line in text.splitlines():
            if line.startswith("State:"):
                state = line.split()[1]
            elif line.startswith("Uid:"):
                uids = line.split()[1:4]
                break
        if wanted in uids:
            (zombies if state == "Z" else live).append(int(name))
    return live, zombies


def _ipc_ids(uid: int) -> dict[str, list[int]]:
    """System V IPC objects (shm, sem, msg) owned or created by ``uid``, by kind."""
    found: dict[str, list[int]] = {}
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        header = lines[0].split()
        owner, creator = header.index("uid"), header.index("cuid")
        for line in lines[1:]:
            fields = line.split()
            if str(uid) in (fields[owner], fields[creator]):
                found.setdefault(kind, []).append(int(fields[1]))
    return found


def _remove_ipc(ids: dict[str, list[int]]) -> None:
    """IPC_RMID each object; only its owner (or a privileged process) may."""
    for ident in ids.get("shm", []):
        _libc.shmctl(ident, IPC_RMID, None)
    for ident in ids.get("sem", []):
        _libc.semctl(ident, 0, IPC_RMID)
    for ident in ids.get("msg", []):
        _libc.msgctl(ident, IPC_RMID, None)


def _kill_as(uid: int) -> None:
    """Fork a helper that becomes ``uid``, SIGKILLs all of its processes, drops its IPC.

    ``kill(-1)`` from an unprivileged process reaches exactly the processes of its own
    uid, and the kernel delivers it to all of them under one lock: none can fork its
    way out between a scan and a kill.
    """
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            # kill(-1) as root would end every process there is: check twice.
            if uid != 0 and os.getuid() == os.geteuid() == uid:
                with suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
                _remove_ipc(_ipc_ids(uid))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def kill_uid(uid: int, reap: ReapFn) -> tuple[int, int]:
    """Kill every process of ``uid`` and wait until none, zombies included, is left.

    Returns (processes found alive, processes still alive when the bounded wait gave
    up: one stuck in uninterruptible sleep, say). ``reap`` collects exited children
    (the zygote is a subreaper, so the job's orphans become its children); zombies
    count against the uid's RLIMIT_NPROC until reaped, so they are waited for too.
    Signals go only through :func:`_kill_as`, never to a pid from a scan, which by
    the time of the kill could belong to another process.
    """
    live, zombies = uid_processes(uid)
    seen = set(live)
    if live or _ipc_ids(uid):
        _kill_as(uid)
    for round_number in range(1, KILL_ROUNDS + 1):
        reap()
        live, zombies = uid_processes(uid)
        if not live and not zombies:
            break
        seen.update(live)
        # A SIGKILLed process shows as alive until it has finished exiting: sweep
        # again only now and then, for one that a kill(-1) could not yet see.
        if live and round_number % RESWEEP_EVERY == 0:
            _kill_as(uid)
        time.sleep(ROUND_SECONDS)
    return len(seen), len(live)
