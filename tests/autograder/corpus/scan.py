"""Look for traces of the attacks outside their sandboxes: files, processes, canaries.

All three scans are plain reads of the host (``/proc``, folders, files); they know only
the run marker and the canaries, nothing about how the grader works.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.draft import ESCAPE_PREFIX

HOST_DROP_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/root"))
"""Shared folders an escaping job would drop files into (scanned one level deep)."""

MAX_SCAN_BYTES = 64 * 2**20
"""Files larger than this are read only up to here when searching for canaries."""


@dataclass(frozen=True)
class Process:
    pid: int
    uid: int
    cmdline: str
    evidence: str
    """Where the marker was seen: cmdline, environ, cwd or mountinfo."""

    def __str__(self) -> str:
        return f"pid {self.pid} uid {self.uid} ({self.evidence}): {self.cmdline[:160]}"


def _marked_in(pid: str, needle: bytes) -> str:
    """Which of the process's identifying texts holds ``needle`` ("" for none).

    The command line catches the runner and the zygote's forks (their ``-c`` code names
    the runtime); the environment and cwd catch a job without bubblewrap (its HOME is
    its work dir); mountinfo catches anything inside a job's bubblewrap, whatever it
    exec'd, because its binds name their host paths.
    """
    for part in ("cmdline", "environ", "mountinfo"):
        try:
            if needle in Path(f"/proc/{pid}/{part}").read_bytes():
                return part
        except OSError:
            continue
    try:
        if needle in os.readlink(f"/proc/{pid}/cwd").encode():
            return "cwd"
    except OSError:
        pass
    return ""


def _parent(pid: str) -> int:
    """The parent pid from ``/proc/<pid>/stat`` (-1 when it cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rpartition(")")[2].split()[1])  # the name may hold spaces and ")"


def processes_with(marker: str) -> list[Process]:
    """Live processes that carry ``marker`` (see :func:`_marked_in`).

    This process and its own children are left out: multiprocessing's resource tracker
    outlives an executor by design and inherited the marked ``TMPDIR``. A process left
    by a job is never our child: its parents (a worker, a sandbox) are gone.
    """
    found = []
    needle = marker.encode()
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me or _parent(entry) == me:
            continue
        evidence = _marked_in(entry, needle)
        if not evidence:
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue  # it ended while we looked
        text = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()
        found.append(Process(int(entry), uid, text, evidence))
    return found


def _walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, links not followed."""
    for folder, _subdirs, files in os.walk(root, followlinks=False):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def escape_files(marker: str, roots: Iterable[Path]) -> list[Path]:
    """Files named ``ESCAPE-<marker>...``: under each root, and in the host's drop dirs."""
    prefix = f"{ESCAPE_PREFIX}{marker}"
    found: set[Path] = set()
    for root in roots:
        found.update(path for path in _walk_files(root) if path.name.startswith(prefix))
    for folder in HOST_DROP_DIRS:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        found.update(path for path in entries if path.name.startswith(prefix))
    return sorted(found)


def read_capped(path: Path) -> bytes:
    """Up to :data:`MAX_SCAN_BYTES` of a file; empty when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_SCAN_BYTES)
    except OSError:
        return b""


def canary_hits(canaries: dict[str, str], roots: Iterable[Path]) -> list[tuple[str, Path]]:
    """``(place, file)`` for every canary found in a file under ``roots``."""
    hits = []
    encoded = {place: value.encode() for place, value in canaries.items()}
    for root in roots:
        if not root.exists():
            continue
        files = [root] if root.is_file() else _walk_files(root)
        for path in files:
            data = read_capped(path)
            hits.extend((place, path) for place, value in encoded.items() if value in data)
    return hits


def canaries_in_text(canaries: dict[str, str], text: str) -> list[str]:
    """The places whose canary ``text`` holds."""
    return [place for place, value in canaries.items() if value in text]


def clean_up(marker: str, roots: Iterable[Path]) -> int:
    """Kill the run's leftover processes (by pid) and delete its escape files.

    Only what carries this run's marker is touched. Returns how many things it removed.
    """
    removed = 0
    for process in processes_with(marker):
        try:
            os.kill(process.pid, signal.SIGKILL)
            removed += 1
        except OSError:
            pass  # already gone
    for path in escape_files(marker, roots):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed
