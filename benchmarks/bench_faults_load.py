"""Load: a whole class through ``python -m autograder grade``, against the same class in slices.

Usage::

    python benchmarks/bench_faults_load.py [--students N] [--slice S] [--workers W]
                                           [--box auto|warm|cold] [--json PATH]
                                           [--keep DIR] [--enforce-targets]

Builds the ``mini`` course of N honest submissions (default 600, see
``_honest_course.py``) and grades it twice, each run the real command under
``tests/autograder/faults_harness.py`` (a child subreaper that reports every process
the run left alive and the driver's peak resident memory):

- **whole**: one ``grade`` of the whole class;
- **slices**: a fresh copy graded ``--student`` by ``--student`` in slices of S
  (default 60), one driver per slice.

It prints notebooks per minute of the whole run, the driver's peak memory in both
(target: the whole class's driver peaks at most :data:`GROWTH_MIB` above the largest
slice's, plus the gradebook's own size: it must not grow with the class), the
processes left alive (must be zero) and whether every student got the same score both
ways and the score the mix expects. Wrong scores or a leftover process exit 1 always;
a missed memory target only with ``--enforce-targets`` (``_targets.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _honest_course import build_honest_course, honest_mix  # noqa: E402
from _stock import notebook_scores  # noqa: E402
from _targets import add_enforce_flag, targets_status  # noqa: E402

ASSIGNMENT = "mini"
HARNESS = REPO / "tests" / "autograder" / "faults_harness.py"
GROWTH_MIB = 64.0
"""Allowed driver growth from the largest slice to the whole class, beyond the gradebook."""


@dataclass
class Mode:
    name: str
    seconds: float = 0.0
    peak_mib: float = 0.0
    left: list[str] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--slice", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--box", choices=("auto", "warm", "cold"), default="auto")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--keep", type=Path, help="build in this (new) folder and keep it")
    add_enforce_flag(parser)
    args = parser.parse_args(argv)
    if min(args.students, args.slice, args.workers) < 1:
        parser.error("--students, --slice and --workers must be at least 1")
    return args


def grade(course: Path, mode: Mode, args: argparse.Namespace, students: list[str]) -> None:
    """One ``grade`` run under the harness; adds its time, peak and leftovers to ``mode``."""
    report = course.parent / f"{mode.name}-{time.monotonic_ns()}.json"
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--nbgrader-root",
               str(course), "--no-progress", "--workers", str(args.workers)]  # fmt: skip
    for student in students:
        command += ["--student", student]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(report), "--", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "AUTOGRADER_BOX": args.box},
        check=False,
    )
    mode.seconds += time.perf_counter() - started
    data = json.loads(report.read_text(encoding="utf-8"))
    mode.peak_mib = max(mode.peak_mib, data["peak_kib"] / 1024)
    mode.left += data["left"]
    if data["returncode"] != 0:
        mode.errors.append(f"exit {data['returncode']}: {(done.stdout + done.stderr)[-800:]}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    students = honest_mix(args.students)
    ids = [student.id for student in students]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="faults-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        base = build_honest_course(workdir / "base", students)
        whole, slices = Mode("whole"), Mode(f"slices of {args.slice}")
        for mode, chunks in (
            (whole, [[]]),  # no --student: everyone
            (slices, [ids[i : i + args.slice] for i in range(0, len(ids), args.slice)]),
        ):
            course = Path(shutil.copytree(base, workdir / mode.name.replace(" ", "-")))
            for chunk in chunks:
                grade(course, mode, args, chunk)
            mode.scores = notebook_scores(course / "gradebook.db", ASSIGNMENT, ASSIGNMENT, ids)
        gradebook_mib = (workdir / "whole" / "gradebook.db").stat().st_size / 2**20
        return report(args, students, whole, slices, gradebook_mib)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def report(args, students, whole: Mode, slices: Mode, gradebook_mib: float) -> int:
    expected = {student.id: student.expected for student in students}
    problems = [f"{mode.name}: {error}" for mode in (whole, slices) for error in mode.errors]
    for student, want in expected.items():
        got = (whole.scores.get(student), slices.scores.get(student))
        if any(score is None or abs(score - want) > 1e-9 for score in got):
            problems.append(f"{student}: whole {got[0]}, slices {got[1]}, expected {want}")
    problems += [
        f"{mode.name}: left running: {line}" for mode in (whole, slices) for line in mode.left
    ]
    per_minute = 60.0 * len(students) / whole.seconds if whole.seconds else 0.0
    header = f"{'notebooks':>10}{'seconds':>10}{'nb/min':>9}{'driver peak MiB':>17}{'left':>6}"
    print(f"\n{'run':<18}{header}")
    for mode in (whole, slices):
        rate = 60.0 * len(students) / mode.seconds if mode.seconds else 0.0
        print(
            f"{mode.name:<18}{len(students):>10}{mode.seconds:>10.1f}{rate:>9.1f}"
            f"{mode.peak_mib:>17.1f}{len(mode.left):>6}"
        )
    growth = whole.peak_mib - slices.peak_mib
    allowed = GROWTH_MIB + gradebook_mib
    print(
        f"driver growth, whole class over the largest slice: {growth:+.1f} MiB "
        f"(allowed {allowed:.1f}: {GROWTH_MIB:g} + the gradebook's {gradebook_mib:.1f})"
    )
    print(f"same scores whole and sliced, as expected: {'yes' if not problems else 'NO'}")
    for line in problems:
        print(f"  {line}")
    misses = [f"driver growth {growth:.1f} MiB > {allowed:.1f}"] if growth > allowed else []
    if args.json:
        data = {
            "students": len(students),
            "slice": args.slice,
            "workers": args.workers,
            "box": args.box,
            "cpu_count": os.cpu_count(),
            "notebooks_per_minute": per_minute,
            "modes": {mode.name: asdict(mode) for mode in (whole, slices)},
            "gradebook_mib": gradebook_mib,
            "driver_growth_mib": growth,
            "problems": problems,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    status = targets_status(misses, args.enforce_targets)
    return 1 if problems else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
