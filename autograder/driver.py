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
gradebook as one uninterrupted run. Nothing it started outlives it: every worker
carries a parent-death signal (the executors set it), and the lock names the run
(pid and process start time) while the run's environment carries the same name, so
the next run finds and ends whatever a killed one left (:func:`workspace_lock`). A
gradebook locked by another writer is waited for (:func:`_patiently`), never skipped.

The workspace defaults to ``<course>/autograder/`` (the journal lives in its
``results/``). It holds student results, so it must stay out of the course's git
repository: a workspace the driver creates gets its own ``.gitignore`` ignoring
everything in it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from tqdm import tqdm

from autograder.autograded import autograded_path, write_autograded
from autograder.course import CourseError, Term
from autograder.course_layout import CourseLayout
from autograder.faults import fault_point
from autograder.files import atomic_write_text
from autograder.gradebook_writer import GradebookWriter
from autograder.intake import NotebookTemplate, TemplateError, load_template
from autograder.job import GradingJob, JobResult, JobStatus
from autograder.journal import FINAL_STATUSES, Journal, JournalError
from autograder.result_check import ResultRefused, check_result, parse_result
from autograder.runner.supervisor import environ_has, start_time, sweep

WORKSPACE_DIR = "autograder"
RESULTS_DIR = "results"
LOCK_FILE = "driver.lock"
RUN_ENV = "AUTOGRADER_RUN"
"""``<pid>:<start time>`` of the running driver, inherited by every process it starts."""
LOCKED_WAIT_SECONDS = 600.0
"""How long a gradebook held by another writer is waited for before the run gives up."""

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Exit statuses of a run (the CLI returns them; the API exposes them on the summary).
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_AWAITING_GPU = 3


