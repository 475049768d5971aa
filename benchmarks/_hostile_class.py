"""The driver's peak memory grading an honest class and the same class made hostile.

Each submission of the hostile copy carries one file the trusted side must never read
whole, by turns: the notebook itself replaced by a sparse file of several GiB, a sparse
``.ipynb`` of several GiB next to the real notebook, thousands of small files, and a FIFO
named like a notebook beside a hard link of the real one. Both classes are graded by the
real driver in a fresh interpreter each (``grade_in_child``), so the peak resident sizes
(``ru_maxrss``) of the driver and of its largest worker are those of that run alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _honest_course import ASSIGNMENT, NOTEBOOK_FILE

SPARSE_BYTES = 4 * 2**30
MANY_FILES = 5000
LIMIT_MIB = 100.0
"""The hostile class may cost the driver at most this much more than the honest one."""

_CHILD = """
import json, resource, sys
from autograder.driver import grade_assignment
from autograder.executors import LocalExecutor
with LocalExecutor(int(sys.argv[2]), has_gpu=False) as executor:
    summary = grade_assignment(sys.argv[1], "mini", executor=executor, progress=False)
peak = lambda who: resource.getrusage(who).ru_maxrss / 1024
print(json.dumps({"driver_mib": peak(resource.RUSAGE_SELF),
                  "worker_mib": peak(resource.RUSAGE_CHILDREN), "line": summary.line}))
"""


def make_hostile(course: Path) -> Path:
    """Add one hostile file to every submission of ``course`` (in place); returns it."""
    folders = sorted((course / "submitted").glob(f"*/{ASSIGNMENT}"))
    for index, folder in enumerate(folders):
        notebook = folder / NOTEBOOK_FILE
        kind = index % 4
        if kind == 0:  # the notebook itself: gigabytes on paper, nothing on disk
            with open(notebook, "r+b") as handle:
                handle.truncate(SPARSE_BYTES)
        elif kind == 1:
            with open(folder / "copy.ipynb", "wb") as handle:
                handle.truncate(SPARSE_BYTES)
        elif kind == 2:
            for number in range(MANY_FILES):
                (folder / f"f{number:05d}.txt").write_bytes(b"x")
        else:
            os.mkfifo(folder / "pipe.ipynb")
            os.link(notebook, folder / "twin.ipynb")
    return course


def grade_in_child(course: Path, workers: int) -> dict[str, float | str]:
    """Grade ``course`` with the real driver in a fresh interpreter; its peak memory."""
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(course), str(workers)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"grading {course} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def compare_memory(base: Path, scratch: Path, workers: int) -> tuple[list[str], dict]:
    """Grade a copy of the honest ``base`` and a hostile copy; the table and figures."""
    honest = grade_in_child(_copy(base, scratch / "honest"), workers)
    hostile = grade_in_child(make_hostile(_copy(base, scratch / "hostile")), workers)
    lines = [f"\n{'class':<10}{'driver peak MiB':>17}{'worker peak MiB':>17}  summary"]
    for name, figures in (("honest", honest), ("hostile", hostile)):
        lines.append(
            f"{name:<10}{figures['driver_mib']:>17.1f}{figures['worker_mib']:>17.1f}"
            f"  {figures['line']}"
        )
    extra = {who: float(hostile[who]) - float(honest[who]) for who in ("driver_mib", "worker_mib")}
    lines.append(
        f"{'hostile-honest':<10}{extra['driver_mib']:>+17.1f}{extra['worker_mib']:>+17.1f}"
        f"  (limit +{LIMIT_MIB:g} MiB)"
    )
    return lines, {"honest": honest, "hostile": hostile, "extra_mib": extra}


def _copy(base: Path, target: Path) -> Path:
    shutil.copytree(base, target)
    return target
