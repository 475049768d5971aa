"""Write checked results into nbgrader's gradebook, as ``nbgrader autograde`` would.

Two steps, each one database transaction:

1. :meth:`GradebookWriter.ensure_assignment` makes sure the assignment, its notebooks and
   their grade, solution, task and source cells exist. Missing ones are created from the
   instructor's template with the rows ``nbgrader generate_assignment`` would create;
   ones nbgrader already created are used as they are, after checking that their grade
   and task cells (names and points) agree with the template.
2. :meth:`GradebookWriter.write` records one :class:`JobResult`: the student, the
   submission (mirroring every notebook of the assignment, like nbgrader's
   ``add_submission``), and the grade and comment fields as nbgrader's ``SaveAutoGrades``
   sets them: ``auto_score`` on each autograded test (from the verdicts; a test without
   a verdict scores 0); a manually graded answer left as released scores 0 without
   review, any other keeps ``auto_score=None`` and ``needs_manual_grade`` for a human;
   an answer left as released gets the auto comment "No response."; a missing notebook
   scores 0 everywhere. ``nbgrader export`` and formgrader work unchanged.

Writing is idempotent: the same result twice leaves identical rows. A score a human
entered (``manual_score``) is never touched; as in nbgrader, a changed autograde score
flags such a grade for review.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nbgrader import utils as nbutils
from nbgrader.api import (
    Assignment,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    Notebook,
    SolutionCell,
    SourceCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    TaskCell,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, scoped_session

from autograder.course import CourseError
from autograder.course_layout import DEFAULT_COURSE_ID
from autograder.faults import fault_point
from autograder.intake import CellRole, NotebookTemplate, TemplateCell
from autograder.job import JobResult, JobStatus
from autograder.result_check import check_result

#: Statuses whose scores go into the gradebook. An AWAITING_GPU result says nothing about
#: the student's work yet; an ERROR one clears the notebook's autograded scores instead (the
#: latest submission decides: an earlier score must not stand for work nobody graded).
SCORED_STATUSES = frozenset({JobStatus.GRADED, JobStatus.TIMEOUT})

#: The gradebook's thread-local session, as nbgrader creates it.
DbSession = scoped_session[Session]


class GradebookMismatch(CourseError):
    """The gradebook's copy of an assignment disagrees with the instructor's source."""


@dataclass(frozen=True)
class GradedCellRow:
    """A grade or task cell row: what it is worth and its cell type."""

    max_score: float
    cell_type: str


@dataclass(frozen=True)
class SourceCellRow:
    """A source cell row: the tracked cell as ``generate_assignment`` saves it."""

    cell_type: str
    locked: bool
    source: str
    checksum: str | None


@dataclass(frozen=True)
class NotebookRows:
    """The gradebook rows one notebook's template stands for."""

    grade_cells: dict[str, GradedCellRow]
    solution_cells: tuple[str, ...]
    task_cells: dict[str, GradedCellRow]
    source_cells: dict[str, SourceCellRow]
    kernelspec: str

    @classmethod
    def from_template(cls, template: NotebookTemplate) -> NotebookRows:
        grade, solution, task, source = {}, [], {}, {}
        for cell in template.cells:
            if cell.grade_id is None:
                continue  # plain cells are not tracked by nbgrader
            if cell.role in (CellRole.TESTS, CellRole.MANUAL_ANSWER):
                grade[cell.grade_id] = GradedCellRow(cell.points, cell.cell_type)
            if cell.role.is_answer:
                solution.append(cell.grade_id)
            if cell.role is CellRole.TASK:
                task[cell.grade_id] = GradedCellRow(cell.points, cell.cell_type)
            source[cell.grade_id] = _source_row(cell)
        return cls(grade, tuple(solution), task, source, json.dumps(template.kernelspec))


def _source_row(cell: TemplateCell) -> SourceCellRow:
    """The source cell as nbgrader saves it: solutions cleared, hidden tests still in.

    ``generate_assignment`` saves cells after ClearSolutions and before ClearHiddenTests,
    and computes the checksum of that same source.
    """
    node = cell.node()
    node.source = cell.release_source if cell.role.is_answer else cell.source
    tracked = nbutils.is_grade(node) or nbutils.is_solution(node) or nbutils.is_locked(node)
    return SourceCellRow(
        cell_type=cell.cell_type,
        locked=bool(nbutils.is_locked(node)),
        source=node.source,
        checksum=nbutils.compute_checksum(node) if tracked else None,
    )


