"""Typed records that flow between the intake stages and out of them.

Reading a submission never raises for anything the student did; instead every stage
records what it saw as :class:`Note` values and the whole read ends in one
:class:`IntakeStatus`. These records are frozen so a later stage cannot rewrite what an
earlier one observed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any


class IntakeStatus(str, Enum):
    """How well the submitted file could be read (not how good the answers are)."""

    #: The file parsed as JSON; nbformat or nbgrader problems, if any, are only notes.
    OK = "ok"
    #: The JSON was broken but every answer cell was salvaged.
    RECOVERED = "recovered"
    #: The JSON was broken and some answer cells were lost (they become blanks).
    RECOVERED_PARTIAL = "recovered_partial"
    #: The file exceeds the size cap; it was not read.
    TOO_LARGE = "too_large"
    #: Nothing usable could be read; every answer is blank.
    UNREADABLE = "unreadable"


class NoteKind(str, Enum):
    """What a :class:`Note` is about."""

    NOT_REGULAR_FILE = "not_regular_file"
    NOT_UTF8 = "not_utf8"
    JSON_INVALID = "json_invalid"
    JSON_REPAIRED = "json_repaired"
    NOT_A_NOTEBOOK = "not_a_notebook"
    SCHEMA_INVALID = "schema_invalid"
    SALVAGED = "salvaged"
    LOST = "lost"
    EXTRA_CELLS = "extra_cells"
    UNKNOWN_ID = "unknown_id"
    DUPLICATE_ID = "duplicate_id"
    MISSING_ANSWER = "missing_answer"
    MISSING_CELL = "missing_cell"
    UNUSABLE_SOURCE = "unusable_source"
    TYPE_CHANGED = "type_changed"
    METADATA_EDITED = "metadata_edited"
    SOURCE_EDITED = "source_edited"
    REORDERED = "reordered"
    KERNEL_CHANGED = "kernel_changed"
    RENAMED_FILE = "renamed_file"
    IGNORED_FILE = "ignored_file"
    MISSING_FILE = "missing_file"


@dataclass(frozen=True)
class Note:
    """One observation about a submission, for the instructor and the student's feedback."""

    kind: NoteKind
    message: str
    #: The nbgrader cell this is about; ``None`` for file- or notebook-level notes.
    grade_id: str | None = None


@dataclass(frozen=True)
class SubmittedCell:
    """The little the intake keeps of one submitted cell; everything else is distrusted.

    ``source`` is ``None`` when the submission's source is not text (or not a list of
    text). ``nbgrader`` is ``None`` when the cell has no nbgrader metadata, or when the
    cell was salvaged field by field and its metadata could not be read
    (``metadata_known`` is then ``False``).
    """

    position: int
    cell_type: str | None
    source: str | None
    grade_id: str | None
    nbgrader: Mapping[str, Any] | None
    metadata_known: bool = True

    @classmethod
    def from_json(cls, position: int, obj: object) -> SubmittedCell:
        """Read a cell from any JSON value, keeping only well-typed fields."""
        cell = obj if isinstance(obj, dict) else {}
        metadata = cell.get("metadata")
        meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        nbgrader = MappingProxyType(dict(meta)) if isinstance(meta, dict) else None
        grade_id = nbgrader.get("grade_id") if nbgrader is not None else None
        cell_type = cell.get("cell_type")
        return cls(
            position=position,
            cell_type=cell_type if isinstance(cell_type, str) else None,
            source=join_source(cell.get("source")),
            grade_id=grade_id if isinstance(grade_id, str) and grade_id else None,
            nbgrader=nbgrader,
        )


def join_source(value: object) -> str | None:
    """Return a notebook ``source`` field as one string, or ``None`` if it is not text.

    nbformat allows either a string or a list of strings (lines with their newlines).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return None


@dataclass(frozen=True)
class ReadOutcome:
    """What validation hands to restoration: the answers it trusts and what it noticed."""

    status: IntakeStatus
    message: str
    notes: tuple[Note, ...]
    #: Answer sources by grade id: only ids the template declares as answers.
    answers: Mapping[str, str]
    #: Answer ids salvaged from broken JSON (empty when the JSON parsed).
    recovered_ids: tuple[str, ...] = ()
    #: Answer ids that broken JSON made unrecoverable.
    lost_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntakeReport:
    """The intake's verdict on one submitted notebook."""

    status: IntakeStatus
    message: str
    max_score: float
    notes: tuple[Note, ...] = ()
    #: Answer ids whose source came from the submission.
    answered_ids: tuple[str, ...] = ()
    #: Answer ids filled with the release's blank (missing, lost or unreadable).
    blank_ids: tuple[str, ...] = ()
    recovered_ids: tuple[str, ...] = ()
    lost_ids: tuple[str, ...] = ()

    def kinds(self, grade_id: str | None = None) -> set[NoteKind]:
        """The kinds of note recorded for one grade id (``None``: notebook-level)."""
        return {note.kind for note in self.notes if note.grade_id == grade_id}


@dataclass(frozen=True)
class SubmissionFiles:
    """How the files in a submission directory map onto the expected notebook names."""

    #: Expected name -> file used for it (exact or renamed match).
    matched: Mapping[str, Path] = field(default_factory=dict)
    #: Expected names matched to a file with a different name (also in ``matched``).
    renamed: tuple[str, ...] = ()
    #: Expected names with no file.
    missing: tuple[str, ...] = ()
    #: Everything else in the directory, left alone.
    ignored: tuple[Path, ...] = ()
    notes: tuple[Note, ...] = ()


def notebook_missing(intake: Mapping[str, Any]) -> bool:
    """Whether a serialized intake report (``JobResult.intake``) says the notebook was not
    submitted at all: its rows then read "not submitted", not failed."""
    notes = intake.get("notes", ()) or ()
    return any(
        isinstance(note, Mapping) and note.get("kind") == NoteKind.MISSING_FILE.value
        for note in notes
    )
