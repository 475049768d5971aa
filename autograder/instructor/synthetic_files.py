"""The partial solutions of the synthetic class: ``course/synthetic/<assignment>/*.toml``.

Each file describes realistic mistakes as edits of the reference solution::

    [[student]]
    id = "a1-backprop-no-bias-grad"        # lowercase letters, digits and '-'
    summary = "forgets the bias gradient of the fully connected layer"
    failing = ["fc_backward_test"]          # grade ids that earn 0; all others earn full points

    [[student.edit]]                        # one or more
    notebook = "backprop"                   # without .ipynb
    cell = "fc_backward"                    # grade id of the answer cell
    old = "db = dout.sum(axis=0)"           # exact text inside the cell's SOLUTION region, once
    new = "db = np.zeros(dout.shape[1])"

This module reads and type-checks the files; :mod:`.synthetic` checks the edits against
the notebooks. Every problem names the file, the student and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograder.course import CourseError, Table, read_toml

SYNTHETIC_DIR = Path("course") / "synthetic"
STUDENT_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in the solution region of one answer cell."""

    notebook: str
    cell: str
    old: str
    new: str
    where: str
    """``<file>: student[i] '<id>': edit[j]``, for error messages."""


@dataclass(frozen=True)
class PartialStudent:
    """A partial solution: the reference with some edits, failing some tests."""

    student_id: str
    summary: str
    failing: tuple[str, ...]
    edits: tuple[Edit, ...]
    where: str
    """``<file>: student[i] '<id>'``, for error messages."""


def read_partials(course_root: Path, assignment: str) -> list[PartialStudent]:
    """Every partial student of ``assignment``, file by file in name order.

    No folder means no partial students (the synthetic class is then the reference, the
    blank and the adversarial submissions).
    """
    folder = course_root / SYNTHETIC_DIR / assignment
    if not folder.is_dir():
        return []
    students: list[PartialStudent] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        for student in read_partial_file(path, f"synthetic/{assignment}/{path.name}"):
            if student.student_id in seen:
                raise CourseError(
                    f"{student.where}: the id is also used by {seen[student.student_id]}: give "
                    "every partial student its own id"
                )
            seen[student.student_id] = student.where
            students.append(student)
    return students


def read_partial_file(path: Path, file: str) -> list[PartialStudent]:
    """The students of one file; ``file`` is the name used in error messages."""
    top = Table(file, "", read_toml(path))
    top.only(["student"])
    return [_student(table) for table in top.tables("student")]


def _student(table: Table) -> PartialStudent:
    table.only(["id", "summary", "failing", "edit"])
    student_id = table.get("id", str, example='"a1-layer-off-by-one"')
    if not STUDENT_ID.fullmatch(student_id):
        raise table.error(
            f"id {student_id!r} must be lowercase letters, digits and '-' (starting with a "
            "letter or digit), e.g. 'a1-conv-off-by-one-pad'"
        )
    named = Table(table.file, f"{table.where} {student_id!r}", table.data)
    summary = named.get("summary", str, example='"<the mistake, in a few words>"')
    failing = named.get("failing", list, example='["<grade id of a test>"]')
    if not failing or not all(isinstance(item, str) and item for item in failing):
        raise named.error(
            "'failing' must list the grade ids (strings) of the tests this mistake fails, "
            'at least one, e.g. failing = ["fc_backward_test"]'
        )
    if "edit" not in named.data:
        raise named.error(
            "no [[student.edit]] table: add at least one edit (notebook, cell, old, new)"
        )
    edits = tuple(_edit(item) for item in named.tables("edit"))
    return PartialStudent(
        student_id, summary, tuple(failing), edits, f"{table.file}: {named.where}"
    )


def _edit(table: Table) -> Edit:
    table.only(["notebook", "cell", "old", "new"])
    notebook = table.get("notebook", str, example='"backprop"')
    cell = table.get("cell", str, example='"<grade id of the answer cell>"')
    old = table.get("old", str, example='"<exact text in the solution region>"')
    new = table.get("new", str, example='"<the mistaken text>"')
    if not old:
        raise table.error("'old' is empty: give the exact solution text to replace")
    if old == new:
        raise table.error("'old' and 'new' are the same: the edit would change nothing")
    return Edit(notebook, cell, old, new, f"{table.file}: {table.where}")
