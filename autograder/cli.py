"""``python -m autograder``: the command line over :mod:`autograder.api` (commands:
``--help``, and "Running it" in ``docs/AUTOGRADER.md``).

Exit status: 0 all graded; 1 some jobs ended in ERROR; 2 a usage or configuration
problem (the message names it and the fix); 3 work is left awaiting a GPU runner; 130
stopped by Ctrl-C or SIGTERM (one line says what was saved; a rerun continues).
Grading prints its summary line last. Defaults come from the API functions' signatures.

The options both command lines share are defined here, once, with one meaning each
(:mod:`autograder.instructor.cli` uses them): ``--nbgrader-root`` is an nbgrader course
folder (``source/``, ``submitted/``, the gradebook); ``--student``, ``--only-ungraded``
and ``--regrade`` pick the work; ``--workers`` / ``--scheduler`` say where jobs run;
``--no-progress`` hides the bar. ``--course`` is only ever the repository root (the
instructor's commands).
"""

from __future__ import annotations

import argparse
import inspect
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from autograder import api
from autograder.course import CourseError
from autograder.driver import (
    EXIT_ERRORS,
    EXIT_USAGE,
    GradebookWriteError,
    GradingInterrupted,
    GradingSummary,
)
from autograder.executors.base import ExecutorLost
from autograder.intake import TemplateError
from autograder.job import JobStatus
from autograder.journal import JournalError
from autograder.specs import SpecError

#: Ctrl-C or SIGTERM, as shells report a SIGINT death (128 + 2).
EXIT_INTERRUPTED = 130
#: Problems the course team fixes in the course or the options: exit status 2.
CONFIG_ERRORS = (CourseError, TemplateError, SpecError, JournalError)


def default(function: Callable[..., Any], name: str) -> Any:
    """The default of ``function``'s parameter ``name``: the API owns every default."""
    return inspect.signature(function).parameters[name].default


def out(
    parser: argparse.ArgumentParser,
    function: Callable[..., Any],
    what: str,
    dest: str = "out_dir",
    metavar: str = "DIR",
) -> None:
    """``--out``: where ``function`` writes, its parameter ``dest``."""
    parser.add_argument(
        "--out", dest=dest, default=default(function, dest), metavar=metavar, help=what
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description="Grade nbgrader submissions in a sandbox."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("grade", "grade an assignment (only what changed since the last run)"),
        ("regrade", "grade an assignment again, ignoring earlier results (grade --regrade)"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=_grade)
        _assignment(sub)
        nbgrader_root(sub, api.grade)
        students(sub, api.grade)
        selection(sub, api.grade, regrade=name == "regrade")
        sub.add_argument(
            "--term-seed",
            type=int,
            default=default(api.grade, "term_seed"),
            metavar="N",
            help="the term's seed for per-student inputs (default: <nbgrader-root>/term.json)",
        )
        _db(sub, api.grade)
        pool(sub, api.grade)
        _workspace(sub, api.grade)
        progress(sub, api.grade)

    sub = commands.add_parser("feedback", help="write the students' feedback pages")
    sub.set_defaults(handler=_feedback)
    _assignment(sub)
    nbgrader_root(sub, api.feedback)
    students(sub, api.feedback)
    _workspace(sub, api.feedback)
    out(sub, api.feedback, "where the pages go (default: <nbgrader-root>/feedback)")

    sub = commands.add_parser("export", help="write the grades CSV as nbgrader export does")
    sub.set_defaults(handler=_export)
    sub.add_argument(
        "assignment",
        nargs="?",
        default=default(api.export, "assignment"),
        help="only this assignment (default: all)",
    )
    nbgrader_root(sub, api.export)
    _db(sub, api.export)
    sub.add_argument(
        "--to",
        default=default(api.export, "to"),
        metavar="FILE",
        help="the CSV file (default: <nbgrader-root>/grades.csv)",
    )
    sub = commands.add_parser("report", help="write the pass-rate table and the score histogram")
    sub.set_defaults(handler=_report)
    _assignment(sub)
    nbgrader_root(sub, api.report)
    _workspace(sub, api.report)
    out(sub, api.report, "where the files go (default: <nbgrader-root>/reports/<assignment>)")

    sub = commands.add_parser(
        "collect-lms", help="unpack an LMS download (zip) into submitted/ using a roster"
    )
    sub.set_defaults(handler=_collect_lms)
    sub.add_argument("zip_path", metavar="ZIP", help="the zip downloaded from the LMS")
    _assignment(sub)
    nbgrader_root(sub, api.collect_lms)
    sub.add_argument(
        "--roster", required=True, metavar="CSV", help="lms_id,student_id[,first_name,...]"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    return run_command(build_parser(), argv)


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its ``handler``; a course problem exits 2 with its message,
    a gradebook that refused a write or a cluster lost mid-run exits 1 (the results are
    safe in the journal), and Ctrl-C or SIGTERM exits 130 with one line saying what was
    saved (the lock is released on the way out)."""
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.handler(args))
    except GradingInterrupted as stop:
        print(
            f"interrupted: the {stop.saved} notebook(s) graded before the stop are saved in "
            f"the journal ({stop.journal}) and the gradebook; run the same command again to "
            "continue where it stopped",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted: stopped before finishing; run the command again", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CONFIG_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (GradebookWriteError, ExecutorLost) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERRORS
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler or ``kill`` stopping the run) stops it as Ctrl-C does."""
    raise KeyboardInterrupt


def _grade(args: argparse.Namespace) -> int:
    summary = api.grade(
        args.assignment, args.nbgrader_root, students=args.students,
        only_ungraded=args.only_ungraded, regrade=args.regrade, term_seed=args.term_seed,
        db_url=args.db, workers=args.workers, scheduler=args.scheduler,
        workspace=args.workspace, progress=args.progress,
    )  # fmt: skip
    return print_summary(summary)


def print_summary(summary: GradingSummary) -> int:
    """Warnings, errors, then the summary line last; returns the run's exit status."""
    for problem in summary.problems:
        print(f"warning: {problem}", file=sys.stderr)
    for result in summary.results:
        if result.status is JobStatus.ERROR:
            print(f"error: {'/'.join(result.key)}: {last_line(result.error)}", file=sys.stderr)
    if summary.unchanged:
        print(f"{summary.unchanged} unchanged since the last run (not regraded)")
    if summary.errors:
        print(
            f"error: {summary.errors} notebook(s) could not be graded (see above); fix the "
            "cause and run the same command again: it grades only those",
            file=sys.stderr,
        )
    elif summary.awaiting_gpu:
        print(
            f"note: {summary.awaiting_gpu} notebook(s) need a GPU and were not graded here "
            "(not scored zero); run the same command on a machine with a GPU",
            file=sys.stderr,
        )
    print(summary.line)
    return summary.exit_code


def print_feedback(paths: list[Any], skipped: list[str]) -> int:
    for problem in skipped:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"wrote {len(paths)} feedback page(s)")
    return 0


def last_line(text: str) -> str:
    """The gist of an error: a traceback's last line names the exception and its message."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no details recorded"


def _feedback(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    paths = api.feedback(
        args.assignment,
        args.nbgrader_root,
        students=args.students,
        workspace=args.workspace,
        out_dir=args.out_dir,
        skipped=skipped,
    )
    return print_feedback(paths, skipped)


def _export(args: argparse.Namespace) -> int:
    path = api.export(args.assignment, args.nbgrader_root, db_url=args.db, to=args.to)
    print(f"wrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    files = api.report(
        args.assignment, args.nbgrader_root, workspace=args.workspace, out_dir=args.out_dir
    )
    print(files.table)
    if files.by_hand:
        print(f"scores are autograded points; {files.by_hand:g} more are graded by hand")
    print(f"{files.students} student(s); wrote {files.pass_rates_csv}, {files.histogram_png}")
    return 0


def _collect_lms(args: argparse.Namespace) -> int:
    """Exit 1 when entries were left unmatched or skipped: someone must look at them."""
    report = api.collect_lms(args.zip_path, args.assignment, args.nbgrader_root, roster=args.roster)
    return print_collected(report)


def print_collected(report: Any) -> int:
    """A collect's summary, then its problem (if any) as the error line of exit status 1."""
    print(report.summary())
    if report.problem:
        print(f"error: {report.problem}", file=sys.stderr)
        return EXIT_ERRORS
    return 0


def _assignment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="the assignment name (its folder under source/)")


