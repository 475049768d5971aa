"""The warm box: jobs forked from a pre-imported zygote, each under its own uid.

``import torch`` alone costs a fresh interpreter seconds; a zygote that has imported
numpy, torch, IPython and matplotlib once forks a fresh child per job in
milliseconds (see :mod:`autograder.runner.zygote` for what the child does before it
runs). The zygote is started once, under bubblewrap when it works: no network, a
private pid namespace, a read-only view holding only the system, the interpreter, the
student runtime and the jobs root. It runs as root inside so that it can give every
job its own uid (``uid_base + slot``): concurrent jobs cannot signal each other or
read each other's work dirs, RLIMIT_NPROC counts each job alone, and at the end the
zygote kills every process of the job's uid, daemons included.

The driver side (this module):

- copies the caller's work dir into ``jobs_root/<job id>`` (mode 0700, owned by the
  job's uid) and, afterwards, copies ``results.json`` and ``outputs/`` back;
- hands the zygote the job's stdout/stderr pipes and drains them itself, keeping at
  most the byte caps. Draining outside the sandbox means a 20 MB print costs neither
  memory nor disk, and the job's files keep the ordinary RLIMIT_FSIZE, which a capped
  log file in the work dir would have had to share;
- enforces the wall clock: at the deadline it asks the zygote to kill the job's uid;
  if no answer comes within ``kill_grace_seconds``, or the zygote dies, it kills the
  zygote (and with bubblewrap its whole pid namespace), starts a new one, and reports
  every job that was in flight as ``ended_by="backstop"``.

Compared with the cold box, jobs of one warm box share the zygote's bubblewrap: one
network namespace (concurrent jobs could meet on its loopback), one pid namespace
(they see, but cannot signal, each other's processes) and one IPC namespace (the uid's
System V objects are removed after each job). They also share the zygote's memory
layout and hash seed, and ``Limits.memory_bytes`` (RLIMIT_AS) counts the inherited
preloaded image (about 0.7 GiB with torch) as a fresh interpreter that imported the
same modules would. A warm box needs a root driver: without a uid per job there is
no way to find and kill everything a job started.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from autograder.box import Box
from autograder.box.cold import ColdBox, check_runtime_dir
from autograder.box.warm.files import (
    CopyBudget,
    UidReservation,
    check_uid_range,
    copy_back,
    private_dir,
    stage_in,
    untraversable,
)
from autograder.box.warm.link import (
    Mailbox,
    ZygoteLink,
    ZygoteLost,
    ZygoteStartError,
    sweep_uids,
)
from autograder.box.warm.pump import Outcome, pump
from autograder.box.warm.zygote import JOBS_MOUNT, ZygoteConfig, warm_layers
from autograder.runner.supervisor import wait_status
from autograder.sandbox import (
    IsolationReport,
    Limits,
    SandboxResult,
    SandboxUnavailable,
)
from autograder.sandbox.layers import (
    INTERPRETER_PATHS,
    choose_bwrap,
    unreachable_path,
)
from autograder.workdir import remove_tree

DEFAULT_PRELOAD: tuple[str, ...] = ("numpy", "torch", "IPython", "matplotlib", "matplotlib.pyplot")
"""Imported once by the zygote. ``matplotlib.pyplot`` builds the font list, which a
job (whose uid cannot write the zygote's cache dir) would otherwise rebuild each time."""

STATE_PREFIX = "warmbox-"
"""The box's state dir is ``<tmp>/warmbox-<first uid>``: one per held uid range."""

DEFAULT_ENTRY = "autograder.runner.execute:run_workdir"
"""Called in each child as ``entry(workdir, cell_timeout=...)``; its int is the exit status."""

_log = logging.getLogger(__name__)

__all__ = ["DEFAULT_ENTRY", "DEFAULT_PRELOAD", "JOBS_MOUNT", "WarmBox", "ZygoteStartError"]


class WarmBox(Box):
    """Runs jobs as forks of one pre-imported, sandboxed zygote (see the module docstring).

    Args:
        runtime_dir: a student build (:func:`autograder.studentlib.build_runtime`);
            first on the zygote's ``sys.path``, and the source of the zygote itself.
        slots: jobs that may run at once (default: the CPU count); :meth:`run` blocks
            while all are busy.
        preload: modules the zygote imports once; failures are logged, not fatal.
        use_bwrap: True requires bubblewrap, False disables it, None uses it if it works.
        jobs_root: host directory holding the jobs' private work dirs (default: a
            temporary one, removed by :meth:`close`).
        uid_base: job uids are ``uid_base`` .. ``uid_base + slots - 1``; they must
            belong to no account and to no other box.
        cell_timeout: passed to the entry function.
        entry: ``"module:function"`` each child calls with its work dir.
        startup_timeout: seconds the zygote may take to import everything.
        copy_back_bytes: most bytes of ``results.json`` plus ``outputs/`` copied back.

    Raises:
        SandboxUnavailable: the driver is not root, or ``use_bwrap=True`` and
            bubblewrap does not work here.
        ValueError: a bad runtime, slot count or uid range, or (without bubblewrap)
            a runtime or jobs root the job uids cannot reach.
        ZygoteStartError: the zygote failed to start.
    """

    def __init__(
        self,
        runtime_dir: Path,
        *,
        slots: int | None = None,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        use_bwrap: bool | None = None,
        jobs_root: Path | None = None,
        uid_base: int = 61000,
        cell_timeout: float = 60.0,
        entry: str = DEFAULT_ENTRY,
        startup_timeout: float = 300.0,
        copy_back_bytes: int = 256 * 2**20,
    ) -> None:
        if os.geteuid() != 0:
            raise SandboxUnavailable(
                "the warm box needs a root driver to run each job under its own uid; "
                "use the cold box"
            )
        self.runtime_dir = check_runtime_dir(runtime_dir)
        if not (self.runtime_dir / "autograder" / "runner" / "zygote.py").is_file():
            raise ValueError(f"{self.runtime_dir} has no autograder/runner/zygote.py")
        self.slots = slots if slots is not None else (os.cpu_count() or 1)
        if self.slots < 1:
            raise ValueError(f"slots must be at least 1, got {self.slots}")
        self.uids = range(uid_base, uid_base + self.slots)
        check_uid_range(self.uids)
        self.cell_timeout = cell_timeout
        self.entry = entry
        # The runner is what every job runs: always loaded, whatever the default entry.
        modules = [*preload, DEFAULT_ENTRY.partition(":")[0], entry.partition(":")[0]]
        self.preload = tuple(dict.fromkeys(modules))
        self.copy_back_bytes = copy_back_bytes
        self._use_bwrap = use_bwrap

        self._closed = False
        self._lock = threading.Lock()  # guards _link and _closed; held across restarts
        self._running = 0  # jobs holding a slot; close() waits for them
        self._settled = threading.Condition()
        self._link: ZygoteLink | None = None
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(self.slots):
            self._free.put(slot)
        try:
            self._reservation = UidReservation(self.uids)
            # Named by the uid range we now hold alone: whatever an earlier box on it left
            # (its driver killed before close) is ours to remove, so none accumulates.
            state = Path(tempfile.gettempdir()) / f"{STATE_PREFIX}{self.uids[0]}"
            if state.is_symlink():
                state.unlink()
            remove_tree(state)
            self._state = state
            # Spawned from one long-lived thread: bwrap's --die-with-parent fires when
            # the *thread* that started it exits, and run() threads come and go.
            self._spawner = ThreadPoolExecutor(1, thread_name_prefix="warmbox-spawner")
            private_dir(self._state)  # refuses a path someone else planted meanwhile
            self.jobs_root = private_dir(Path(jobs_root or self._state / "jobs").absolute())
            bwrap, self._bwrap_problem = choose_bwrap(use_bwrap)
            self._uid_note = self._check_plain_paths() if bwrap is None else ""
            self._zygote = ZygoteConfig(
                runtime_dir=self.runtime_dir,
                uids=self.uids,
                preload=self.preload,
                jobs_root=self.jobs_root,
                state_dir=self._state,
                bwrap=bwrap,
                startup_timeout=startup_timeout,
            )
            sweep_uids(self.uids)  # leftovers of a crashed earlier run that held them
            with self._lock:
                self._link = self._start_link()
        except BaseException:
            self.close()
            raise

    # --- the zygote --------------------------------------------------------------------------

    def _check_plain_paths(self) -> str:
        """Without bubblewrap jobs see host paths: their uids must reach the runtime."""
        blocked = unreachable_path([self.runtime_dir], self.uids[0], self.uids[0])
        blocked = blocked or untraversable(self.jobs_root)
        if blocked is not None:
            raise ValueError(f"without bubblewrap the job uids cannot reach: {blocked}")
        blocked = unreachable_path(INTERPRETER_PATHS, self.uids[0], self.uids[0])
        if blocked is None:
            return ""
        _log.warning("warm box without bubblewrap: %s; jobs import only preloaded modules", blocked)
        return f"; but {blocked}, so jobs can import only what the zygote preloaded"

    def _start_link(self) -> ZygoteLink:
        """Start a zygote from the spawner thread (call with ``_lock`` held)."""
        link = self._spawner.submit(self._zygote.start).result()
        if link.ready.get("failed"):
            _log.warning("warm box: zygote could not preload %s", link.ready["failed"])
        if link.ready.get("threads", 1) > 1:
            _log.warning(
                "warm box: zygote has %s threads; forks may deadlock", link.ready["threads"]
            )
        return link

    def _current_link(self) -> ZygoteLink:
        with self._lock:
            if self._closed:
                raise RuntimeError("the warm box is closed")
            if self._link is None:  # an earlier restart failed: try again now
                self._link = self._start_link()
            return self._link

    def _replace(self, dead: ZygoteLink) -> int:
        """Kill ``dead`` and everything of the box's uids, start a new zygote.

        Idempotent per link: the first caller replaces, later ones wait for it and
        return. Returns how many stray processes the sweep killed.
        """
        with self._lock:
            if self._link is not dead:
                return 0
            dead.terminate()
            swept = sweep_uids(self.uids)  # a dying namespace, or the host's orphans
            self._link = None
            if not self._closed:
                try:
                    self._link = self._start_link()
                except ZygoteStartError:
                    _log.exception("warm box: restarting the zygote failed; retrying later")
            return swept

    @property
    def zygote_pid(self) -> int | None:
        """Host pid of the running zygote (None while none runs)."""
        link = self._link
        return link.host_pid if link is not None else None

    @property
    def preloaded(self) -> tuple[str, ...]:
        """Modules the running zygote imported."""
        link = self._link
        return tuple(link.ready.get("preloaded", ())) if link is not None else ()

    # --- jobs --------------------------------------------------------------------------------

    def run(self, workdir: Path, limits: Limits, *, entry: str | None = None) -> SandboxResult:
        """Run ``entry`` (default: the runner) over a copy of ``workdir``; thread-safe.

        Blocks while all slots are busy. Returns once every process of the job is dead
        and ``results.json`` and ``outputs/`` are back in ``workdir``.
        """
        workdir = Path(workdir).absolute()
        if not workdir.is_dir():
            raise ValueError(f"work dir does not exist: {workdir}")
        if self._closed:
            raise RuntimeError("the warm box is closed")
        slot = self._free.get()
        with self._settled:
            self._running += 1
        try:
            if self._closed:
                raise RuntimeError("the warm box is closed")
            if limits.gpu and entry is None:
                # The zygote's sandbox has no GPU device nodes (its children inherit it),
                # so a GPU job starts afresh in a cold box, under this slot's uid.
                cold = ColdBox(
                    self.runtime_dir,
                    self._use_bwrap,
                    self.uids[slot],
                    cell_timeout=self.cell_timeout,
                )
                return cold.run(workdir, limits)
            return self._run_in_slot(slot, workdir, limits, entry or self.entry)
        finally:
            with self._settled:
                self._running -= 1
                self._settled.notify_all()
            self._free.put(slot)

    def _run_in_slot(self, slot: int, workdir: Path, limits: Limits, entry: str) -> SandboxResult:
        uid = self.uids[slot]
        job_id = f"job{slot}-{uuid.uuid4().hex[:16]}"
        job_dir = self.jobs_root / job_id
        inside = f"{JOBS_MOUNT}/{job_id}" if self._zygote.bwrap else str(job_dir)
        request = {
            "uid": uid,
            "workdir": inside,
            "entry": entry,
            "kwargs": {"cell_timeout": self.cell_timeout},
            "rlimits": limits.rlimits(),
            "threads": limits.threads,
            "job_memory_bytes": limits.job_memory_bytes,
            "tmpfs_bytes": limits.tmpfs_bytes,
        }
        stage_in(workdir, job_dir, uid)
        try:
            started = time.monotonic()
            outcome = self._execute(job_id, request, limits, started)
            wall = time.monotonic() - started
            if job_dir.is_dir():
                copy_back(job_dir, workdir, CopyBudget(limits.max_file_size, self.copy_back_bytes))
        finally:
            remove_tree(job_dir)
        return self._result(outcome, uid, wall)

    def _execute(
        self, job_id: str, request: dict[str, Any], limits: Limits, started: float
    ) -> Outcome:
        """Submit the job with fresh output pipes and pump until it is over."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        mailbox: Mailbox | None = None
        try:
            for _attempt in range(2):  # a zygote found dead before the job started: retry
                link = self._current_link()
                try:
                    mailbox = link.submit(job_id, request, (out_w, err_w))
                    break
                except ZygoteLost:
                    self._replace(link)
            else:
                raise RuntimeError("the zygote died twice before the job could start")
            os.close(out_w)
            os.close(err_w)
            out_w = err_w = -1  # only the child holds the write ends now: EOF means done
            return pump(
                link,
                job_id,
                mailbox,
                (out_r, err_r),
                limits,
                started,
                lambda: self._replace(link),
            )
        finally:
            for fd in (out_r, out_w, err_r, err_w):
                if fd >= 0:
                    os.close(fd)
            if mailbox is not None:
                link.release(job_id, mailbox)

    def _result(self, outcome: Outcome, uid: int, wall: float) -> SandboxResult:
        event = outcome.event
        if "error" in event:
            raise RuntimeError(f"the zygote could not start the job: {event['error']}")
        returncode = signal_number = None
        if event["event"] == "exit":
            returncode, signal_number = wait_status(int(event["status"]))
            ended_by = {"killed": "deadline", "memory_limit": "memory_limit"}.get(
                str(event.get("reason")), "exited"
            )
            killed = int(event.get("killed", 0))
            if event.get("survivors"):  # the zygote gave up on some; try from outside
                message = "warm box: %s processes of uid %s outlived their job"
                _log.warning(message, event["survivors"], uid)
                killed += sweep_uids([uid])
        else:
            ended_by, killed = "backstop", outcome.swept
        return SandboxResult.ended(
            ended_by,
            outcome.stdout,
            outcome.stderr,
            returncode=returncode,
            signal=signal_number,
            wall_seconds=wall,
            leftover_processes_killed=killed,
            layers=self._report(uid),
        )

    # --- reporting and shutdown --------------------------------------------------------------

    def _report(self, uid: int | None) -> IsolationReport:
        link = self._link
        return warm_layers(
            self.uids,
            uid,
            subreaper=bool(link.ready.get("subreaper")) if link is not None else True,
            private_ipc=bool(link.ready.get("private_ipc")) if link is not None else True,
            bwrap_problem=self._bwrap_problem,
            uid_note=self._uid_note,
        )

    def layers(self) -> IsolationReport:
        """The layers every job of this box gets, with reasons for missing ones."""
        return self._report(None)

    def close(self) -> None:
        """Stop the zygote (it kills its jobs), sweep the uids, free them; idempotent.

        Jobs still in flight end as ``backstop``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            link, self._link = self._link, None
        if link is not None:
            link.close()
        with self._settled:  # in-flight jobs end as soon as their zygote is gone
            self._settled.wait_for(lambda: self._running == 0, timeout=60.0)
        if hasattr(self, "_reservation"):
            sweep_uids(self.uids)
            self._reservation.release()
        if hasattr(self, "_spawner"):
            self._spawner.shutdown(wait=True)
        if hasattr(self, "_state"):
            remove_tree(self._state)
