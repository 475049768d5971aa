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
"""

from __future__ import annotations

import argparse
import json
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
from corpus.grading import CORPUS_LIMITS  # noqa: E402
from corpus.session import run_session  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from _targets import add_enforce_flag, targets_status  # noqa: E402

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


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    attacks = all_attacks()
    if args.quick:
        attacks = [attack for attack in attacks if attack.id in QUICK_ATTACKS]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="adversarial-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        session = run_session(
            workdir,
            attacks=attacks,
            controls=CONTROLS,
            neighbours=not args.quick,
            grade_alone=not args.quick,
            workers=args.workers,
        )
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report = session.report
    print(
        f"adversarial corpus: {report.students} students graded in "
        f"{report.grading_seconds:.0f} s ({args.workers} workers, "
        f"{CORPUS_LIMITS.wall_seconds:g} s per notebook)"
    )
    print_table(report)
    if args.json:
        data = {
            **report.to_dict(),
            "workers": args.workers,
            "quick": args.quick,
            "wall_seconds_limit": CORPUS_LIMITS.wall_seconds,
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    harms = sum(report.harm_counts().values())
    print(f"\n{'NO HARM' if harms == 0 else f'{harms} HARMFUL OUTCOMES'}")
    misses = [
        f"isolation layer {name} missing on some job ({why})"
        for name, why in sorted(report.layers_missing.items())
    ]
    status = targets_status(misses, args.enforce_targets)
    return 1 if harms else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
