"""The grades CSV, in exactly the format of ``nbgrader export`` (nbgrader 0.9.6).

``nbgrader export`` (its ``CsvExportPlugin``) writes one row per assignment and student,
for every student in the gradebook whether or not they submitted, with these columns::

    assignment, duedate, timestamp, student_id, last_name, first_name, email,
    raw_score, late_submission_penalty, score, max_score

Assignments come in the gradebook's order (due date, then name; no due date first, as
SQLite sorts NULL first) and, within one, students by last then first name. A value
that is ``None`` becomes an empty field, anything else ``str(value)``: datetimes as
``2024-03-01 17:00:00`` (naive UTC, as nbgrader stores them), scores as floats
(``7.0``). A student with no submission gets an empty timestamp and ``0.0`` for the
raw score, the penalty and the score. ``score`` is ``max(0.0, raw_score - penalty)``.

The rows come from :func:`rows_from_gradebook`, which reads the nbgrader gradebook the
driver wrote through nbgrader's own ``Gradebook`` API, so its CSV is byte for byte what
``nbgrader export`` writes (the tests check this against the real ``CsvExportPlugin``).

Two deliberate differences. After nbgrader's columns come two of ours (:data:`EXTRA_COLUMNS`):
``lms_user_id`` (from the roster, so grades go back to the LMS without a join) and
``points_to_grade_by_hand``, the points of written answers and tasks no person has scored
yet: ``score`` leaves them out while ``max_score`` counts them, so a perfect autograded
submission of 63 points out of 81 says that 18 await a person. Tools that read nbgrader's
file by column name read ours unchanged. And nbgrader joins fields with bare commas, so a
name containing a comma or a quote breaks its file; :func:`write_grades_csv` uses the
:mod:`csv` module, which quotes exactly those fields and leaves every other field as
nbgrader writes it.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autograder.files import atomic_write_text

#: nbgrader 0.9.6's export columns, in order. (The penalty column is named
#: ``late_submission_penalty`` in nbgrader's plugin.)
EXPORT_COLUMNS: tuple[str, ...] = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
)
#: Our columns after nbgrader's (see the module docstring).
EXTRA_COLUMNS: tuple[str, ...] = ("lms_user_id", "points_to_grade_by_hand")


@dataclass(frozen=True)
class StudentInfo:
    """What the gradebook knows about a student besides the id."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    lms_user_id: str | None = None


@dataclass(frozen=True)
class GradeRow:
    """One line of the export: one student's one assignment."""

    assignment: str
    duedate: datetime | None
    timestamp: datetime | None
    student_id: str
    last_name: str | None
    first_name: str | None
    email: str | None
    raw_score: float
    late_submission_penalty: float
    score: float
    max_score: float
    lms_user_id: str | None = None
    points_to_grade_by_hand: float = 0.0

    def fields(self) -> list[str]:
        """The row's CSV fields, formatted as nbgrader formats them."""
        return [
            "" if getattr(self, name) is None else str(getattr(self, name))
            for name in EXPORT_COLUMNS + EXTRA_COLUMNS
        ]


def write_grades_csv(rows: Iterable[GradeRow], path: str | os.PathLike[str]) -> Path:
    """Write the rows as ``nbgrader export`` would (see the module docstring), atomically."""
    buffer = io.StringIO()
    # nbgrader writes "\n" line ends and quotes nothing; QUOTE_MINIMAL only quotes fields
    # that would otherwise break the file.
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(EXPORT_COLUMNS + EXTRA_COLUMNS)
    writer.writerows(row.fields() for row in rows)
    return atomic_write_text(path, buffer.getvalue())


# --- from the gradebook -------------------------------------------------------------------
def rows_from_gradebook(
    db_url: str, assignment: str | None = None, course_id: str = "default_course"
) -> list[GradeRow]:
    """The export rows of an nbgrader gradebook (every assignment, or just ``assignment``).

    ``course_id`` must be the course's nbgrader ``CourseDirectory.course_id``: nbgrader's
    ``Gradebook`` adds a course row for any id it is opened with.
    """
    # Imported here: sqlalchemy and nbgrader's models take a while to load, and only this
    # function needs them.
    from nbgrader.api import Gradebook, MissingEntry

    _check_sqlite_exists(db_url)
    rows = []
    with Gradebook(db_url, course_id=course_id) as gradebook:
        assignments = gradebook.assignments
        if assignment is not None:
            assignments = [a for a in assignments if a.name == assignment]
            if not assignments:
                known = ", ".join(a.name for a in gradebook.assignments) or "none"
                raise ValueError(
                    f"assignment {assignment!r} is not in the gradebook (it has: {known}); "
                    "check the name or run the grader first"
                )
        students = gradebook.students
        for entry in assignments:
            for student in students:
                try:
                    submission = gradebook.find_submission(entry.name, student.id)
                except MissingEntry:
                    submission = None
                # No submission exports as zeros, as nbgrader does. Points are rounded to
                # hundredths, as people read them (sums of fractional points otherwise
                # print as ``12.600000000000001``).
                raw = 0.0 if submission is None else round(float(submission.score), 2)
                late = 0.0
                if submission is not None and submission.late_submission_penalty is not None:
                    late = round(float(submission.late_submission_penalty), 2)
                rows.append(
                    GradeRow(
                        assignment=entry.name,
                        duedate=entry.duedate,
                        timestamp=None if submission is None else submission.timestamp,
                        student_id=student.id,
                        last_name=student.last_name,
                        first_name=student.first_name,
                        email=student.email,
                        raw_score=raw,
                        late_submission_penalty=late,
                        score=round(max(0.0, raw - late), 2),
                        max_score=float(entry.max_score),
                        lms_user_id=student.lms_user_id,
                        points_to_grade_by_hand=round(_to_grade_by_hand(submission), 2),
                    )
                )
    return rows


def _check_sqlite_exists(db_url: str) -> None:
    """Opening a missing SQLite file would create an empty gradebook; refuse instead."""
    prefix = "sqlite:///"
    if db_url.startswith(prefix) and db_url != "sqlite:///:memory:":
        path = Path(db_url[len(prefix) :])
        if not path.is_file():
            raise FileNotFoundError(
                f"no gradebook at {path}: pass the URL of the course's gradebook.db "
                "(e.g. sqlite:////course/gradebook.db)"
            )


def _to_grade_by_hand(submission: object) -> float:
    """Points of the submission's cells that neither the autograder nor a person scored."""
    if submission is None:
        return 0.0
    return sum(
        grade.max_score
        for notebook in submission.notebooks  # type: ignore[attr-defined]
        for grade in notebook.grades
        if grade.auto_score is None and grade.manual_score is None
    )