def nbgrader_root(
    parser: argparse.ArgumentParser,
    function: Callable[..., Any],
    parameter: str = "course_dir",
    text: str = "%(default)s",
) -> None:
    """``--nbgrader-root DIR``: an nbgrader course folder (source/, submitted/, gradebook)."""
    parser.add_argument(
        "--nbgrader-root",
        dest="nbgrader_root",
        default=default(function, parameter),
        metavar="DIR",
        help=f"the nbgrader course folder, holding source/ and submitted/ (default: {text})",
    )


def students(parser: argparse.ArgumentParser, function: Callable[..., Any]) -> None:
    parser.add_argument(
        "--student",
        dest="students",
        default=default(function, "students"),
        action="extend",
        nargs="+",
        metavar="ID",
        help="only these students (repeatable)",
    )


def workers(parser: Any, function: Callable[..., Any]) -> None:
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=default(function, "workers"),
        metavar="N",
        help="local grading processes (default: one per core)",
    )


def selection(
    parser: argparse.ArgumentParser, function: Callable[..., Any], *, regrade: bool = False
) -> None:
    """``--only-ungraded`` and ``--regrade``: which students and results a run takes."""
    parser.add_argument(
        "--only-ungraded",
        action="store_true",
        default=default(function, "only_ungraded"),
        help="only students with no result in the journal or the gradebook",
    )
    parser.add_argument(
        "--regrade",
        action="store_true",
        default=regrade or default(function, "regrade"),
        help="grade again, ignoring earlier results",
    )


def pool(parser: argparse.ArgumentParser, function: Callable[..., Any]) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``: where the jobs run."""
    where = parser.add_mutually_exclusive_group()
    workers(where, function)
    where.add_argument(
        "--scheduler",
        default=default(function, "scheduler"),
        metavar="ADDRESS",
        help="grade on a Dask cluster, e.g. tcp://host:8786",
    )


def progress(parser: argparse.ArgumentParser, function: Callable[..., Any]) -> None:
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=default(function, "progress"),
        help="no progress bar",
    )


def _db(parser: argparse.ArgumentParser, function: Callable[..., Any]) -> None:
    parser.add_argument(
        "--db",
        default=default(function, "db_url"),
        metavar="URL",
        help="SQLAlchemy URL of the gradebook (default: <nbgrader-root>/gradebook.db)",
    )


def _workspace(parser: argparse.ArgumentParser, function: Callable[..., Any]) -> None:
    parser.add_argument(
        "--workspace",
        default=default(function, "workspace"),
        metavar="DIR",
        help="where the journal lives (default: <nbgrader-root>/autograder)",
    )