@contextmanager
def _alembic_on_path() -> Iterator[None]:
    """Let nbgrader find the ``alembic`` command it runs when it creates a new gradebook.

    nbgrader looks it up on PATH, which lacks the virtual environment's ``bin`` when the
    grader is started as ``.venv/bin/python`` without activating the environment.
    """
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("alembic") is not None or not (Path(bin_dir) / "alembic").exists():
        yield
        return
    saved = os.environ.get("PATH")
    os.environ["PATH"] = os.pathsep.join(filter(None, [bin_dir, saved]))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


class GradebookWriter:
    """The driver's handle on the gradebook; use as a context manager."""

    def __init__(self, db_url: str, course_id: str = DEFAULT_COURSE_ID) -> None:
        try:
            with _alembic_on_path():
                self._gradebook = Gradebook(db_url, course_id=course_id)
        except (SQLAlchemyError, ValueError, OSError) as error:
            raise CourseError(
                f"cannot open the gradebook at {db_url!r}: {error}; pass a working "
                "SQLAlchemy URL with --db URL (default: sqlite:///<course>/gradebook.db)"
            ) from error
        self.course_id = course_id
        self._checked: set[tuple[str, str]] = set()
        self._commits = 0
        """Transactions ended so far (a fault point's key)."""

    def __enter__(self) -> GradebookWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._gradebook.close()

    @contextmanager
    def _transaction(self) -> Iterator[DbSession]:
        """Commit everything done inside at once, or nothing if anything fails."""
        session = self._gradebook.db
        try:
            yield session
            self._commits += 1
            fault_point("commit", self._commits)
            session.commit()
        except BaseException:
            session.rollback()
            raise

    # --- assignment structure -------------------------------------------------------
    def ensure_assignment(
        self,
        assignment: str,
        templates: Mapping[str, NotebookTemplate],
        *,
        duedate: datetime | None = None,
    ) -> None:
        """Create whatever rows of the assignment are missing; check the ones present.

        ``duedate`` (naive UTC), when given, becomes the assignment's due date, as
        ``nbgrader db assignment add --duedate`` would set it.
        """
        with self._transaction() as session:
            row = _find_assignment(session, assignment)
            if row is None:
                row = Assignment(name=assignment, course_id=self.course_id)
                session.add(row)
            if duedate is not None and row.duedate != duedate:
                row.duedate = duedate
            for name, template in sorted(templates.items()):
                rows = NotebookRows.from_template(template)
                notebook = _find_notebook(session, assignment, name)
                if notebook is None:
                    _add_notebook(session, row, name, rows)
                else:
                    _check_notebook(assignment, notebook, rows)
                self._checked.add((assignment, name))

    # --- students -------------------------------------------------------------------
    def set_students(self, students: Mapping[str, Any]) -> None:
        """Create or update students from a roster, in one transaction.

        ``students`` maps a student id to a :class:`autograder.reports.export.StudentInfo`;
        a field it leaves None keeps what the gradebook holds.
        """
        names = ("first_name", "last_name", "email", "lms_user_id")
        with self._transaction() as session:
            for student_id, info in students.items():
                row = session.get(Student, student_id)
                if row is None:
                    row = Student(id=student_id)
                    session.add(row)
                for name in names:
                    value = getattr(info, name)
                    if value is not None and getattr(row, name) != value:
                        setattr(row, name, value)

    # --- submissions ----------------------------------------------------------------
    def has_submission(self, assignment: str, student_id: str) -> bool:
        """Whether the gradebook holds a submission of ``assignment`` by the student."""
        return _find_submission(self._gradebook.db, assignment, student_id) is not None

    def write(
        self,
        result: JobResult,
        template: NotebookTemplate,
        *,
        timestamp: datetime | None = None,
        late_penalty: float | None = None,
        late_plugin: Any = None,
    ) -> bool:
        """Record one result in one transaction; returns whether anything was scored.

        ``late_penalty``: points the notebook loses for lateness
        (:class:`autograder.course.LatePolicy`; None when not late), stored where
        nbgrader's late-submission plugins store it, so ``nbgrader export`` and formgrader
        subtract it. ``late_plugin``: an nbgrader ``LateSubmissionPlugin`` instead, called
        as nbgrader's ``AssignLatePenalties`` calls it (the gradebook's due date, the
        notebook's total score).

        Raises :class:`~autograder.result_check.ResultRefused` for a result the template
        does not allow; nothing is written then.

        An ERROR result scores nothing and leaves no earlier score behind: a notebook
        already in the gradebook has its autograded scores cleared and flagged
        ``needs_manual_grade``, so formgrader shows it to the course team (the reason is
        in the journal and the term report).
        """
        if result.status is not JobStatus.ERROR and result.status not in SCORED_STATUSES:
            return False
        if result.status is not JobStatus.ERROR:
            result = check_result(result, template)
        if (result.assignment, result.notebook) not in self._checked:
            raise GradebookMismatch(
                f"{result.assignment}/{result.notebook} was not prepared in the gradebook: "
                "call ensure_assignment with its template before writing results"
            )
        scores = _auto_scores(result, template)
        missing = result.intake.get("status") == "missing"
        unchanged = set(result.unchanged_answers)
        if result.status is JobStatus.ERROR:
            if not self.has_submission(result.assignment, result.student_id):
                return False  # no earlier score to withdraw; the journal holds the reason
            # The latest submission decides: no earlier autograded score stands.
            scores = dict.fromkeys(template.autograded_points)
            missing = False
        errored = result.status is JobStatus.ERROR
        with self._transaction() as session:
            submission = self._submission(session, result.assignment, result.student_id)
            if timestamp is not None:
                submission.timestamp = timestamp
            for submitted in submission.notebooks:
                if submitted.notebook.name != result.notebook:
                    continue
                for grade in submitted.grades:
                    if missing or grade.cell.name in scores:
                        _set_auto_score(grade, 0.0 if missing else scores[grade.cell.name])
                for comment in [] if missing or errored else submitted.comments:
                    said = "No response." if comment.cell.name in unchanged else None
                    if comment.auto_comment != said and comment.cell.type != "TaskCell":
                        comment.auto_comment = said
                if late_plugin is not None and not errored:
                    session.flush()  # the notebook's score sums the grades just set
                    late_penalty = _plugin_penalty(late_plugin, submission, submitted)
                if submitted.late_submission_penalty != late_penalty:
                    submitted.late_submission_penalty = late_penalty
        return result.status is not JobStatus.ERROR

    def _submission(self, session: DbSession, assignment: str, student_id: str) -> Any:
        """The student's submission with a notebook, grade and comment for every cell."""
        student = session.get(Student, student_id)
        if student is None:
            student = Student(id=student_id)
            session.add(student)
        submission = _find_submission(session, assignment, student_id)
        if submission is None:
            submission = SubmittedAssignment(
                assignment=_find_assignment(session, assignment), student=student
            )
            session.add(submission)
        present = {submitted.notebook.name: submitted for submitted in submission.notebooks}
        for notebook in submission.assignment.notebooks:
            submitted = present.get(notebook.name)
            if submitted is None:
                submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
                session.add(submitted)
            _mirror_cells(session, notebook, submitted)
        session.flush()
        return submission


