"""Grading throughput: stock ``nbgrader autograde`` against our grader, same course.

Usage::

    python benchmarks/bench_throughput.py [--submissions N] [--quick] [--workers W]
                                    [--box auto|warm|cold] [--no-stock] [--no-dask]
                                    [--hostile-memory] [--json PATH] [--keep DIR]
                                    [--enforce-targets]

``--hostile-memory`` also grades the class made hostile (every submission carries a sparse
multi-GiB file, thousands of files, or a FIFO and a hard link; ``_hostile_class.py``) and
the honest class again, each in a fresh interpreter, and prints the driver's and its
largest worker's peak memory side by side: the hostile class must cost at most 100 MiB
more (exit 1 otherwise).

Builds one nbgrader course of N honest submissions of the fixture ``mini`` notebook
(default 40; mostly right, every fourth partly wrong, see ``_honest_course.py``) and
grades a fresh copy of it three ways, each in one run:

- **stock**: ``nbgrader generate_assignment`` (not timed, it fills the gradebook), then
  ``nbgrader autograde mini --force``, timed as a whole: one Jupyter kernel per notebook;
- **ours, local**: :func:`autograder.driver.grade_assignment` with a
  :class:`~autograder.executors.LocalExecutor` of W workers (default 2) and the
  default box, timed from starting the executor to the last gradebook write;
- **ours, Dask**: the same through a :class:`~autograder.executors.DaskExecutor` on a
  loopback cluster (``dask scheduler`` and W ``dask worker --nthreads 1`` processes,
  started here and torn down; the cluster's start-up is not timed, as a deployed
  cluster is already running).

It prints notebooks per minute for each and our speed-up over stock (target: at least
5x on 2 cores; a miss is printed and exits 1 only with ``--enforce-targets``, see
``_targets.py``), and checks that every mode gave every student the same score as stock
and as expected from the mix. Exit status 1 when a score differs or a submission has no
score, with or without the switch. ``--quick`` grades 4
submissions; ``--box`` picks our box (default ``auto``: the warm box where it can start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _honest_course import HonestStudent, build_honest_course, honest_mix  # noqa: E402
from _hostile_class import LIMIT_MIB, compare_memory  # noqa: E402
from _stock import autograde, generate_assignment, notebook_scores  # noqa: E402
from _targets import add_enforce_flag, targets_status, write_report  # noqa: E402

ASSIGNMENT = "mini"
BOX_ENV_VAR = "AUTOGRADER_BOX"
"""Read by ``autograder.pipeline.process_box`` in every grading process."""
TARGET_SPEEDUP = 5.0
QUICK_SUBMISSIONS = 4


@dataclass
class ModeResult:
    """One grading mode's run."""

    name: str
    seconds: float = 0.0
    scores: dict[str, float | None] = field(default_factory=dict)
    error: str = ""
    box_hint: str = ""
    """How the jobs' interpreters were isolated, as their results report it."""

    def per_minute(self, notebooks: int) -> float:
        return 60.0 * notebooks / self.seconds if self.seconds > 0 else 0.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SUBMISSIONS} submissions")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--box",
        choices=("auto", "warm", "cold"),
        default="auto",
        help="our box (AUTOGRADER_BOX): auto takes the warm box where it can start",
    )
    parser.add_argument("--no-stock", action="store_true", help="skip stock nbgrader")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    parser.add_argument(
        "--hostile-memory",
        action="store_true",
        help="also compare the driver's peak memory on the class made hostile",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--keep", type=Path, help="build in this (new) folder and keep it")
    add_enforce_flag(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.submissions = QUICK_SUBMISSIONS
    if args.submissions < 1 or args.workers < 1:
        parser.error("--submissions and --workers must be at least 1")
    return args


def run_stock(course: Path, students: list[str]) -> ModeResult:
    result = ModeResult("stock nbgrader")
    generate_assignment(course, ASSIGNMENT)
    run = autograde(course, ASSIGNMENT)
    result.seconds = run.seconds
    if run.returncode != 0:
        result.error = f"nbgrader autograde exited {run.returncode}:\n{run.log_tail}"
    result.scores = notebook_scores(course / "gradebook.db", ASSIGNMENT, ASSIGNMENT, students)
    return result


def _ours(
    name: str, course: Path, students: list[str], make_executor: Callable[[], Any]
) -> ModeResult:
    """Grade with our driver through the executor ``make_executor`` returns."""
    from autograder.driver import grade_assignment

    result = ModeResult(name)
    started = time.perf_counter()
    try:
        with make_executor() as executor:
            summary = grade_assignment(course, ASSIGNMENT, executor=executor, progress=False)
    except Exception as error:
        result.seconds = time.perf_counter() - started
        result.error = f"{type(error).__name__}: {error}"
        return result
    result.seconds = time.perf_counter() - started
    errors = [f"{r.student_id}: {r.error.strip()[-300:]}" for r in summary.results if r.error]
    result.error = "\n".join(errors)
    layers = summary.results[0].layers if summary.results else {}
    result.box_hint = str(layers.get("isolated_interpreter", {}).get("detail", ""))
    result.scores = notebook_scores(course / "gradebook.db", ASSIGNMENT, ASSIGNMENT, students)
    return result


def run_local(course: Path, students: list[str], workers: int) -> ModeResult:
    from autograder.executors import LocalExecutor

    return _ours(
        f"ours, local ({workers} workers)",
        course,
        students,
        lambda: LocalExecutor(workers, has_gpu=False),
    )


def run_dask(course: Path, students: list[str], workers: int, scratch: Path) -> ModeResult:
    sys.path.insert(0, str(HERE.parent / "tests" / "autograder"))
    from dask_cluster import WorkerSpec, start_cluster

    from autograder.executors import DaskExecutor

    specs = tuple(WorkerSpec(f"w{index}") for index in range(workers))
    cluster = start_cluster(scratch / "dask", specs)
    try:
        return _ours(
            f"ours, Dask ({workers} workers)",
            course,
            students,
            lambda: DaskExecutor(cluster.address),
        )
    finally:
        cluster.stop()


def compare(
    expected: dict[str, float], modes: list[ModeResult], reference: ModeResult | None
) -> list[str]:
    """Every score that differs from the expected one or from stock's."""
    problems = []
    for mode in modes:
        for student, want in expected.items():
            got = mode.scores.get(student)
            if got is None:
                problems.append(f"{mode.name}: {student} has no score")
            elif abs(got - want) > 1e-9:
                problems.append(f"{mode.name}: {student} scored {got}, expected {want}")
            if reference is not None and mode is not reference:
                theirs = reference.scores.get(student)
                if theirs is None or got is None or abs(got - theirs) > 1e-9:
                    problems.append(f"{mode.name}: {student} {got} but stock {theirs}")
    return problems


def print_table(notebooks: int, modes: list[ModeResult], stock: ModeResult | None) -> None:
    print(f"\n{'mode':<28}{'notebooks':>10}{'seconds':>10}{'nb/min':>10}{'vs stock':>10}")
    for mode in modes:
        ratio = f"{stock.seconds / mode.seconds:.1f}x" if stock and mode.seconds else "-"
        print(
            f"{mode.name:<28}{notebooks:>10}{mode.seconds:>10.1f}"
            f"{mode.per_minute(notebooks):>10.1f}{ratio:>10}"
        )


def report(args: argparse.Namespace, students: list[HonestStudent], modes: list[ModeResult]) -> int:
    stock = next((m for m in modes if m.name.startswith("stock")), None)
    expected = {student.id: student.expected for student in students}
    problems = compare(expected, modes, stock)
    problems += [f"{mode.name}: {mode.error}" for mode in modes if mode.error]
    print_table(len(students), modes, stock)
    ours = [mode for mode in modes if mode is not stock]
    speedups = {m.name: stock.seconds / m.seconds for m in ours if stock and m.seconds}
    misses = []
    for name, speedup in speedups.items():
        verdict = "met" if speedup >= TARGET_SPEEDUP else "MISSED"
        print(
            f"speed-up of {name} over stock: {speedup:.1f}x (target {TARGET_SPEEDUP:g}x: {verdict})"
        )
        if speedup < TARGET_SPEEDUP:
            misses.append(f"{name} speed-up {speedup:.1f}x < {TARGET_SPEEDUP:g}x")
    for mode in ours:
        print(f"{mode.name}: job interpreters: {mode.box_hint or 'unknown'}")
    print(f"scores identical in every mode: {'yes' if not problems else 'NO'}")
    for line in problems:
        print(f"  {line}")
    if args.json:
        data = {
            "submissions": len(students),
            "workers": args.workers,
            "box": args.box,
            "cpu_count": os.cpu_count(),
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "target_speedup": TARGET_SPEEDUP,
            "modes": {
                mode.name: {**asdict(mode), "notebooks_per_minute": mode.per_minute(len(students))}
                for mode in modes
            },
            "speedups_over_stock": speedups,
            "expected_scores": expected,
            "scores_identical": not problems,
            "problems": problems,
        }
        write_report(args.json, data)
    status = targets_status(misses, args.enforce_targets)
    return 1 if problems else status


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ[BOX_ENV_VAR] = args.box  # inherited by our workers, local and Dask
    students = honest_mix(args.submissions)
    ids = [student.id for student in students]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="throughput-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        base = build_honest_course(workdir / "base", students)
        modes = []
        if not args.no_stock:
            modes.append(run_stock(_copy(base, workdir / "stock"), ids))
        modes.append(run_local(_copy(base, workdir / "local"), ids, args.workers))
        if not args.no_dask:
            modes.append(run_dask(_copy(base, workdir / "dask"), ids, args.workers, workdir))
        status = report(args, students, modes)
        if args.hostile_memory:
            lines, figures = compare_memory(base, workdir / "memory", args.workers)
            print("\n".join(lines))
            over = [who for who, extra in figures["extra_mib"].items() if extra > LIMIT_MIB]
            verdict = "NO: " + ", ".join(over) if over else "yes"
            print(f"hostile class within +{LIMIT_MIB:g} MiB: {verdict}")
            if args.json:
                data = json.loads(args.json.read_text(encoding="utf-8"))
                args.json.write_text(json.dumps({**data, "hostile_memory": figures}, indent=1))
            status = 1 if over else status
        return status
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _copy(base: Path, target: Path) -> Path:
    shutil.copytree(base, target)
    return target


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
