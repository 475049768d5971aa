"""The in-sandbox supervisor: how both boxes start, watch and end a job's processes.

One home for the process lifecycle: the ``/proc`` scanner, the rlimits and the drop to
an unprivileged uid, killing a process tree or a whole uid, and the driver's sweeps.

- The cold box runs this file as its launcher (``python -I supervisor.py CONFIG_JSON --
  ARGV...``, see :func:`main`), inside bubblewrap or not: it marks itself a child
  subreaper, forks the job into its own session under the rlimits and the job's uid,
  waits for the job, the deadline, a SIGTERM (also sent if its parent dies), the
  job's processes together holding more than ``job_memory_bytes`` or, when the job
  still runs as root, a process-count overflow; then SIGKILLs every descendant and
  reports. Outside bubblewrap a root launcher first gives the job private namespaces
  (:func:`private_namespaces`). Status fd protocol, JSON lines: ``{"event": "started",
  "pid", "subreaper", "private_ipc"}`` once the job is forked, then ``{"event":
  "exit", "reason", "returncode", "signal", "killed"}``. The job never inherits the fd.
- The warm box's zygote (:mod:`autograder.runner.zygote`) imports it from the student
  runtime: its children become jobs with :func:`apply_rlimits` and :func:`become`, and
  a job ends with :func:`kill_uid`.
- The driver imports it for its backstops: :func:`sweep` and :func:`read_proc`.

Standard library only and no imports from the grader: the launcher runs as one file.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import NamedTuple, NoReturn

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
IPC_RMID = 0
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18

THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""Thread-pool sizes read by torch, NumPy's BLAS and numexpr: a job's thread budget."""

WATCHDOG_INTERVAL = 0.05
"""How often the launcher counts a job's memory (and a root job's processes); short, so a
fork bomb gets little past ``max_processes`` before the watchdog notices."""
MEMORY_INTERVAL = 0.25
"""How often the zygote sums each running job's memory."""
KILL_ROUNDS = 400
"""Bound on :func:`kill_uid`'s wait, so a process that cannot die never hangs it."""
ROUND_SECONDS = 0.0025
RESWEEP_EVERY = 20

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> bool:
    """prctl(2); True on success."""
    return _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0


# --- /proc ----------------------------------------------------------------------------------


class Proc(NamedTuple):
    """One process as ``/proc/PID/status`` shows it (ids in this /proc's namespace)."""

    pid: int
    ppid: int
    state: str
    uids: tuple[str, ...]
    """Real, effective, saved and filesystem uid."""
    pgid: int
    sid: int
    inner_pid: int
    """The pid in the innermost pid namespace the process belongs to."""

    @property
    def zombie(self) -> bool:
        return self.state == "Z"


def read_proc(pid: int) -> Proc | None:
    """The process ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return Proc(
            pid,
            int(fields["PPid"]),
            fields["State"].split()[0],
            tuple(fields["Uid"].split()),
            int(fields["NSpgid"].split()[0]),
            int(fields["NSsid"].split()[0]),
            int(fields["NSpid"].split()[-1]),
        )
    except (KeyError, IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, ``/proc/PID/stat`` field 22), or None.

    A pid with its start time names one process for good: pids are reused, the pair is not.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # Field 2, the command, may hold spaces and parentheses: count from the last ")".
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def environ_has(pid: int, entry: str) -> bool:
    """Whether ``NAME=value`` is in the environment ``pid`` was started with."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return entry.encode() in handle.read().split(b"\0")
    except OSError:
        return False


def processes() -> list[Proc]:
    """Every process visible in ``/proc`` (the one scanner every sweep uses)."""
    found = (read_proc(int(name)) for name in os.listdir("/proc") if name.isdigit())
    return [proc for proc in found if proc is not None]


def descendants(root: int, table: Iterable[Proc] | None = None) -> list[int]:
    """Live (non-zombie) processes whose parent chain leads to ``root``."""
    children: dict[int, list[Proc]] = {}
    for proc in processes() if table is None else table:
        children.setdefault(proc.ppid, []).append(proc)
    found: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        proc = stack.pop()
        if not proc.zombie:
            found.append(proc.pid)
        stack.extend(children.get(proc.pid, []))
    return found


