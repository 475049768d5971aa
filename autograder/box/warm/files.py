"""Files around a warm job: its private work dir, what comes back, and its uids.

A caller prepares a work dir anywhere on the host. The warm box copies it to a
private directory under its jobs root, owned by the job's uid with mode 0700, so
concurrent jobs (each under its own uid) cannot read one another's. Afterwards only
the runner's report comes back: ``results.json`` and ``outputs/``, regular files
only, opened without following symlinks, within a size budget. The job's processes
are dead by then, so nothing can swap a file between the check and the copy.

Job uids are reserved per host with ``flock``: two boxes (in one process or in two)
sharing a uid would share RLIMIT_NPROC and kill each other's processes.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import pwd
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from autograder.runner.contract import OUTPUTS_DIRNAME, RESULTS_NAME, TMP_DIRNAME
from autograder.sandbox.run import hand_over

_log = logging.getLogger(__name__)


def stage_in(source: Path, job_dir: Path, uid: int) -> None:
    """Copy the caller's work dir to ``job_dir`` and hand the copy to ``uid``.

    Symlinks are copied as symlinks: a link in a caller's work dir is the caller's
    business, and copying its target could drag host files in.
    """
    shutil.copytree(source, job_dir, symlinks=True)
    (job_dir / TMP_DIRNAME).mkdir(exist_ok=True)
    hand_over(job_dir, uid, uid)
    job_dir.chmod(0o700)


@dataclass(frozen=True)
class CopyBudget:
    """How much of a job's report comes back to the caller."""

    max_file_bytes: int
    """Larger files are skipped (the job could not write one past RLIMIT_FSIZE anyway)."""
    max_total_bytes: int = 256 * 2**20
    max_files: int = 10_000
    max_depth: int = 8


class _Copier:
    """Copies regular files out of a dead job's dir, never following a link."""

    def __init__(self, budget: CopyBudget) -> None:
        self.budget = budget
        self.bytes_left = budget.max_total_bytes
        self.files_left = budget.max_files
        self.skipped: list[str] = []

    def copy_file(self, source: Path, dest: Path) -> None:
        try:
            fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            self.skipped.append(f"{source.name}: not a readable regular file")
            return
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                self.skipped.append(f"{source.name}: not a regular file")
                return
            if info.st_size > min(self.budget.max_file_bytes, self.bytes_left):
                self.skipped.append(f"{source.name}: {info.st_size} bytes over budget")
                return
            if self.files_left <= 0:
                self.skipped.append(f"{source.name}: too many files")
                return
            data = handle.read(info.st_size + 1)[: info.st_size]
        try:
            dest.write_bytes(data)
        except OSError as exc:  # e.g. the caller's dir has a directory of that name
            self.skipped.append(f"{source.name}: cannot write {dest}: {exc}")
            return
        self.bytes_left -= len(data)
        self.files_left -= 1

    def copy_tree(self, source: Path, dest: Path, depth: int = 0) -> None:
        if depth > self.budget.max_depth:
            self.skipped.append(f"{source.name}: nested too deep")
            return
        try:
            dest.mkdir(exist_ok=True)
        except OSError as exc:
            self.skipped.append(f"{source.name}: cannot create {dest}: {exc}")
            return
        with os.scandir(source) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False):
                    self.copy_tree(Path(entry.path), dest / entry.name, depth + 1)
                elif entry.is_file(follow_symlinks=False):
                    self.copy_file(Path(entry.path), dest / entry.name)
                else:
                    self.skipped.append(f"{entry.name}: a link or special file")


def copy_back(job_dir: Path, dest: Path, budget: CopyBudget) -> list[str]:
    """Copy ``results.json`` and ``outputs/`` from ``job_dir`` into ``dest``.

    Returns what was skipped, and why (also logged).
    """
    copier = _Copier(budget)
    results = job_dir / RESULTS_NAME
    if results.is_symlink() or results.exists():
        copier.copy_file(results, dest / RESULTS_NAME)
    outputs = job_dir / OUTPUTS_DIRNAME
    if outputs.is_dir() and not outputs.is_symlink():
        copier.copy_tree(outputs, dest / OUTPUTS_DIRNAME)
    elif outputs.is_symlink():
        copier.skipped.append(f"{OUTPUTS_DIRNAME}: a link")
    for note in copier.skipped:
        _log.warning("warm box: not copied back from %s: %s", job_dir.name, note)
    return copier.skipped


def private_dir(path: Path) -> Path:
    """Create (or check) a root-owned directory others may traverse but not list."""
    path.mkdir(parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise ValueError(f"{path} must be a directory owned by uid {os.geteuid()}")
    path.chmod(0o711)
    return path


def check_uid_range(uids: range) -> None:
    """Job uids must be unprivileged, valid, and nobody's account."""
    if uids[0] < 1000 or uids[-1] >= 2**31 - 1:
        raise ValueError(f"job uids {uids[0]}-{uids[-1]} must lie in 1000..2**31-2")
    for uid in uids:
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            continue
        raise ValueError(f"uid {uid} belongs to the account {owner!r}; choose another uid_base")


def untraversable(path: Path) -> str | None:
    """The first directory on the way to ``path`` (itself included) that others may not
    enter; job uids are never its owner or group, so the "other" bits decide."""
    for directory in (*reversed(path.parents), path):
        if not os.stat(directory).st_mode & 0o001:
            return f"others cannot enter {directory} (needed for {path})"
    return None


UID_LOCK_DIR = Path("/tmp/autograder-warmbox-uids")
"""Where job uids are reserved: a fixed host-wide path, deliberately not ``$TMPDIR``.
Uids are a host-wide resource, and grading processes may each get their own TMPDIR
(a SLURM job's, the corpus's): two boxes locking in two directories would both take a
uid, and each job's end would kill the other box's job."""


class UidInUse(ValueError):
    """A job uid is held by another warm box (in this process or another)."""


class UidReservation:
    """Exclusive, host-wide use of ``uids`` for as long as this object is open.

    Raises:
        UidInUse: a uid is held by another box.
    """

    def __init__(self, uids: range, lock_dir: Path | None = None) -> None:
        self.uids = uids
        directory = lock_dir or UID_LOCK_DIR
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
        # In a world-writable /tmp, refuse a directory (or link) someone else planted.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise ValueError(f"uid lock directory {directory} is not ours")
        self._fds: list[int] = []
        try:
            for uid in uids:
                fd = os.open(directory / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW)
                self._fds.append(fd)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise
                    raise UidInUse(
                        f"uid {uid} is in use by another warm box; choose another uid_base"
                    ) from None
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)  # closing drops the lock
        self._fds = []
