"""Shared pieces of the warm-box tests: a runtime holding the test entries, boxes, probes.

Boxes are real: a real zygote (under real bubblewrap where it works) forking real
children under real uids. Each box takes a random uid range so that test runs on one
host never share uids (the box refuses a range another box holds).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autograder.box.warm import JOBS_MOUNT, WarmBox
from autograder.sandbox import Layer
from autograder.sandbox.layers import bwrap_unavailable
from autograder.studentlib import build_runtime

HERE = Path(__file__).resolve().parent
BWRAP_PROBLEM = bwrap_unavailable()
needs_bwrap = pytest.mark.skipif(
    BWRAP_PROBLEM is not None, reason=f"BUBBLEWRAP LAYER NOT TESTED: {BWRAP_PROBLEM}"
)
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the warm box needs a root driver (a uid per job)"
)


def fresh_uid_base() -> int:
    """A random, account-free uid range start (above 65535, clear of ``nobody``).

    Drawn from a bounded pool: every uid ever used leaves a (tiny) lock file behind.
    """
    return 100_000 + 16 * random.randrange(256)


@pytest.fixture(scope="session")
def warm_runtime() -> Iterator[Path]:
    """A student runtime with ``warm_jobs`` added, in a directory every uid may enter
    (the plain-mode box's jobs import from it with host permissions)."""
    parent = Path(tempfile.mkdtemp(prefix="warm-runtime-"))
    parent.chmod(0o755)
    runtime = build_runtime(parent)
    target = runtime / "warm_jobs.py"
    shutil.copyfile(HERE / "warm_jobs.py", target)
    target.chmod(0o644)
    yield runtime
    shutil.rmtree(parent, ignore_errors=True)


def make_box(runtime: Path, **options: Any) -> WarmBox:
    """A warm box whose default entry is ``warm_jobs:hello``, with a witness dir."""
    jobs_root = Path(tempfile.mkdtemp(prefix="warm-jobs-"))
    witness = jobs_root / "witness"
    witness.mkdir()
    witness.chmod(0o777)
    options.setdefault("entry", "warm_jobs:hello")
    tries = 20
    try:
        for attempt in range(1, tries + 1):
            try:
                return WarmBox(runtime, jobs_root=jobs_root, uid_base=fresh_uid_base(), **options)
            except ValueError as error:  # another test run's box holds that range
                if "in use" not in str(error) or attempt == tries:
                    raise
        raise AssertionError("unreachable")
    except BaseException:
        shutil.rmtree(jobs_root, ignore_errors=True)
        raise


def discard_box(box: WarmBox) -> None:
    box.close()
    shutil.rmtree(box.jobs_root, ignore_errors=True)


def witness_dir(box: WarmBox) -> tuple[Path, str]:
    """A fresh world-writable directory jobs and the test share: (host path, job path)."""
    token = uuid.uuid4().hex
    host = box.jobs_root / "witness" / token
    host.mkdir()
    host.chmod(0o777)
    bwrap = box.layers().is_active(Layer.BUBBLEWRAP)
    return host, f"{JOBS_MOUNT}/witness/{token}" if bwrap else str(host)


def workdir(tmp_path: Path, files: dict[str, str] | None = None, name: str = "work") -> Path:
    """A caller's work dir holding ``files`` (name -> text)."""
    path = tmp_path / name
    path.mkdir()
    for filename, text in (files or {}).items():
        (path / filename).write_text(text)
    return path


def uid_processes(uids: range) -> list[int]:
    """Live host processes whose real, effective or saved uid lies in ``uids``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            lines = Path(f"/proc/{name}/status").read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        ids = {int(value) for value in fields.get("Uid", "").split()[:3]}
        if ids & set(uids) and not fields.get("State", "").strip().startswith("Z"):
            found.append(int(name))
    return found


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