class GradebookWriteError(RuntimeError):
    """The gradebook refused a write; the results are safe in the journal."""


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run; ``saved`` results it finished are in the journal
    (the next run replays them into the gradebook and does not grade them again)."""

    def __init__(self, saved: int, journal: Path) -> None:
        super().__init__(f"{saved} result(s) saved in {journal}")
        self.saved = saved
        self.journal = journal


@dataclass
class GradingSummary:
    """What a run ended with, over every job in its scope (run now or settled before)."""

    assignment: str
    graded: int = 0
    """Notebooks graded by this run (not those unchanged since an earlier one)."""
    errors: int = 0
    timeouts: int = 0
    awaiting_gpu: int = 0
    unchanged: int = 0
    """Jobs not run because the journal already held their result."""
    results: list[JobResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Journal entries the replay could not use, and other things a human should see."""

    def add(self, result: JobResult, *, unchanged: bool = False) -> None:
        """Count a result; an ``unchanged`` one (settled before) counts only as unchanged."""
        self.results.append(result)
        if unchanged:
            self.unchanged += 1
        elif result.status is JobStatus.GRADED:
            self.graded += 1
        elif result.status is JobStatus.TIMEOUT:
            self.timeouts += 1
        elif result.status is JobStatus.AWAITING_GPU:
            self.awaiting_gpu += 1
        else:
            self.errors += 1

    @property
    def line(self) -> str:
        """The one-line summary, e.g. ``graded 40 · errors 0 · timeouts 1 · awaiting GPU 0``;
        ``· unchanged N`` follows ``graded`` when a run skipped results already current."""
        unchanged = f" · unchanged {self.unchanged}" if self.unchanged else ""
        return (
            f"graded {self.graded}{unchanged} · errors {self.errors} · timeouts {self.timeouts} · "
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
    late_plugin: Any = None
    """nbgrader's late-submission plugin from ``nbgrader_config.py``, or None."""

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
    if term_seed is None and not layout.has_term_file() and not layout.uses_specs(assignment):
        term_seed = 0  # plain nbgrader tests draw no inputs: a course on nbgrader needs no seed
    term = layout.term(term_seed)
    if settings.late_plugin is not None and term.late_policy is not None:
        raise CourseError(
            "late penalties are configured twice: in nbgrader_config.py "
            "(AssignLatePenalties / LateSubmissionPlugin) and in the term's late_policy; "
            "keep one"
        )
    return GradingRun(
        layout=layout,
        assignment=assignment,
        term=term,
        db_url=db_url or settings.db_url,
        course_id=settings.course_id,
        workspace=resolve_workspace(layout, workspace),
        templates=templates,
        late_plugin=settings.late_plugin,
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
            assignment,
            run.term.seed,
            students=students,
            skip=skip,
            forbidden_calls=run.term.forbidden_calls,
            intake=run.term.intake,
        )
        summary = GradingSummary(assignment)
        if students is None:
            summary.problems.extend(run.layout.refused_students(assignment))
        summary.problems.extend(_student_timed(run, sorted({job.student_id for job in jobs})))
        fingerprints = {job.key: job.fingerprint() for job in jobs}
        pending = []
        for job in jobs:
            damaged: list[str] = []
            settled = None if regrade else journal.settled(job, fingerprints[job.key], damaged)
            summary.problems.extend(
                f"regrading {'/'.join(job.key)}: its journal entry {reason} is damaged"
                for reason in damaged
            )
            if settled is not None:
                summary.add(settled, unchanged=True)
                if not autograded_path(run.layout, job).is_file():
                    _write_autograded(run, job, settled, summary.problems)
            else:
                pending.append(job)
        written: set[tuple[str, str, str]] = set()
        by_key = {job.key: job for job in pending}
        try:
            if pending:
                with _executor_scope(executor) as runner:
                    results = _run(runner, pending, run, fingerprints, summary.problems, progress)
                    for result in results:
                        journal.write(result)
                        fault_point("journaled", len(written) + 1)
                        _write_result(writer, run, result)
                        _write_autograded(run, by_key[result.key], result, summary.problems)
                        written.add(result.key)
                        summary.add(result)
        except KeyboardInterrupt:
            # Counted from the journal: the signal may land inside a write that completed.
            saved = sum(journal.settled(job, fingerprints[job.key]) is not None for job in pending)
            raise GradingInterrupted(saved, run.workspace / RESULTS_DIR) from None
        summary.problems.extend(
            f"{'/'.join(result.key)} {verdict.test_id}: the graded calls used "
            f"{', '.join(verdict.forbidden)}, which the exercise must be written without "
            f"(term policy forbidden_calls = {run.term.forbidden_calls!r})"
            for result in summary.results
            for verdict in result.verdicts
            if verdict.forbidden
        )
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
            fault_point("result", len(jobs) - len(waiting) + 1)
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


def _patiently(write: Callable[[], T], run: GradingRun) -> T:
    """Run one gradebook transaction, waiting while another writer holds the database.

    formgrader open on the same course, or a second tool, can hold SQLite's write lock;
    each try already waits the driver's busy timeout. Each transaction is all or
    nothing, so a retry can neither lose a row nor leave half a result.
    """
    deadline = None
    while True:
        try:
            return write()
        except OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if deadline is None:
                deadline = time.monotonic() + LOCKED_WAIT_SECONDS
                log.warning(
                    "the gradebook %s is locked by another writer (formgrader?); waiting up "
                    "to %.0f s for it, nothing is lost meanwhile",
                    run.db_url,
                    LOCKED_WAIT_SECONDS,
                )
            elif time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _write_structure(writer: GradebookWriter, run: GradingRun) -> None:
    try:
        _patiently(
            lambda: writer.ensure_assignment(
                run.assignment, run.templates, duedate=run.term.due_instant(run.assignment)
            ),
            run,
        )
    except SQLAlchemyError as error:
        raise GradebookWriteError(
            f"cannot prepare {run.assignment!r} in the gradebook {run.db_url}: {error}"
        ) from error


def _student_timed(run: GradingRun, students: list[str]) -> list[str]:
    """A line for each student whose late penalty can only rest on their own timestamp.txt."""
    if run.term.late_policy is None or run.term.due_instant(run.assignment) is None:
        return []
    lines = []
    for student in students:
        when, from_course = run.layout.submission_time(student, run.assignment)
        if when is not None and not from_course:
            lines.append(
                f"{student}: the late penalty rests on the student's own timestamp.txt (no "
                "receipt from the course's collect); collect with --exchange to time it from "
                "the course's side"
            )
    return lines


def _write_result(writer: GradebookWriter, run: GradingRun, result: JobResult) -> None:
    """One result into the gradebook, with the submission time and late penalty."""
    timestamp, _ = run.layout.submission_time(result.student_id, result.assignment)
    penalty = run.term.late_penalty(result.assignment, result.score, timestamp)
    try:
        _patiently(
            lambda: writer.write(
                result,
                run.templates[result.notebook],
                timestamp=timestamp,
                late_penalty=penalty or None,  # as nbgrader: None unless a penalty applies
                late_plugin=run.late_plugin,
            ),
            run,
        )
    except SQLAlchemyError as error:
        raise GradebookWriteError(
            f"writing {'/'.join(result.key)} to the gradebook {run.db_url} failed: {error}. "
            "The result is safe in the journal; run the grader again to replay it"
        ) from error


def _write_autograded(
    run: GradingRun, job: GradingJob, result: JobResult, problems: list[str]
) -> None:
    """The graded notebook for formgrader and ``nbgrader generate_feedback`` (scored only)."""
    if result.status not in FINAL_STATUSES:
        return
    try:
        write_autograded(run.layout, job, result, run.templates[job.notebook])
    except OSError as error:
        problems.append(f"{'/'.join(job.key)}: the autograded notebook was not written: {error}")


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
    stale lock behind. While it runs, the file names the run (``<pid>:<start time>``,
    which no later process can share) and so does ``$AUTOGRADER_RUN``, which every
    process the run starts inherits; a run that ends empties the file. A run that finds
    a name there follows one that was killed: it ends the processes carrying that name
    (should any have outlived their parent-death signal) and says so in one line.
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
        _end_stale_run(os.pread(handle, 100, 0).decode("ascii", "replace").strip())
        name = f"{os.getpid()}:{start_time(os.getpid())}"
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{name}\n".encode(), 0)
        saved = os.environ.get(RUN_ENV)
        os.environ[RUN_ENV] = name
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(RUN_ENV, None)
            else:
                os.environ[RUN_ENV] = saved
            os.ftruncate(handle, 0)  # ended, not killed: nothing for the next run to end
    finally:
        os.close(handle)  # closing releases the lock


def _end_stale_run(name: str) -> None:
    """SIGKILL what the killed run ``name`` (``<pid>:<start time>``) left; say so."""
    if not name:
        return
    entry = f"{RUN_ENV}={name}"
    ended = sweep(lambda proc: proc.pid != os.getpid() and environ_has(proc.pid, entry))
    log.warning(
        "the previous run (pid %s) did not finish; ended %d process(es) it left, resuming "
        "from the journal",
        name.partition(":")[0],
        len(ended),
    )
