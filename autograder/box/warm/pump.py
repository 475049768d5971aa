"""Watching one warm job from the driver: its output, its deadline, its end.

The job's stdout and stderr are pipes whose write ends only the job's processes
hold, so the driver reads them directly: at most the caps are kept, the rest is read
and dropped (a 20 MB print costs neither memory nor disk, and the job is never
blocked on a full pipe). Meanwhile the clock runs: at the deadline the zygote is
asked to kill the job's uid, and if no final event has come ``kill_grace_seconds``
later, the zygote is presumed hung and the job ends as a backstop.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograder.box.warm.link import Mailbox, ZygoteLink
from autograder.sandbox import Limits
from autograder.sandbox.capture import Capture

EOF_GRACE = 2.0
"""After the final event, how long the pipes may take to reach end of file (every
writer is dead by then, so this bounds a bug, not a normal wait)."""


@dataclass
class Outcome:
    """What the driver saw of one job."""

    event: dict[str, Any]
    """The zygote's ``exit`` event, or ``{"event": "lost"}`` (the zygote died) or
    ``{"event": "backstop"}`` (it did not answer a kill in time)."""
    stdout: Capture
    stderr: Capture
    swept: int = 0
    """Processes the driver itself killed while replacing a lost zygote."""


def pump(
    link: ZygoteLink,
    job_id: str,
    mailbox: Mailbox,
    pipes: tuple[int, int],
    limits: Limits,
    started: float,
    replace_zygote: Callable[[], int],
) -> Outcome:
    """Drain ``pipes`` (stdout, stderr), enforce the deadline, and wait for the end.

    ``replace_zygote`` is called once if the zygote is lost or hangs; it kills it (and
    so the job) and returns how many stray processes it swept.
    """
    captures = {pipes[0]: Capture(limits.stdout_bytes), pipes[1]: Capture(limits.stderr_bytes)}
    deadline = started + limits.wall_seconds
    backstop = deadline + limits.kill_grace_seconds
    event: dict[str, Any] | None = None
    swept = 0
    kill_sent = False
    drain_until = 0.0
    with selectors.DefaultSelector() as selector:
        for fd in (*pipes, mailbox.fileno()):
            selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if event is None and not kill_sent and now >= deadline:
                link.kill(job_id)
                kill_sent = True
            if event is None and now >= backstop:
                event = {"event": "backstop"}
            if event is not None and not drain_until:
                selector.unregister(mailbox.fileno())
                if event["event"] != "exit":  # the zygote died or hangs
                    swept = replace_zygote()
                now = time.monotonic()
                drain_until = now + EOF_GRACE
            if drain_until and (len(selector.get_map()) == 0 or now >= drain_until):
                break
            wake = drain_until or (backstop if kill_sent else deadline)
            for key, _mask in selector.select(min(max(wake - now, 0.0), 1.0)):
                if key.fd == mailbox.fileno():
                    event = mailbox.event or {"event": "lost"}
                    continue
                if not captures[key.fd].read_from(key.fd):
                    selector.unregister(key.fd)
    return Outcome(event, captures[pipes[0]], captures[pipes[1]], swept)