def job_memory(pids: Iterable[int]) -> int:
    """Bytes of private memory the processes ``pids`` hold together (RssAnon + RssShmem).

    Read from ``/proc/PID/status``, which any uid may read (``smaps`` would need
    CAP_SYS_PTRACE, which the sandbox does not keep). Anonymous pages a forked child
    still shares with its parent count in both, so the sum errs on the high side.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as handle:
                lines = handle.read().decode("ascii", "replace").splitlines()
        except OSError:
            continue  # gone meanwhile
        for line in lines:
            if line.startswith(("RssAnon:", "RssShmem:")):
                total += int(line.split()[1]) * 1024
    return total


# --- becoming a job -------------------------------------------------------------------------


def private_namespaces(tmpfs_bytes: int) -> None:
    """Move this process into its own IPC, network and mount namespaces (needs
    CAP_SYS_ADMIN, so before :func:`become`); raises OSError where the kernel refuses.

    Its System V and POSIX IPC objects, and its abstract unix sockets (named per network
    namespace), then die with it and no other job can reach them; ``/dev/shm`` and
    ``/dev/mqueue`` are fresh mounts only it sees.
    """

    def mount(source: str | None, target: str, kind: str | None, flags: int, data: str) -> None:
        encoded = [None if v is None else v.encode() for v in (source, target, kind, data)]
        if _libc.mount(*encoded[:3], ctypes.c_ulong(flags), encoded[3]) != 0:
            raise OSError(ctypes.get_errno(), f"cannot mount {kind or 'private'} at {target}")

    if _libc.unshare(CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare of the IPC, network and mount namespaces")
    mount(None, "/", None, MS_REC | MS_PRIVATE, "")  # nothing below leaks to the host
    fresh = MS_NOSUID | MS_NODEV | MS_NOEXEC
    mount("tmpfs", "/dev/shm", "tmpfs", fresh, f"size={int(tmpfs_bytes)},mode=1777")
    os.makedirs("/dev/mqueue", exist_ok=True)
    mount("mqueue", "/dev/mqueue", "mqueue", fresh, "")


def apply_rlimits(rlimits: Iterable[tuple[str, int, int]]) -> None:
    """Set each ``(RLIMIT_NAME, soft, hard)``, never above the current hard limit.

    Raising a hard limit needs CAP_SYS_RESOURCE, which the sandbox does not keep.
    """
    for name, soft, hard in rlimits:
        limit = getattr(resource, name)
        cur_hard = resource.getrlimit(limit)[1]
        if cur_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, cur_hard), min(hard, cur_hard)
        resource.setrlimit(limit, (soft, hard))


def become(uid: int, gid: int) -> None:
    """Drop to ``uid``/``gid`` with no supplementary groups; raises if it did not hold."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from uid 0 to another: permitted and effective capabilities go
    if os.getuid() != uid or os.geteuid() != uid or os.getegid() != gid:
        raise PermissionError(f"could not become uid {uid}, gid {gid}")


# --- killing --------------------------------------------------------------------------------


def reap(job_pid: int) -> int | None:
    """Collect every exited child without blocking; the job's wait status if seen."""
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


def kill_tree(job_pid: int) -> tuple[set[int], int | None]:
    """SIGKILL all our descendants until none remain; (killed pids, job status if reaped)."""
    me = os.getpid()
    killed: set[int] = set(descendants(me))  # counted before the group kill hides them
    job_status = None
    try:
        # One atomic signal to the job's whole process group first: a fork bomb
        # that stays in its group cannot out-fork it.
        os.killpg(job_pid, signal.SIGKILL)
    except OSError:
        pass
    while alive := descendants(me):
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        job_status = reap(job_pid) if job_status is None else job_status
        time.sleep(0.005)
    while True:  # everything is dead; collect the zombies that are (or become) ours
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == job_pid:
            job_status = status
    return killed, job_status


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


def _kill_as(uid: int) -> None:
    """Fork a helper that becomes ``uid``, SIGKILLs all of its processes, drops its IPC.

    ``kill(-1)`` from an unprivileged process reaches exactly the processes of its own
    uid, delivered by the kernel to all of them under one lock: none can fork its way
    out between a scan and a kill. Only the owner may IPC_RMID the uid's objects.
    """
    pid = os.fork()
    if pid == 0:
        try:
            become(uid, uid)
            if uid != 0:  # kill(-1) as root would end every process there is
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                ids = _ipc_ids(uid)
                for ident in ids.get("shm", []):
                    _libc.shmctl(ident, IPC_RMID, None)
                for ident in ids.get("sem", []):
                    _libc.semctl(ident, 0, IPC_RMID)
                for ident in ids.get("msg", []):
                    _libc.msgctl(ident, IPC_RMID, None)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def kill_uid(uid: int, reap_children: Callable[[], None]) -> tuple[int, int]:
    """Kill every process and IPC object of ``uid``; wait until none, zombies included, is left.

    Returns (processes found alive, processes still alive when the bounded wait gave
    up: one in uninterruptible sleep, say). ``reap_children`` collects exited children
    (the zygote is a subreaper, so a job's orphans become its children); zombies count
    against the uid's RLIMIT_NPROC until reaped, so they are waited for too. Signals go
    only through :func:`_kill_as`, never to a pid from a scan, which by the time of
    the kill could belong to another process.
    """
    wanted = str(uid)
    mine = [proc for proc in processes() if wanted in proc.uids[:3]]
    seen = {proc.pid for proc in mine if not proc.zombie}
    if seen or _ipc_ids(uid):
        _kill_as(uid)
    live: list[int] = []
    for round_number in range(1, KILL_ROUNDS + 1):
        reap_children()
        mine = [proc for proc in processes() if wanted in proc.uids[:3]]
        if not mine:
            break
        live = [proc.pid for proc in mine if not proc.zombie]
        seen.update(live)
        # A SIGKILLed process shows as alive until it has finished exiting: sweep
        # again only now and then, for one that a kill(-1) could not yet see.
        if live and round_number % RESWEEP_EVERY == 0:
            _kill_as(uid)
        time.sleep(ROUND_SECONDS)
    else:
        return len(seen), len(live)
    return len(seen), 0


