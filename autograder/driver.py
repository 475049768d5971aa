"""The grading driver: the single writer of the journal and the gradebook.

One run of :func:`grade_assignment`, in order:

1. resolve the course (layout, term seed, database, workspace) and load the templates;
2. take the workspace lock, so two runs never write at once;
3. make sure the assignment's rows exist in the gradebook;
4. build the jobs, and set aside those whose journal entry already carries the job's
   fingerprint and a final status (unless ``regrade``);
5. run the rest through the executor and, as each result arrives: check it against the
   template, write it to the journal (atomically), then to the gradebook (one
   transaction);
6. replay the whole journal of the assignment into the gradebook, which is idempotent,
   so a run killed between a journal write and its gradebook write is repaired.

Killing the driver at any moment and running it again therefore ends with the same
gradebook as one uninterrupted run.

The workspace defaults to ``<course>/autograder/`` (the journal lives in its
``results/``). It holds student results, so it must stay out of the course's git
repository: a workspace the driver creates gets its own ``.gitignore`` ignoring
everything in it.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from autograder.course import CourseError, Term
from autograder.course_layout import CourseLayout
from autograder.files import atomic_write_text
from autograder.gradebook_writer import GradebookWriter
from autograder.intake import NotebookTemplate, TemplateError, load_template
from autograder.job import GradingJob, JobResult, JobStatus
from autograder.journal import FINAL_STATUSES, Journal, JournalError
from autograder.result_check import ResultRefused, check_result, parse_result

WORKSPACE_DIR = "autograder"
RESULTS_DIR = "results"
LOCK_FILE = "driver.lock"

#: Exit statuses of a run (the CLI returns them; the API exposes them on the summary).
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_AWAITING_GPU = 3


class GradebookWriteError(RuntimeError):
    """The gradebook refused a write; the results are safe in the journal."""


@dataclass
class GradingSummary:
    """What a run ended with, over every job in its scope (run now or settled before)."""

    assignment: str
    graded: int = 0
    errors: int = 0
    timeouts: int = 0
    awaiting_gpu: int = 0
    unchanged: int = 0
    """Jobs not run because the journal already held their result."""
    results: list[JobResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Journal entries the replay could not use, and other things a human should see."""

    def add(self, result: JobResult, *, unchanged: bool = False) -> None:
        self.results.append(result)
        self.unchanged += unchanged
        if result.status is JobStatus.GRADED:
            self.graded += 1
        elif result.status is JobStatus.TIMEOUT:
            self.timeouts += 1
        elif result.status is JobStatus.AWAITING_GPU:
            self.awaiting_gpu += 1
        else:
            self.errors += 1

    @property
    def line(self) -> str:
        """The one-line summary, e.g. ``graded 40 · errors 0 · timeouts 1 · awaiting GPU 0``."""
        return (
            f"graded {self.graded} · errors {self.errors} · timeouts {self.timeouts} · "
            f"awaiting GPU {self.awaiting_gpu}"
        )

    @property
    def exit_code(self) -> int:
        """0 all scored, 1 some ended in ERROR, 3 some still await a GPU runner."""
        if self.errors:
            return EXIT_ERRORS
        if self.awaiting_gpu:
            return EXIT_AWAITING_GPU
        return EXIT_OK


@dataclass(frozen=True)
class GradingRun:
    """Everything a run resolved before grading starts."""

    layout: CourseLayout
    assignment: str
    term: Term
    """The seed of the students' inputs; the due instant and the late policy."""
    db_url: str
    course_id: str
    workspace: Path
    templates: dict[str, NotebookTemplate]

    @property
    def journal(self) -> Journal:
        return Journal(self.workspace / RESULTS_DIR)


def prepare_run(
    course_dir: str | os.PathLike[str],
    assignment: str,
    *,
    term_seed: int | None = None,
    db_url: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
) -> GradingRun:
    """Resolve a run's settings; raises :class:`CourseError` naming any problem."""
    layout = CourseLayout.open(course_dir)
    templates = load_templates(layout, assignment)
    settings = layout.settings()
    return GradingRun(
        layout=layout,
        assignment=assignment,
        term=layout.term(term_seed),
        db_url=db_url or settings.db_url,
        course_id=settings.course_id,
        workspace=resolve_workspace(layout, workspace),
        templates=templates,
    )