def _auto_scores(result: JobResult, template: NotebookTemplate) -> dict[str, float | None]:
    """The ``auto_score`` of each grade cell the autograder sets, by grade id.

    Tests score their verdict's points; a manually graded answer scores 0 when left as
    released and None (a human's) otherwise, as ``nbgrader.utils.determine_grade``.
    """
    points = {verdict.test_id: verdict.points for verdict in result.verdicts}
    scores: dict[str, float | None] = {
        test_id: points.get(test_id, 0.0) for test_id in template.autograded_points
    }
    for cell in template.cells:
        if cell.role is CellRole.MANUAL_ANSWER and cell.grade_id:
            scores[cell.grade_id] = 0.0 if cell.grade_id in result.unchanged_answers else None
    return scores


def _plugin_penalty(plugin: Any, submission: Any, submitted: Any) -> float | None:
    """nbgrader's ``AssignLatePenalties``: ask the plugin when late, keep it in 0..score."""
    seconds = submission.total_seconds_late
    if not seconds or seconds <= 0:
        return None
    score = submitted.score
    penalty = plugin.late_submission_penalty(submission.student_id, score, seconds)
    return None if penalty is None else float(min(max(penalty, 0.0), score))


def _set_auto_score(grade: Any, score: float | None) -> None:
    """Set an autograded score the way nbgrader's SaveAutoGrades does, idempotently.

    A score that did not change leaves the row alone, so replaying the journal never
    undoes a grader's review; a changed one needs review if a human scored it or when
    no automatic score exists (a written answer, or a job that ended in ERROR, whose
    None clears the score).
    """
    if grade.auto_score == score and (score is not None or grade.needs_manual_grade):
        return
    grade.auto_score = score
    grade.needs_manual_grade = grade.manual_score is not None or score is None


