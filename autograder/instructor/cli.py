"""``python -m autograder.instructor``: the instructor's commands over the Python API.

    new-term TERM_ID | release [A] | check-sync | changelog OLD NEW
    collect A (--lms-zip ZIP --roster CSV | --exchange DIR) | grade A | feedback A
    export | term-report | demo [--out DIR] [--workers N]

``--course DIR`` is the repository root (holding ``course/``). Commands that grade work
in the term's nbgrader course folder (``--term``, default the current term;
``--nbgrader-root``, default ``workspace/<term>``). The options shared with
``python -m autograder`` come from :mod:`autograder.cli`, with the same meaning; defaults
come from the API's signatures. Exit codes: 0 success; 1 a proof, the sync check,
grading or the demo failed, or a collect left entries unmatched; 2 a configuration
error; 3 work awaits a GPU runner.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autograder import cli
from autograder.cli import default
from autograder.course import CourseError
from autograder.instructor import collect, demo, grading
from autograder.instructor.changelog import changelog
from autograder.instructor.release import release
from autograder.instructor.sync import check_sync
from autograder.instructor.term_report import term_report
from autograder.instructor.terms import new_term


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder.instructor", description=__doc__)
    parser.set_defaults(handler=_run)
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
    rel.add_argument(
        "--unlock", action="append", default=[], metavar="A",
        help="put assignment A's references back in the student edition (after its due date)",
    )  # fmt: skip
    rel.add_argument(
        "--edition", metavar="DIR", help="the student edition's folder (default: student-edition)"
    )
    commands.add_parser("check-sync", help="is assignments/ in sync with solutions/?")
    log = commands.add_parser("changelog", help="what changed between two release folders")
    log.add_argument("old")
    log.add_argument("new")
    _workspace_commands(commands)
    run = commands.add_parser("demo", help="the main job: release, grade a synthetic class")
    cli.out(run, demo.run_demo, "the demo folder, wiped first (default: workspace/demo)", "out")
    cli.workers(run, demo.run_demo)
    cli.progress(run, demo.run_demo)
    return parser


def _workspace_commands(commands: argparse._SubParsersAction) -> None:
    """collect, grade, feedback, export, term-report: they work in a term workspace."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--term",
        dest="term_id",
        default=default(grading.grade, "term_id"),
        help="the term (default: course/current_term)",
    )
    cli.nbgrader_root(where, grading.grade, "workspace", "workspace/<term>")
    take = commands.add_parser("collect", parents=[where], help="bring submissions into it")
    take.add_argument("assignment")
    source = take.add_mutually_exclusive_group(required=True)
    source.add_argument("--lms-zip", metavar="ZIP", help="an LMS bulk download")
    source.add_argument("--exchange", metavar="DIR", help="an nbgrader exchange root")
    take.add_argument("--roster", metavar="CSV", help="lms_id,student_id (with --lms-zip)")
    take.add_argument(
        "--no-check-owner",
        dest="check_owner",
        action="store_false",
        help="with --exchange: accept folders not owned by the student they name (an "
        "exchange where one service account writes every submission)",
    )
    run = commands.add_parser("grade", parents=[where], help="grade an assignment")
    run.add_argument("assignment")
    cli.students(run, grading.grade)
    cli.selection(run, grading.grade)
    cli.pool(run, grading.grade)
    cli.progress(run, grading.grade)
    back = commands.add_parser("feedback", parents=[where], help="write feedback pages")
    back.add_argument("assignment")
    cli.students(back, grading.feedback)
    cli.out(back, grading.feedback, "where the pages go (default: <nbgrader-root>/feedback)")
    out = commands.add_parser("export", parents=[where], help="grades CSV, histograms, pass rates")
    cli.out(out, grading.export, "where the files go (default: the nbgrader root)")
    page = commands.add_parser("term-report", parents=[where], help="the one-page HTML report")
    what = "the HTML file (default: <nbgrader-root>/term_report.html)"
    cli.out(page, term_report, what, "out", "FILE")


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_command(build_parser(), argv)


def _run(args: argparse.Namespace) -> int:
    if args.command == "new-term":
        shift = None if args.shift_weeks is None else 7 * args.shift_weeks
        path = new_term(
            args.course, args.term_id, args.from_term, shift, make_current=args.make_current
        )
        print(f"wrote {path}")
        return 0
    if args.command == "release":
        report = release(
            args.course, args.assignment, prove=not args.no_prove, unlock=args.unlock,
            edition=args.edition,
        )  # fmt: skip
        print(report.render())
        return 0 if report.ok else 1
    if args.command in _WORKSPACE_COMMANDS:
        return _WORKSPACE_COMMANDS[args.command](args)
    if args.command == "demo":
        result = demo.run_demo(
            args.course, out=args.out, workers=args.workers, progress=args.progress
        )
        return result.exit_code
    if args.command == "check-sync":
        problems = check_sync(args.course)
        print("\n".join(problems) if problems else "assignments/ is in sync with solutions/")
        return 1 if problems else 0
    print(changelog(args.old, args.new).render())
    return 0


def _collect(args: argparse.Namespace) -> int:
    where = {"term_id": args.term_id, "workspace": args.nbgrader_root}
    if args.exchange is not None:
        if args.roster is not None:
            raise CourseError("--roster goes with --lms-zip, not with --exchange")
        found = collect.collect_exchange(
            args.assignment, args.exchange, args.course, check_owner=args.check_owner, **where
        )
        return cli.print_collected(found)
    if args.roster is None:
        raise CourseError("--lms-zip needs --roster CSV (columns lms_id,student_id)")
    report = collect.collect_lms(args.assignment, args.lms_zip, args.roster, args.course, **where)
    return cli.print_collected(report)


def _grade(args: argparse.Namespace) -> int:
    summary = grading.grade(
        args.assignment, args.course, term_id=args.term_id, workspace=args.nbgrader_root,
        students=args.students, only_ungraded=args.only_ungraded, regrade=args.regrade,
        workers=args.workers, scheduler=args.scheduler, progress=args.progress,
    )  # fmt: skip
    return cli.print_summary(summary)


def _feedback(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    paths = grading.feedback(
        args.assignment, args.course, term_id=args.term_id, workspace=args.nbgrader_root,
        students=args.students, out_dir=args.out_dir, skipped=skipped,
    )  # fmt: skip
    return cli.print_feedback(paths, skipped)


def _export(args: argparse.Namespace) -> int:
    files = grading.export(
        args.course, term_id=args.term_id, workspace=args.nbgrader_root, out_dir=args.out_dir
    )
    print(f"wrote {files.grades_csv}")
    for name, report in files.reports.items():
        print(f"{name}: wrote {report.pass_rates_csv}, {report.histogram_png}")
    return 0


def _term_report(args: argparse.Namespace) -> int:
    path = term_report(
        args.course, term_id=args.term_id, workspace=args.nbgrader_root, out=args.out
    )
    print(f"wrote {path}")
    return 0


_WORKSPACE_COMMANDS = {
    "collect": _collect,
    "grade": _grade,
    "feedback": _feedback,
    "export": _export,
    "term-report": _term_report,
}


if __name__ == "__main__":
    sys.exit(main())