def load_templates(layout: CourseLayout, assignment: str) -> dict[str, NotebookTemplate]:
    """The templates of an assignment's notebooks, by notebook name."""
    templates = {}
    for notebook in layout.source_notebooks(assignment):
        try:
            templates[notebook.name] = load_template(notebook.path)
        except TemplateError as error:
            raise CourseError(
                f"{notebook.path} cannot be graded: {error}; fix the source notebook"
            ) from error
    return templates


def resolve_workspace(layout: CourseLayout, workspace: str | os.PathLike[str] | None) -> Path:
    """The workspace given, or the default ``<course>/autograder/``."""
    return Path(workspace).resolve() if workspace else layout.root / WORKSPACE_DIR


def grade_assignment(
    course_dir: str | os.PathLike[str],
    assignment: str,
    *,
    students: Sequence[str] | None = None,
    only_ungraded: bool = False,
    regrade: bool = False,
    executor: Any = None,
    term_seed: int | None = None,
    db_url: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> GradingSummary:
    """Grade one assignment of a course; see the module docstring for the steps.

    ``executor``: an :class:`autograder.executors.Executor` (the caller closes it); by
    default a :class:`~autograder.executors.LocalExecutor` is started for this run.
    """
    run = prepare_run(
        course_dir, assignment, term_seed=term_seed, db_url=db_url, workspace=workspace
    )
    journal = run.journal
    with workspace_lock(run.workspace), GradebookWriter(run.db_url, run.course_id) as writer:
        journal.remove_temporaries(assignment)
        _write_structure(writer, run)
        skip = _already_graded(journal, writer) if only_ungraded else None
        jobs = run.layout.build_jobs(
            assignment, run.term.seed, students=students, skip=skip, intake=run.term.intake
        )
        summary = GradingSummary(assignment)
        if students is None:
            summary.problems.extend(run.layout.refused_students(assignment))
        fingerprints = {job.key: job.fingerprint() for job in jobs}
        pending = []
        for job in jobs:
            settled = None if regrade else journal.settled(job, fingerprints[job.key])
            if settled is not None:
                summary.add(settled, unchanged=True)
            else:
                pending.append(job)
        written = set()
        if pending:
            with _executor_scope(executor) as runner:
                results = _run(runner, pending, run, fingerprints, summary.problems, progress)
                for result in results:
                    journal.write(result)
                    _write_result(writer, run, result)
                    written.add(result.key)
                    summary.add(result)
        _replay(journal, writer, run, summary, skip_keys=written)
    return summary


def _run(
    runner: Any,
    jobs: list[GradingJob],
    run: GradingRun,
    fingerprints: dict[tuple[str, str, str], str],
    problems: list[str],
    progress: bool,
) -> Iterator[JobResult]:
    """Results of ``jobs`` in completion order, each checked; one per job, always."""
    waiting = {job.key: job for job in jobs}
    counts = {status: 0 for status in JobStatus}
    bar = tqdm(
        total=len(jobs), desc=run.assignment, unit="nb", disable=not progress, file=sys.stderr
    )
    try:
        for job, data in runner.map_unordered(jobs):
            if waiting.pop(job.key, None) is None:
                # Not ours, or a second answer: the first one stands.
                problems.append(f"the executor returned an unexpected result for {job.key}")
                continue
            result = _accept(job, data, run.templates[job.notebook], fingerprints[job.key])
            counts[result.status] += 1
            bar.set_postfix_str(
                " ".join(f"{s.value} {n}" for s, n in counts.items() if n), refresh=False
            )
            bar.update(1)
            yield result
        for job in waiting.values():
            yield JobResult.failed(
                job,
                "the executor finished without returning a result",
                max_score=run.templates[job.notebook].max_score,
            )
    finally:
        bar.close()


def _accept(
    job: GradingJob, data: object, template: NotebookTemplate, fingerprint: str
) -> JobResult:
    """The worker's result, checked; a refused one becomes an ERROR result.

    A final result takes the fingerprint the driver computed *before* grading: if a file
    changed meanwhile, the next run sees a different fingerprint and grades it again.
    """
    try:
        result = parse_result(data)
        if result.key != job.key:
            raise ResultRefused(f"result is for {'/'.join(result.key)}, not {'/'.join(job.key)}")
        result = check_result(result, template)
    except ResultRefused as error:
        return JobResult.failed(job, f"result refused: {error}", max_score=template.max_score)
    if result.status in FINAL_STATUSES:
        result.fingerprint = fingerprint
    return result


def _write_structure(writer: GradebookWriter, run: GradingRun) -> None:
    try:
        writer.ensure_assignment(
            run.assignment, run.templates, duedate=run.term.due_instant(run.assignment)
        )
    except SQLAlchemyError as error:
        raise GradebookWriteError(
            f"cannot prepare {run.assignment!r} in the gradebook {run.db_url}: {error}"
        ) from error


def _write_result(writer: GradebookWriter, run: GradingRun, result: JobResult) -> None:
    """One result into the gradebook, with the student's submission time and late penalty."""
    timestamp: datetime | None = run.layout.submission_timestamp(
        result.student_id, result.assignment
    )
    penalty = run.term.late_penalty(result.assignment, result.score, timestamp)
    try:
        writer.write(
            result, run.templates[result.notebook], timestamp=timestamp, late_penalty=penalty
        )
    except SQLAlchemyError as error:
        raise GradebookWriteError(
            f"writing {'/'.join(result.key)} to the gradebook {run.db_url} failed: {error}. "
            "The result is safe in the journal; run the grader again to replay it"
        ) from error


def _replay(
    journal: Journal,
    writer: GradebookWriter,
    run: GradingRun,
    summary: GradingSummary,
    skip_keys: set[tuple[str, str, str]],
) -> None:
    """Write every journaled result of the assignment into the gradebook again."""
    for path, entry in journal.entries(run.assignment):
        if isinstance(entry, JournalError):
            summary.problems.append(str(entry))
            continue
        if entry.key in skip_keys:
            continue  # written moments ago in this run
        if entry.notebook not in run.templates:
            summary.problems.append(
                f"{path}: notebook {entry.notebook!r} is no longer in the source; not replayed"
            )
            continue
        try:
            _write_result(writer, run, entry)
        except ResultRefused as error:
            summary.problems.append(f"{path}: not replayed, the source changed: {error}")


def _already_graded(journal: Journal, writer: GradebookWriter) -> Any:
    """The "only ungraded" test: a journal entry or a gradebook submission exists."""
    submitted: dict[tuple[str, str], bool] = {}

    def graded(job: GradingJob) -> bool:
        key = (job.assignment, job.student_id)
        if key not in submitted:
            submitted[key] = writer.has_submission(*key)
        return submitted[key] or journal.exists(job)

    return graded


@contextmanager
def _executor_scope(executor: Any) -> Iterator[Any]:
    """The caller's executor as is, or a default one started and closed here."""
    if executor is not None:
        yield executor
        return
    try:
        from autograder.executors import LocalExecutor
    except ImportError as error:
        raise CourseError(f"no executor available ({error}); pass one with executor=...") from error
    with LocalExecutor() as default:
        yield default


def prepare_workspace(workspace: Path) -> None:
    """Create the workspace; a new one gets a ``.gitignore`` that ignores all of it.

    It holds student results, which must never land in the course's git repository. An
    existing folder is left as it is: it may be one the course team tracks on purpose.
    """
    if workspace.is_dir():
        return
    atomic_write_text(
        workspace / ".gitignore",
        "# Written by the autograder: student results stay out of git.\n*\n",
    )


@contextmanager
def workspace_lock(workspace: Path) -> Iterator[None]:
    """Hold ``<workspace>/driver.lock`` so that only one driver writes at a time.

    The kernel drops the lock when the process dies, so a killed run never leaves a
    stale lock behind.
    """
    prepare_workspace(workspace)
    path = workspace / LOCK_FILE
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(
                f"another grading run holds {path}; wait for it to finish (the journal and "
                "gradebook have a single writer) or pass a different workspace"
            ) from None
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(handle)  # closing releases the lock
