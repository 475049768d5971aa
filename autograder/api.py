"""The autograder's Python API; the command line (:mod:`autograder.cli`) is a thin layer
over these functions (:func:`grade`, :func:`feedback`, :func:`export`, :func:`report`,
:func:`collect_lms`) and takes its defaults from their signatures.

``course_dir`` is the nbgrader course root (holding ``source/`` and ``submitted/``); the
workspace defaults to ``<course>/autograder/`` and the database to the course's
``gradebook.db`` (or ``CourseDirectory.db_url`` in its ``nbgrader_config.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course import CourseError
from autograder.course_layout import TERM_FILE, CourseLayout
from autograder.driver import GradingSummary, grade_assignment, load_templates, resolve_workspace
from autograder.files import atomic_write_text
from autograder.job import WORKER_DIED, JobStatus
from autograder.journal import Journal, JournalError

REPORTS_DIR = "reports"
"""Where :func:`report` writes, under the course: ``reports/<assignment>/``."""
FEEDBACK_DIR = "feedback"
"""Where feedback pages go under the course: nbgrader's own feedback folder layout."""
GRADES_FILE = "grades.csv"


def grade(
    assignment: str,
    course_dir: str | os.PathLike[str] = ".",
    *,
    students: Sequence[str] | None = None,
    only_ungraded: bool = False,
    term_seed: int | None = None,
    db_url: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    progress: bool = True,
    executor: Any = None,
    regrade: bool = False,
) -> GradingSummary:
    """Grade ``assignment``; jobs whose journaled result is still current are not rerun.

    ``students``: only these students. ``only_ungraded``: only students with no journal
    entry and no gradebook submission. ``regrade``: grade again even where the journal
    holds a result (e.g. after fixing the specs). ``workers``: local worker processes (one per
    core by default); ``scheduler``: a Dask scheduler address instead; ``executor``: an
    executor object of your own (you close it). ``term_seed``: default from
    ``<course>/term.json``.
    """
    with _executor(workers, scheduler, executor) as runner:
        return grade_assignment(
            course_dir,
            assignment,
            students=students,
            only_ungraded=only_ungraded,
            regrade=regrade,
            executor=runner,
            term_seed=term_seed,
            db_url=db_url,
            workspace=workspace,
            progress=progress,
        )


def feedback(
    assignment: str,
    course_dir: str | os.PathLike[str] = ".",
    *,
    students: Sequence[str] | None = None,
    workspace: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    skipped: list[str] | None = None,
) -> list[Path]:
    """Write ``<out_dir>/<student>/<assignment>/<notebook>.html`` from the journal.

    ``out_dir`` defaults to ``<course>/feedback`` (where nbgrader keeps feedback).
    Results that ended in ERROR are for the course team and get no page; nor does a
    result whose student id is unusable as a folder name (the reason goes to ``skipped``).
    """
    from autograder.reports.feedback import Lateness, write_feedback

    layout = CourseLayout.open(course_dir)
    templates = load_templates(layout, assignment)
    results = _journal_results(layout, assignment, workspace, templates, students)
    keyed = {(assignment, name): template for name, template in templates.items()}
    target = Path(out_dir) if out_dir is not None else layout.root / FEEDBACK_DIR
    # The same due date and penalty the driver stored in the gradebook (no term.json: none).
    term = layout.term() if (layout.root / TERM_FILE).is_file() else None
    late = {}
    for result in results:
        if term is not None:
            when, _ = layout.submission_time(result.student_id, assignment)
            penalty = term.late_penalty(assignment, result.score, when)
            late[result.key] = Lateness(term.due_instant(assignment), when, penalty)
    return write_feedback(results, keyed, target, skipped, late)