def _mirror_cells(session: DbSession, notebook: Any, submitted: Any) -> None:
    """Give a submitted notebook the grades and comments nbgrader's add_submission would."""
    graded = {grade.cell_id for grade in submitted.grades}
    commented = {comment.cell_id for comment in submitted.comments}
    for cell in [*notebook.grade_cells, *notebook.task_cells]:
        if cell.id not in graded:
            # New grades wait for a score: nbgrader's default, kept for manual cells.
            session.add(Grade(cell=cell, notebook=submitted, needs_manual_grade=True))
    for cell in [*notebook.solution_cells, *notebook.task_cells]:
        if cell.id not in commented:
            session.add(Comment(cell=cell, notebook=submitted))


def _find_assignment(session: DbSession, name: str) -> Any:
    return session.query(Assignment).filter(Assignment.name == name).one_or_none()


def _find_notebook(session: DbSession, assignment: str, name: str) -> Any:
    return (
        session.query(Notebook)
        .join(Assignment, Assignment.id == Notebook.assignment_id)
        .filter(Assignment.name == assignment, Notebook.name == name)
        .one_or_none()
    )


def _find_submission(session: DbSession, assignment: str, student_id: str) -> Any:
    return (
        session.query(SubmittedAssignment)
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
        .filter(Assignment.name == assignment, SubmittedAssignment.student_id == student_id)
        .one_or_none()
    )


def _add_notebook(session: DbSession, assignment: Any, name: str, rows: NotebookRows) -> None:
    """A new notebook with the cell rows nbgrader's SaveCells would create.

    Every row is added to the session explicitly: SQLAlchemy 2 no longer cascades an
    object into the session through a back-reference.
    """
    notebook = Notebook(name=name, assignment=assignment, kernelspec=rows.kernelspec)

    def scored(kind: Any, cells: dict[str, GradedCellRow]) -> list[Any]:
        return [
            kind(name=n, notebook=notebook, max_score=c.max_score, cell_type=c.cell_type)
            for n, c in cells.items()
        ]

    created: list[Any] = [
        notebook,
        *scored(GradeCell, rows.grade_cells),
        *(SolutionCell(name=cell_name, notebook=notebook) for cell_name in rows.solution_cells),
        *scored(TaskCell, rows.task_cells),
    ]
    created += [
        SourceCell(name=cell_name, notebook=notebook, **asdict(source))
        for cell_name, source in rows.source_cells.items()
    ]
    session.add_all(created)
    # Existing submissions get the new notebook when their student is next written.


def _check_notebook(assignment: str, notebook: Any, rows: NotebookRows) -> None:
    """An existing notebook must grade the same cells for the same points."""
    problems = []
    for kind, expected, present in (
        ("grade", rows.grade_cells, notebook.grade_cells),
        ("task", rows.task_cells, notebook.task_cells),
    ):
        found = {cell.name: cell.max_score for cell in present}
        wanted = {name: row.max_score for name, row in expected.items()}
        for name in sorted(wanted.keys() - found.keys()):
            problems.append(f"{kind} cell {name!r} is missing")
        for name in sorted(found.keys() - wanted.keys()):
            problems.append(f"{kind} cell {name!r} is not in the source")
        for name in sorted(wanted.keys() & found.keys()):
            if abs(wanted[name] - found[name]) > 1e-9:
                problems.append(
                    f"{kind} cell {name!r} is worth {found[name]} points, source says "
                    f"{wanted[name]}"
                )
    if problems:
        raise GradebookMismatch(
            f"the gradebook's {assignment}/{notebook.name} does not match the source notebook: "
            + "; ".join(problems)
            + f". Regenerate it with `nbgrader generate_assignment {assignment} --force` "
            "(or remove the assignment from the gradebook), or restore the source notebook"
        )
