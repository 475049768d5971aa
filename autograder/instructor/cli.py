"""``python -m autograder.instructor``: the instructor's commands over the Python API.

Exit codes: 0 success; 1 a proof or the sync check failed; 2 a configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autograder.course_layout import CourseConfigError
from autograder.instructor.changelog import changelog
from autograder.instructor.errors import CourseFileError
from autograder.instructor.release import release
from autograder.instructor.sync import check_sync
from autograder.instructor.terms import new_term
from autograder.intake import TemplateError
from autograder.specs import SpecError

CONFIG_ERRORS = (CourseFileError, CourseConfigError, TemplateError, SpecError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder.instructor", description=__doc__)
    parser.add_argument("--course", default=".", help="repository root (default: current dir)")
    commands = parser.add_subparsers(dest="command", required=True)
    term = commands.add_parser("new-term", help="write course/terms/TERM_ID.toml")
    term.add_argument("term_id")
    term.add_argument("--from", dest="from_term", help="term to copy (default: the current)")
    term.add_argument("--shift-weeks", type=int, help="move every date (default: 52 weeks)")
    term.add_argument("--make-current", action="store_true", help="also write current_term")
    rel = commands.add_parser("release", help="build, prove and publish assignments/")
    rel.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    rel.add_argument("--no-prove", action="store_true", help="skip the grading proofs")
    commands.add_parser("check-sync", help="is assignments/ in sync with solutions/?")
    log = commands.add_parser("changelog", help="what changed between two release folders")
    log.add_argument("old")
    log.add_argument("new")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CONFIG_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "new-term":
        shift = None if args.shift_weeks is None else 7 * args.shift_weeks
        path = new_term(
            args.course, args.term_id, args.from_term, shift, make_current=args.make_current
        )
        print(f"wrote {path}")
        return 0
    if args.command == "release":
        report = release(args.course, args.assignment, prove=not args.no_prove)
        print(report.render())
        return 0 if report.ok else 1
    if args.command == "check-sync":
        problems = check_sync(args.course)
        print("\n".join(problems) if problems else "assignments/ is in sync with solutions/")
        return 1 if problems else 0
    print(changelog(args.old, args.new).render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
