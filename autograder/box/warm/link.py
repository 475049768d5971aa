"""The driver's end of one running zygote: start it, talk to it, route its replies.

One :class:`ZygoteLink` is one zygote process (see :mod:`autograder.runner.zygote`)
and the ``SOCK_SEQPACKET`` socket pair it is controlled through. Any number of
threads submit jobs; a reader thread delivers each ``exit`` event to the job's
:class:`Mailbox`, and when the zygote dies every open mailbox gets a ``lost`` event,
so no caller waits forever. A dead link is never revived: the box starts a new one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from autograder.runner import supervisor

PROTOCOL = 2
"""Must equal :data:`autograder.runner.zygote.PROTOCOL` (kept apart so the driver
need not import the in-sandbox runner package)."""

_MAX_PACKET = 1 << 20
_LOG_TAIL = 4000


class ZygoteStartError(RuntimeError):
    """The zygote exited, hung or misbehaved before it was ready."""


class ZygoteLost(RuntimeError):
    """The link's zygote is gone; the job was not submitted."""


class Mailbox:
    """Where one job's final event lands; its fd becomes readable when it does."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        self.event: dict[str, Any] | None = None
        self._closed = False

    def fileno(self) -> int:
        return self._read

    def deliver(self, event: dict[str, Any]) -> None:
        """Keep the first event only (a late ``lost`` must not replace a real exit).

        Called with the link's lock held, as is :meth:`close`: a write after close
        could land in a pipe that reused the descriptor number.
        """
        if self.event is None and not self._closed:
            self.event = event
            os.write(self._write, b"!")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._read)
            os.close(self._write)


def host_pid_of(root: int, namespace_pid: int) -> int | None:
    """The host pid of the process below ``root`` whose innermost pid is ``namespace_pid``.

    The zygote reports its pid as seen in its own pid namespace; the driver needs the
    host's to tell whether it is alive.
    """
    table = supervisor.processes()
    below = set(supervisor.descendants(root, table)) | {root}
    return next((p.pid for p in table if p.pid in below and p.inner_pid == namespace_pid), None)


def sweep_uids(uids: Sequence[int]) -> int:
    """SIGKILL every host process whose real, effective or saved uid is in ``uids``.

    The driver's backstop when a zygote could not clean up (it died, hangs, or runs
    without bubblewrap so its jobs' orphans live in the host's pid namespace).
    Returns how many distinct processes were killed.
    """
    wanted = {str(uid) for uid in uids}
    return len(supervisor.sweep(lambda proc: bool(wanted.intersection(proc.uids[:3]))))


class ZygoteLink:
    """One started zygote and its control socket.

    Args:
        build_argv: the command line, given the control fd number the zygote inherits.
        env: the zygote's whole environment.
        log_path: file receiving the zygote's own stdout and stderr.
        startup_timeout: seconds to wait for the ``ready`` message.

    Raises:
        ZygoteStartError: the zygote did not say ``ready`` in time, or spoke another
            protocol; its log's tail is in the message.
    """

    def __init__(
        self,
        build_argv: Callable[[int], list[str]],
        *,
        env: Mapping[str, str],
        log_path: Path,
        startup_timeout: float,
    ) -> None:
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._log_path = log_path
        self._lock = threading.Lock()
        self._mailboxes: dict[str, Mailbox] = {}
        self._alive = True
        try:
            with open(log_path, "ab") as log:
                self.process = subprocess.Popen(
                    build_argv(theirs.fileno()),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=dict(env),
                    cwd="/",
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,
                )
        except BaseException:
            self._sock.close()
            raise
        finally:
            theirs.close()  # only the zygote may hold it, or its death gives no EOF
        try:
            self.ready = self._handshake(startup_timeout)
        except BaseException:
            self.terminate()
            raise
        found = host_pid_of(self.process.pid, int(self.ready["pid"]))
        self.host_pid = found if found is not None else self.process.pid
        self._reader = threading.Thread(target=self._read_events, name="warmbox-reader")
        self._reader.daemon = True
        self._reader.start()

    def log_tail(self) -> str:
        """The end of the zygote's log, for error messages."""
        try:
            with open(self._log_path, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - _LOG_TAIL))
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def _handshake(self, timeout: float) -> dict[str, Any]:
        self._sock.settimeout(timeout)
        try:
            data = self._sock.recv(_MAX_PACKET)
        except TimeoutError:
            raise ZygoteStartError(
                f"zygote not ready after {timeout:.0f} s:\n{self.log_tail()}"
            ) from None
        finally:
            self._sock.settimeout(None)
        if not data:
            self.process.wait()
            raise ZygoteStartError(
                f"zygote exited with {self.process.returncode} before it was ready:\n"
                f"{self.log_tail()}"
            )
        try:
            ready = json.loads(data)
        except ValueError:
            ready = {}
        if ready.get("event") != "ready" or ready.get("protocol") != PROTOCOL:
            raise ZygoteStartError(f"zygote speaks another protocol: {ready}")
        if not ready.get("setuid"):
            raise ZygoteStartError(
                "the zygote cannot switch to the job uids (no CAP_SETUID in its sandbox)"
            )
        return ready

    def _read_events(self) -> None:
        """Deliver each event to its job; on end of file, tell every waiting job."""
        while True:
            try:
                data = self._sock.recv(_MAX_PACKET)
            except OSError:
                data = b""
            if not data:
                break
            try:
                event = json.loads(data)
            except ValueError:
                continue
            with self._lock:
                mailbox = self._mailboxes.pop(str(event.get("job")), None)
                if mailbox is not None:
                    mailbox.deliver(event)
        with self._lock:
            self._alive = False
            for mailbox in self._mailboxes.values():
                mailbox.deliver({"event": "lost"})
            self._mailboxes = {}

    def submit(self, job_id: str, request: dict[str, Any], fds: Sequence[int]) -> Mailbox:
        """Send a ``run`` request with the job's stdout/stderr write ends attached.

        Raises:
            ZygoteLost: the zygote is gone; nothing of the job started.
        """
        mailbox = Mailbox()
        data = json.dumps({"op": "run", "job": job_id, **request}).encode()
        with self._lock:
            if not self._alive:
                mailbox.close()
                raise ZygoteLost("zygote is gone")
            self._mailboxes[job_id] = mailbox
            try:
                # Never block: a full queue means the zygote stopped reading (hangs).
                socket.send_fds(self._sock, [data], list(fds), socket.MSG_DONTWAIT)
            except OSError as exc:
                del self._mailboxes[job_id]
                mailbox.close()
                raise ZygoteLost(f"zygote is gone or hangs: {exc}") from exc
        return mailbox

    def release(self, job_id: str, mailbox: Mailbox) -> None:
        """Stop routing events to ``mailbox`` and close it."""
        with self._lock:
            if self._mailboxes.get(job_id) is mailbox:
                del self._mailboxes[job_id]
            mailbox.close()

    def kill(self, job_id: str) -> None:
        """Ask the zygote to kill every process of the job (its reply is the exit event).

        Never blocks: if the zygote does not read, the driver's backstop takes over.
        """
        with self._lock, suppress(OSError):
            self._sock.send(json.dumps({"op": "kill", "job": job_id}).encode(), socket.MSG_DONTWAIT)

    def close(self, grace: float = 10.0) -> None:
        """End of file to the zygote (it kills its jobs and exits), then make sure."""
        with suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self.terminate()

    def terminate(self) -> None:
        """SIGKILL the zygote's process group and wait until the zygote itself is gone.

        Under bubblewrap that kills bwrap, whose death takes the pid namespace (the
        zygote and every job in it) along.
        """
        # Only while unreaped: until then its pid (and so its group id) cannot be reused.
        if self.process.poll() is None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # Not killed by pid: once bwrap is gone that pid may already be someone else's.
        # bwrap's --die-with-parent takes its namespace down; wait until it has.
        host_pid = getattr(self, "host_pid", self.process.pid)
        end = time.monotonic() + 10.0
        while host_pid != self.process.pid and time.monotonic() < end:
            proc = supervisor.read_proc(host_pid)
            if proc is None or proc.zombie:
                break
            time.sleep(0.01)
        with suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        reader = getattr(self, "_reader", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=10.0)
        self._sock.close()
