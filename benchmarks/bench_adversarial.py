"""The adversarial corpus as figures: what every attack achieved against the grader.

Usage::

    python benchmarks/bench_adversarial.py [--json PATH] [--workers N] [--quick] [--keep DIR]
                                           [--enforce-targets]

Builds the corpus course (``tests/autograder/corpus``: every attack on the fixture
notebook, honest controls, a neighbour control after each disruptive attack) in a
temporary folder, grades it with the real driver (local executor, default box), grades
the controls again alone, and prints the figures: attacks tried by class, score
inflations, other students' scores changed (cohort against alone), batch aborts, canary
leaks, network reached, files written outside the sandbox, leftover processes, tampered
records, the worst time-limit overshoot and the isolation layers the jobs had.

Exit status 1 when any harm figure is non-zero (the evidence is printed), else 0. The
target is every isolation layer active on every job (design decision 5): a machine
without one (no bubblewrap, say) is a missed target, printed, and exits 1 only with
``--enforce-targets`` (see ``_targets.py``).
``--quick`` grades a six-attack subset without the alone run (for smoke checks).

Then the front-door attacks (``corpus/front_door.py``: a forged exchange time, a
classmate's name, torch in a NumPy exercise), collected and graded with the instructor
commands against ``solutions/a1/losses``; each prints the honest score and the one it
obtained, and one off its honest score is a harm. They need root (skipped, saying why,
elsewhere).

Then (not with ``--quick``) the course attacks of issue 11 (``corpus.course_attacks``:
what students are given, used against the real ``a1/losses`` notebook, collected and
graded through the instructor commands): a score above the honest wrong answer's is an
inflation, counted as harm.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "autograder"))  # the corpus package

from corpus.attacks import QUICK_ATTACKS, all_attacks  # noqa: E402
from corpus.audit import HARMS, Report  # noqa: E402
from corpus.controls import CONTROLS  # noqa: E402
from corpus.course_attacks import ATTACKS as COURSE_ATTACKS  # noqa: E402
from corpus.course_attacks import HONEST, inflations, run_course_attacks  # noqa: E402
from corpus.front_door import FrontDoorOutcome, can_build, run_front_door  # noqa: E402
from corpus.grading import CORPUS_LIMITS  # noqa: E402
from corpus.session import run_session  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from _targets import add_enforce_flag, targets_status, write_report  # noqa: E402

LABELS = {
    "score_inflations": "score inflations",
    "others_changed": "other students' scores changed",
    "control_mismatches": "controls off their known score",
    "batch_aborts": "batch aborts",
    "canary_leaks": "canary leaks",
    "network_reached": "loopback server reached",
    "escapes": "files written outside the sandbox",
    "leftover_processes": "leftover processes",
    "tampering": "gradebook/journal/protected files tampered",
    "ipc_shared": "IPC objects seen across jobs",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--quick", action="store_true", help="six attacks, no alone run")
    parser.add_argument("--keep", type=Path, help="build in this (new) folder and keep it")
    add_enforce_flag(parser)
    return parser.parse_args(argv)


def print_table(report: Report) -> None:
    """The figures, harm first, with the evidence of every non-zero harm."""
    print(f"\nattacks tried by class ({sum(report.attacks_by_class.values())} in all)")
    for kind, count in sorted(report.attacks_by_class.items()):
        print(f"  {kind:<24}{count:>4}")
    print(f"\n{'figure':<46}{'value':>10}  kind")
    for name in HARMS:
        print(f"{LABELS[name]:<46}{len(getattr(report, name)):>10}  harm")
    info = [
        ("grader errors (need a human)", str(len(report.grader_errors))),
        ("jobs stopped at the deadline", str(len(report.timeouts))),
        ("worst time-limit overshoot", f"{report.worst_overshoot_seconds:+.2f} s"),
        ("hidden-test text in own journal entry", str(len(report.canaries_contained))),
    ]
    for label, value in info:
        print(f"{label:<46}{value:>10}  info")
    layers = report.layers_active
    print(f"\nisolation layers active on every job ({len(layers)}): {', '.join(layers) or 'none'}")
    for name, why in sorted(report.layers_missing.items()):
        print(f"  missing on some job: {name} ({why})")
    for name in HARMS:
        for line in getattr(report, name):
            print(f"  HARM {name}: {line}")
    for line in report.grader_errors:
        print(f"  grader error: {line[:300]}")


def print_front_door(outcomes: list[FrontDoorOutcome]) -> None:
    """The front-door attacks: honest score, obtained score, and whether that is a harm."""
    print("\nfront-door attacks (collect --exchange + grade, solutions/a1/losses)")
    print(f"  {'attack':<28}{'class':<18}{'honest':>8}{'obtained':>10}  outcome")
    for o in outcomes:
        verdict = "HARM" if o.harmful else "honest"
        print(f"  {o.id:<28}{o.kind.value:<18}{o.honest:>8.2f}{o.obtained:>10.2f}  {verdict}")


def _course_attacks(workers: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="course-attacks-"))
    try:
        return run_course_attacks(workdir, workers=workers)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_course_table(scores: dict[str, float], harms: list[str]) -> None:
    """Issue 11's table: each attack's score against the honest wrong answer's."""
    print(f"\ncourse attacks on a1/losses (issue 11), honest wrong answer: {scores[HONEST]:g}")
    print(f"  {'student':<20}{'row':>8}{'score':>8}  attack")
    for attack in (item for item in COURSE_ATTACKS if item.student_id != HONEST):
        score = scores[attack.student_id]
        print(f"  {attack.student_id:<20}{attack.row:>8}{score:>8g}  {attack.summary}")
    print(f"  {'reference':<20}{'-':>8}{scores['reference']:>8g}  the solution (control)")
    for line in harms:
        print(f"  HARM course attack: {line}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    attacks = all_attacks()
    if args.quick:
        attacks = [attack for attack in attacks if attack.id in QUICK_ATTACKS]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="adversarial-"))
    workdir.mkdir(parents=True, exist_ok=True)
    front: list[FrontDoorOutcome] = []
    try:
        session = run_session(
            workdir,
            attacks=attacks,
            controls=CONTROLS,
            neighbours=not args.quick,
            grade_alone=not args.quick,
            workers=args.workers,
        )
        if can_build() is None:
            front = run_front_door(workdir / "front-door", workers=args.workers).outcomes
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    course_scores = {} if args.quick else _course_attacks(args.workers)
    course_harms = inflations(course_scores) if course_scores else []
    report = session.report
    print(
        f"adversarial corpus: {report.students} students graded in "
        f"{report.grading_seconds:.0f} s ({args.workers} workers, "
        f"{CORPUS_LIMITS.wall_seconds:g} s per notebook)"
    )
    print_table(report)
    if course_scores:
        print_course_table(course_scores, course_harms)
    if front:
        print_front_door(front)
    else:
        print(f"\nfront-door attacks skipped: {can_build()}")
    if args.json:
        data = {
            **report.to_dict(),
            "front_door": [
                {"id": o.id, "class": o.kind.value, "honest": o.honest, "obtained": o.obtained}
                for o in front
            ],
            "course_attacks": course_scores,
            "course_attack_inflations": course_harms,
            "workers": args.workers,
            "quick": args.quick,
            "wall_seconds_limit": CORPUS_LIMITS.wall_seconds,
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
        }
        write_report(args.json, data)
    harms = sum(report.harm_counts().values()) + sum(o.harmful for o in front) + len(course_harms)
    print(f"\n{'NO HARM' if harms == 0 else f'{harms} HARMFUL OUTCOMES'}")
    misses = [
        f"isolation layer {name} missing on some job ({why})"
        for name, why in sorted(report.layers_missing.items())
    ]
    status = targets_status(misses, args.enforce_targets)
    return 1 if harms else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