def export(
    assignment: str | None = None,
    course_dir: str | os.PathLike[str] = ".",
    *,
    db_url: str | None = None,
    to: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the grades CSV (every assignment, or one) in ``nbgrader export``'s format.

    ``to`` defaults to ``<course>/grades.csv``.
    """
    from autograder.reports.export import rows_from_gradebook, write_grades_csv

    layout = CourseLayout.open(course_dir)
    settings = layout.settings()
    try:
        rows = rows_from_gradebook(
            db_url or settings.db_url, assignment, course_id=settings.course_id
        )
    except (FileNotFoundError, ValueError) as error:
        raise CourseError(str(error)) from error
    return write_grades_csv(rows, Path(to) if to is not None else layout.root / GRADES_FILE)


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`report` wrote, and the table it printed."""

    pass_rates_csv: Path
    pass_rates_txt: Path
    histogram_png: Path
    table: str
    students: int
    by_hand: float = 0.0
    """Points graded by a person (written answers, tasks): in the histogram's maximum,
    never in its scores."""


def report(
    assignment: str,
    course_dir: str | os.PathLike[str] = ".",
    *,
    workspace: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> ReportFiles:
    """Write ``passrates.csv``, ``passrates.txt`` and ``scores.png`` for ``assignment``.

    Read from the journal (graded and timed-out results). A student's score is the sum
    over the assignment's notebooks; the histogram's maximum is the sum of their
    templates' maximum scores. ``out_dir`` defaults to ``<course>/reports/<assignment>``.
    """
    from autograder.reports.histogram import plot_score_histogram
    from autograder.reports.passrate import format_table, pass_rates, write_csv

    layout = CourseLayout.open(course_dir)
    templates = load_templates(layout, assignment)
    results = [
        r
        for r in _journal_results(layout, assignment, workspace, templates)
        if r.status in (JobStatus.GRADED, JobStatus.TIMEOUT)
    ]
    target = Path(out_dir) if out_dir is not None else layout.root / REPORTS_DIR / assignment
    rows = pass_rates(results, assignment, templates)
    table = format_table(rows)
    csv_path = write_csv(rows, target / "passrates.csv")
    txt_path = atomic_write_text(target / "passrates.txt", table + "\n")
    totals: dict[str, float] = {}
    for result in results:
        totals[result.student_id] = totals.get(result.student_id, 0.0) + result.score
    max_score = sum(template.max_score for template in templates.values())
    png = plot_score_histogram(
        sorted(totals.values()), max_score, target / "scores.png", f"{assignment}: total scores"
    )
    by_hand = max_score - sum(sum(t.autograded_points.values()) for t in templates.values())
    return ReportFiles(csv_path, txt_path, png, table, len(totals), by_hand)


def collect_lms(
    zip_path: str | os.PathLike[str],
    assignment: str,
    course_dir: str | os.PathLike[str] = ".",
    *,
    roster: str | os.PathLike[str],
) -> Any:
    """Unpack an LMS download into ``<course>/submitted/<student>/<assignment>/``.

    ``roster`` is a CSV mapping LMS ids to student ids (``lms_id,student_id,...``); its
    students (names, email, LMS id) are written to the gradebook's student table.
    Returns the :class:`autograder.lms.ImportReport` (imported, unmatched, skipped).
    """
    from autograder.gradebook_writer import GradebookWriter
    from autograder.lms import LmsZipError, Roster, RosterError, import_lms_zip

    layout = CourseLayout.open(course_dir)
    try:
        table = Roster.from_csv(roster)
        report = import_lms_zip(zip_path, layout.root, assignment, table)
    except (LmsZipError, RosterError, FileNotFoundError) as error:
        raise CourseError(str(error)) from error
    # The roster's names, email and LMS id go into the gradebook, so grades.csv carries them.
    settings = layout.settings()
    with GradebookWriter(settings.db_url, settings.course_id) as writer:
        writer.set_students({e.student_id: e.info for e in table.entries.values()})
    return report


def _journal_results(
    layout: CourseLayout,
    assignment: str,
    workspace: str | os.PathLike[str] | None,
    templates: dict[str, Any],
    students: Sequence[str] | None = None,
) -> list[Any]:
    """The journal's results for ``assignment``, minus grader errors and unknown notebooks."""
    journal = Journal(resolve_workspace(layout, workspace) / "results")
    wanted = None if students is None else set(students)
    results = []
    for _, entry in journal.entries(assignment):
        if isinstance(entry, JournalError):
            raise CourseError(str(entry))
        if wanted is not None and entry.student_id not in wanted:
            continue
        # A grader error is the course team's; one the notebook caused is the student's too.
        if entry.notebook not in templates or (
            entry.status is JobStatus.ERROR and not entry.error.startswith(WORKER_DIED)
        ):
            continue
        results.append(entry)
    return results


@contextmanager
def _executor(workers: int | None, scheduler: str | None, executor: Any) -> Iterator[Any]:
    """The executor a call asks for; one started here is closed here."""
    chosen = [
        name
        for name, value in (("workers", workers), ("scheduler", scheduler), ("executor", executor))
        if value is not None
    ]
    if len(chosen) > 1:
        raise CourseError(
            f"pass only one of {', '.join(chosen)}: local workers, a Dask scheduler and an "
            "executor object are alternatives"
        )
    if executor is not None or (workers is None and scheduler is None):
        yield executor  # None: the driver starts its default LocalExecutor
        return
    if scheduler is not None:
        from autograder.executors import DaskExecutor

        try:
            started = DaskExecutor(scheduler)
        except (OSError, TimeoutError) as error:
            raise CourseError(
                f"cannot reach the Dask scheduler at {scheduler!r}: {error}; check the "
                "address (e.g. tcp://host:8786) or grade locally with --workers N"
            ) from error
    else:
        from autograder.executors import LocalExecutor

        try:
            started = LocalExecutor(workers)
        except ValueError as error:
            raise CourseError(str(error)) from error
    with started:
        yield started