def sweep(match: Callable[[Proc], bool], rounds: int = 200) -> set[int]:
    """SIGKILL every live process ``match`` accepts, until none is left; the pids killed.

    The driver's backstop. A pidfd pins each process, so the check and the kill are
    about the same one even if its pid is reused meanwhile (a root driver's wrong
    kill would land).
    """
    killed: set[int] = set()
    for _ in range(rounds):  # bounded: a kill that cannot land must not hang the driver
        victims = [proc.pid for proc in processes() if not proc.zombie and match(proc)]
        if not victims:
            break
        for pid in victims:
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                continue  # already gone
            try:
                proc = read_proc(pid)
                if proc is not None and match(proc):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                    killed.add(pid)
            except OSError:
                pass
            finally:
                os.close(pidfd)
        time.sleep(0.01)
    return killed


def wait_status(status: int | None) -> tuple[int | None, int | None]:
    """(exit code, terminating signal) of a :func:`os.waitpid` status; None where not so."""
    if status is not None and os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    if status is not None and os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return None, None


# --- ending a job's process ------------------------------------------------------------------


def flush_streams() -> None:
    """Flush Python's buffered streams: :func:`os._exit` would drop what they hold."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a stream closed or replaced by student code
            pass


def exit_after(call: Callable[[], object]) -> NoReturn:
    """Run ``call``, then end the process as the interpreter would, minus the exit hooks.

    An int result or ``SystemExit`` code is the status (None: 0; a message is printed
    and gives 1); an exception prints its traceback and gives 1. :func:`os._exit` ends
    the process: threads or ``atexit`` hooks left by student code must not keep it
    alive until the box's deadline, which would turn a finished job into a timeout.
    """
    status = 1
    try:
        try:
            result = call()
            status = result if isinstance(result, int) else 0
        except SystemExit as stop:
            code = stop.code
            if code is not None and not isinstance(code, int):
                print(code, file=sys.stderr)
            status = code if isinstance(code, int) else (0 if code is None else 1)
        except BaseException:
            traceback.print_exc()
            status = 1
        flush_streams()
    finally:
        os._exit(status & 0xFF)


# --- the cold box's launcher ----------------------------------------------------------------


def _start_job(config: dict, argv: list[str], old_mask: set[int]) -> int:
    """Fork the job; the child sets limits and identity, then execs ``argv``."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()  # own session and process group, detached from the launcher's
        prctl(PR_SET_NO_NEW_PRIVS, 1)  # setuid binaries can't regain privilege
        apply_rlimits(config["rlimits"])
        if config["uid"] is not None:
            become(config["uid"], config["gid"])
        os.chdir(config["cwd"])
        # The signal mask survives exec; the job must start with the usual one.
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.execvpe(argv[0], argv, os.environ)
    except BaseException as exc:  # anything: the child must never return into the launcher
        os.write(2, f"sandbox: cannot start {argv[0]!r}: {exc}\n".encode())
    os._exit(127)


def main() -> None:
    """Run the job described by ``sys.argv`` (``CONFIG_JSON -- ARGV...``) and report."""
    config = json.loads(sys.argv[1])
    argv = sys.argv[3:]
    status = os.fdopen(config["status_fd"], "w", buffering=1)
    os.set_inheritable(config["status_fd"], False)
    subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1)
    # If the driver dies, SIGTERM makes us clean up rather than orphan the job.
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    wake_on = {signal.SIGCHLD, signal.SIGTERM}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, wake_on)
    private_ipc = ""
    if config["private_ipc"]:  # bubblewrap gives every job these namespaces already
        try:
            private_namespaces(config["tmpfs_bytes"])
            private_ipc = "own IPC and network namespaces, fresh /dev/shm and /dev/mqueue"
        except OSError as error:
            private_ipc = f"refused: {error}"
    job_pid = _start_job(config, argv, old_mask)
    started = {"event": "started", "pid": job_pid, "subreaper": subreaper}
    status.write(json.dumps({**started, "private_ipc": private_ipc}) + "\n")

    reason = "exited"
    while (job_status := reap(job_pid)) is None:
        remaining = config["deadline"] - time.monotonic()
        if remaining <= 0:
            reason = "deadline"
            break
        job = descendants(os.getpid())
        if config["watchdog"] and len(job) > config["max_processes"]:
            reason = "process_limit"
            break
        if job_memory(job) > config["job_memory_bytes"]:
            reason = "memory_limit"
            break
        info = signal.sigtimedwait(wake_on, min(remaining, WATCHDOG_INTERVAL))
        if info is not None and info.si_signo == signal.SIGTERM:
            reason = "terminated"
            break

    killed, late_status = kill_tree(job_pid)
    returncode, sig = wait_status(job_status if job_status is not None else late_status)
    outcome = {"event": "exit", "reason": reason, "returncode": returncode, "signal": sig}
    outcome["killed"] = len(killed)
    status.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    main()
