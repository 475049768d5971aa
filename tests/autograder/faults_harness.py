"""Run one command as a child subreaper and report what of its tree outlived it.

``python faults_harness.py OUT.json -- COMMAND...``: the harness marks itself a child
subreaper, so every process the command starts, however orphaned (a killed driver's
workers, a zygote, a job, the resource tracker), is re-parented to the harness and
stays visible as its descendant. Once the command ends (or is killed by a fault point),
the harness waits up to :data:`GRACE_SECONDS` for the rest of the tree to go, then
writes ``{"returncode", "left": [command lines still alive], "peak_kib"}`` to OUT.json
(``peak_kib``: the command's own peak resident memory, its ``VmHWM`` as last seen),
kills what was left (so a failing test leaves nothing either) and exits 0.

The fault suite and ``benchmarks/bench_faults_load.py`` count "processes of ours left"
with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from autograder.runner.supervisor import (  # noqa: E402
    PR_SET_CHILD_SUBREAPER,
    descendants,
    prctl,
    sweep,
)

GRACE_SECONDS = 15.0
"""How long the tree may take to die after its root: parent-death signals act at once,
a resource tracker or a zygote that notices end of file takes a moment."""


def reap_all() -> None:
    """Collect every exited child (orphans re-parented to us included)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def high_water_kib(pid: int) -> int:
    """The peak resident memory of ``pid`` so far (``VmHWM``), 0 if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"[{pid} gone]"
    return f"{pid}: " + raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    command = argv[argv.index("--") + 1 :]
    if not prctl(PR_SET_CHILD_SUBREAPER, 1):
        raise OSError("cannot become a child subreaper")
    child = subprocess.Popen(command)
    peak = 0
    while (returncode := child.poll()) is None:
        peak = max(peak, high_water_kib(child.pid))
        time.sleep(0.2)
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        reap_all()
        left = descendants(os.getpid())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    lines = [command_line(pid) for pid in left]
    mine = set(left)
    sweep(lambda proc: proc.pid in mine)
    reap_all()
    report = {"returncode": returncode, "left": lines, "peak_kib": peak}
    out.write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(main(sys.argv[1:]))
