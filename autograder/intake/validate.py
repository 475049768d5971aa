"""Read and validate a submitted notebook against the instructor's template.

Reading is a pipeline of small steps over an immutable :class:`ReadState`, in the order
of :data:`READ_STEPS`. Each step records :class:`Note` values and may set the status or
finish the read early; none raises for anything a student can put in the file. The
result is a :class:`ReadOutcome` holding only the answer sources, keyed by grade id;
everything else in the submission is merely described in notes, never trusted.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nbformat

from autograder.intake.recover import lenient_loads, salvage_cells
from autograder.intake.status import (
    IntakeStatus,
    Note,
    NoteKind,
    ReadOutcome,
    SubmittedCell,
)
from autograder.intake.template import NotebookTemplate, flag

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_FILES = 1000


@dataclass(frozen=True)
class IntakeConfig:
    """Limits for reading submissions: the one home of the trusted side's intake caps."""

    #: Files larger than this are not read at all (status ``too_large``).
    max_bytes: int = DEFAULT_MAX_BYTES
    #: A submission folder with more entries than this is not looked into at all.
    max_files: int = DEFAULT_MAX_FILES


@dataclass(frozen=True)
class ReadState:
    """Everything the read steps have learnt so far; each step returns a new one."""

    template: NotebookTemplate
    config: IntakeConfig
    path: Path | None = None
    raw: bytes | None = None
    text: str | None = None
    #: The parsed JSON document, once it parsed (strictly or leniently).
    document: Any = None
    cells: tuple[SubmittedCell, ...] | None = None
    status: IntakeStatus = IntakeStatus.OK
    message: str = "read without problems"
    notes: tuple[Note, ...] = ()
    recovered_ids: tuple[str, ...] = ()
    lost_ids: tuple[str, ...] = ()
    answers: Mapping[str, str] | None = None
    finished: bool = False

    def noted(self, *notes: Note, **changes: Any) -> ReadState:
        """A copy with ``notes`` appended and ``changes`` applied."""
        return replace(self, notes=self.notes + notes, **changes)

    def stop(self, status: IntakeStatus, message: str) -> ReadState:
        """A copy that ends the read: no answer will be taken from the file."""
        return replace(self, status=status, message=message, finished=True, answers={})


ReadStep = Callable[[ReadState], ReadState]


def check_size(state: ReadState) -> ReadState:
    """Refuse special files and oversized files before reading a byte of them."""
    if state.path is None:
        return state
    try:
        info = os.lstat(state.path)
    except OSError as error:
        return state.stop(IntakeStatus.UNREADABLE, f"cannot open the file: {error.strerror}")
    if info.st_size > state.config.max_bytes:
        return state.stop(IntakeStatus.TOO_LARGE, _too_large(info.st_size, state.config))
    problem = _not_plain(state.path, info)
    if problem is not None:
        note = Note(NoteKind.NOT_REGULAR_FILE, f"the submission {problem}; it was not read")
        return state.noted(note).stop(IntakeStatus.UNREADABLE, note.message)
    return state


def _not_plain(path: str | os.PathLike[str], info: os.stat_result) -> str | None:
    """Why a file is not a plain file of its own (None when it is one), from ``lstat``.

    A symlink could point at the grader's own files, a FIFO or device would block or
    never end the read, a hard link shares its bytes with a file elsewhere, and a sparse
    file claims gigabytes it does not hold: none is anything an honest student submits.
    """
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a FIFO, device or socket)"
    if info.st_nlink > 1:
        return "is a hard link to another file"
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return f"cannot be opened ({error.strerror})"
    try:
        hole = os.lseek(descriptor, 0, os.SEEK_HOLE)  # the file's size where it has none
    except OSError:
        hole = info.st_size  # a filesystem that cannot say has no holes to show
    finally:
        os.close(descriptor)
    return "is a sparse file (it has holes)" if hole < info.st_size else None


def read_bytes(state: ReadState) -> ReadState:
    """Read at most one byte past the cap, in case the file grew since it was measured."""
    if state.raw is None and state.path is not None:
        try:
            with open(state.path, "rb") as handle:
                state = replace(state, raw=handle.read(state.config.max_bytes + 1))
        except OSError as error:
            return state.stop(IntakeStatus.UNREADABLE, f"cannot read the file: {error.strerror}")
    raw = state.raw or b""
    if len(raw) > state.config.max_bytes:
        return state.stop(IntakeStatus.TOO_LARGE, _too_large(len(raw), state.config))
    if not raw.strip():
        return state.stop(IntakeStatus.UNREADABLE, "the file is empty")
    return state


def decode_text(state: ReadState) -> ReadState:
    """Decode UTF-8 (a BOM is tolerated); undecodable bytes become U+FFFD and a note."""
    raw = state.raw or b""
    try:
        return replace(state, text=raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        note = Note(NoteKind.NOT_UTF8, f"the file is not valid UTF-8 (byte {error.start})")
        return state.noted(note, text=raw.decode("utf-8-sig", errors="replace"))


def parse_json(state: ReadState) -> ReadState:
    """The strict parse; a failure is only noted, recovery comes next."""
    try:
        return replace(state, document=json.loads(state.text or ""))
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}: {error.msg}"
        return state.noted(Note(NoteKind.JSON_INVALID, f"the JSON does not parse ({where})"))
    except (ValueError, RecursionError):
        return state.noted(Note(NoteKind.JSON_INVALID, "the JSON does not parse (nested too deep)"))


def repair_json(state: ReadState) -> ReadState:
    """After a failed parse, try again without trailing commas."""
    if state.document is not None:
        return state
    document = lenient_loads(state.text or "")
    if document is None:
        return state
    note = Note(NoteKind.JSON_REPAIRED, "the JSON parsed once trailing commas were dropped")
    return state.noted(note, document=document, status=IntakeStatus.RECOVERED, message=note.message)


def extract_cells(state: ReadState) -> ReadState:
    """Keep only the well-typed parts of each parsed cell."""
    document = state.document
    if document is None:
        return state
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        # parsed JSON that is not a notebook may still hold cell objects: salvage them
        note = Note(NoteKind.NOT_A_NOTEBOOK, "the file is JSON but has no list of cells")
        return state.noted(note, document=None)
    found = tuple(SubmittedCell.from_json(index, cell) for index, cell in enumerate(cells))
    return replace(state, cells=found)


def check_schema(state: ReadState) -> ReadState:
    """Run nbformat's validator for the record; an invalid notebook is still usable."""
    if state.cells is None:
        return state
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about ids it would repair
            nbformat.validate(nbformat.from_dict(state.document))
    except nbformat.ValidationError as error:
        first_line = str(error).strip().splitlines()[0][:200]
        return state.noted(Note(NoteKind.SCHEMA_INVALID, f"not a valid notebook: {first_line}"))
    except Exception as error:  # a third-party validator on hostile input: diagnostic only
        return state.noted(Note(NoteKind.SCHEMA_INVALID, f"nbformat could not check it: {error}"))
    return state


def salvage(state: ReadState) -> ReadState:
    """When nothing parsed, scan the raw text for cells; see :mod:`recover`."""
    if state.cells is not None:
        return state
    found = salvage_cells(state.text or "", state.template.answer_ids)
    if not found.cells:
        return state.stop(
            IntakeStatus.UNREADABLE,
            "the file is not a readable notebook: its JSON does not parse and no cell "
            "could be salvaged from it",
        )
    template_order = [cell.grade_id for cell in state.template.answer_cells if cell.grade_id]
    recovered = {cell.grade_id for cell in found.cells if cell.source is not None}
    recovered_ids = tuple(grade_id for grade_id in template_order if grade_id in recovered)
    lost_ids = tuple(grade_id for grade_id in template_order if grade_id not in recovered)
    notes = [_salvage_note(grade_id, found.cells) for grade_id in recovered_ids]
    notes += [_lost_note(grade_id, grade_id in found.damaged_ids) for grade_id in lost_ids]
    status = IntakeStatus.RECOVERED_PARTIAL if lost_ids else IntakeStatus.RECOVERED
    message = f"broken JSON: {len(recovered_ids)} answer(s) salvaged, {len(lost_ids)} lost"
    if found.exhausted:
        message += " (the scan gave up on a badly damaged file)"
    return state.noted(
        *notes,
        cells=found.cells,
        status=status,
        message=message,
        recovered_ids=recovered_ids,
        lost_ids=lost_ids,
    )


def check_nbgrader(state: ReadState) -> ReadState:
    """Compare the submission's cells with the template; every difference is a note."""
    cells = state.cells or ()
    metadata = state.document.get("metadata") if isinstance(state.document, dict) else None
    notes: list[Note] = []
    checks = CELL_CHECKS if state.document is not None else SALVAGED_CELL_CHECKS
    for check in checks:
        notes.extend(check(cells, state.template))
    notes.extend(_kernel_notes(metadata, state.template))
    return state.noted(*notes)


def select_answers(state: ReadState) -> ReadState:
    """Take each answer's source from its first copy that has usable source."""
    answers: dict[str, str] = {}
    for cell in state.cells or ():
        if cell.grade_id in state.template.answer_ids and cell.source is not None:
            answers.setdefault(cell.grade_id, cell.source)
    return replace(state, answers=answers)


#: The read pipeline. Order matters: the size check precedes any read so a huge file is
#: never parsed; recovery (repair, then salvage) only acts when the steps before it
#: left no cells; the nbgrader checks and the answer selection need the cells.
READ_STEPS: tuple[ReadStep, ...] = (
    check_size,
    read_bytes,
    decode_text,
    parse_json,
    repair_json,
    extract_cells,
    check_schema,
    salvage,
    check_nbgrader,
    select_answers,
)


def read_submission(
    path: str | os.PathLike[str], template: NotebookTemplate, config: IntakeConfig | None = None
) -> ReadOutcome:
    """Read and validate a submitted notebook file; never raises for its content."""
    state = ReadState(template=template, config=config or IntakeConfig(), path=Path(path))
    return _run(state)


def read_submission_bytes(
    data: bytes, template: NotebookTemplate, config: IntakeConfig | None = None
) -> ReadOutcome:
    """Like :func:`read_submission` for content already in memory."""
    return _run(ReadState(template=template, config=config or IntakeConfig(), raw=data))


def _run(state: ReadState) -> ReadOutcome:
    """Apply :data:`READ_STEPS` until one finishes the read."""
    for step in READ_STEPS:
        if state.finished:
            break
        state = step(state)
    return ReadOutcome(
        status=state.status,
        message=state.message,
        notes=state.notes,
        answers=dict(state.answers or {}),
        recovered_ids=state.recovered_ids,
        lost_ids=state.lost_ids,
    )


def _too_large(size: int, config: IntakeConfig) -> str:
    """The message for a file over the cap."""
    return f"the file is {size} bytes, over the {config.max_bytes}-byte limit; it was not read"


def _salvage_note(grade_id: str, cells: Sequence[SubmittedCell]) -> Note:
    """Say how an answer came back from broken JSON."""
    first = next(cell for cell in cells if cell.grade_id == grade_id and cell.source is not None)
    how = "its intact cell" if first.metadata_known else "its source field (the cell is damaged)"
    return Note(NoteKind.SALVAGED, f"answer recovered from {how}", grade_id)


def _lost_note(grade_id: str, damaged: bool) -> Note:
    """Say why an answer could not be recovered; it will be blank."""
    why = "its source is cut off or malformed" if damaged else "it is not in the readable part"
    return Note(NoteKind.LOST, f"answer lost: {why}; the blank is used", grade_id)


# --- checks of the cells against the template -------------------------------------------
CellCheck = Callable[[Sequence[SubmittedCell], NotebookTemplate], list[Note]]


def _first_copies(cells: Sequence[SubmittedCell]) -> dict[str, SubmittedCell]:
    """The first cell carrying each grade id: the copy every check judges."""
    first: dict[str, SubmittedCell] = {}
    for cell in cells:
        if cell.grade_id is not None:
            first.setdefault(cell.grade_id, cell)
    return first


def note_extra_cells(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """Cells the student added (or plain cells they edited) and unknown grade ids are dropped.

    A cell without a grade id that matches one of the template's plain cells, or is empty,
    loses nothing when dropped, so it is not reported.
    """
    notes = []
    plain = {_normalized(cell.release_source) for cell in template.cells if cell.grade_id is None}
    dropped = [
        cell
        for cell in cells
        if cell.grade_id is None
        and cell.source is not None
        and cell.source.strip()
        and _normalized(cell.source) not in plain
    ]
    if dropped:
        message = f"{len(dropped)} cell(s) added or edited outside the graded cells were ignored"
        notes.append(Note(NoteKind.EXTRA_CELLS, message))
    known = {cell.grade_id for cell in template.cells if cell.grade_id}
    for grade_id in dict.fromkeys(c.grade_id for c in cells if c.grade_id not in known):
        if grade_id is not None:
            notes.append(Note(NoteKind.UNKNOWN_ID, "not in the assignment; ignored", grade_id))
    return notes


def note_duplicates(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """A grade id used twice: for answers the first usable copy wins, the rest is ignored."""
    copies: dict[str, list[SubmittedCell]] = {}
    for cell in cells:
        if cell.grade_id is not None and template.cell_for(cell.grade_id) is not None:
            copies.setdefault(cell.grade_id, []).append(cell)
    notes = []
    for grade_id, same_id in copies.items():
        if len(same_id) < 2:
            continue
        differ = len({cell.source for cell in same_id}) > 1
        detail = "with different sources" if differ else "identical"
        if grade_id in template.answer_ids:
            kept = next((cell for cell in same_id if cell.source is not None), same_id[0])
            action = f"the copy at cell {kept.position} is used"
        else:
            action = "the template's cell is used"
        message = f"appears {len(same_id)} times ({detail}); {action}"
        notes.append(Note(NoteKind.DUPLICATE_ID, message, grade_id))
    return notes


def note_missing(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """Template cells absent from the submission are put back from the template."""
    present = {cell.grade_id for cell in cells}
    notes = []
    for cell in template.cells:
        if cell.grade_id is None or cell.grade_id in present:
            continue
        if cell.role.is_answer:
            kind, message = NoteKind.MISSING_ANSWER, "answer cell missing; the blank is used"
        else:
            kind, message = NoteKind.MISSING_CELL, "cell missing; restored from the template"
        notes.append(Note(kind, message, cell.grade_id))
    return notes


def note_unusable_sources(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """An answer whose every copy has a non-text source gets the blank."""
    notes = []
    for grade_id in sorted(template.answer_ids):
        copies = [cell for cell in cells if cell.grade_id == grade_id]
        if copies and all(cell.source is None for cell in copies):
            message = "the answer's source is not text; the blank is used"
            notes.append(Note(NoteKind.UNUSABLE_SOURCE, message, grade_id))
    return notes


def note_type_changes(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """A changed cell type is ignored: the template's type is restored."""
    notes = []
    for grade_id, cell in _first_copies(cells).items():
        expected = template.cell_for(grade_id)
        if expected is None or cell.cell_type is None or cell.cell_type == expected.cell_type:
            continue
        message = (
            f"cell type changed from {expected.cell_type} to {cell.cell_type}; "
            f"restored as {expected.cell_type}"
        )
        notes.append(Note(NoteKind.TYPE_CHANGED, message, grade_id))
    return notes


def note_metadata_edits(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """Edited nbgrader flags or points are ignored: the template's metadata is restored."""
    notes = []
    for grade_id, cell in _first_copies(cells).items():
        expected = template.cell_for(grade_id)
        if expected is None or not cell.metadata_known:
            continue
        changes = _metadata_changes(cell.nbgrader, expected.nbgrader)
        if changes:
            message = f"nbgrader metadata edited ({', '.join(changes)}); ignored"
            notes.append(Note(NoteKind.METADATA_EDITED, message, grade_id))
    return notes


def note_source_edits(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """Edits to tests, read-only and task cells have no effect; they are recorded."""
    notes = []
    for grade_id, cell in _first_copies(cells).items():
        expected = template.cell_for(grade_id)
        if expected is None or expected.role.is_answer or cell.source is None:
            continue
        if _normalized(cell.source) != _normalized(expected.release_source):
            message = f"{expected.role.value} cell edited; the template's source is used"
            notes.append(Note(NoteKind.SOURCE_EDITED, message, grade_id))
    return notes


def note_reordering(cells: Sequence[SubmittedCell], template: NotebookTemplate) -> list[Note]:
    """Moved cells have no effect: the template's order is restored."""
    order = [cell.grade_id for cell in template.cells if cell.grade_id]
    rank = {grade_id: index for index, grade_id in enumerate(order)}
    seen = [rank[grade_id] for grade_id in _first_copies(cells) if grade_id in rank]
    if seen == sorted(seen):
        return []
    return [Note(NoteKind.REORDERED, "cells were moved; the template's order is restored")]


#: The cell checks, in the order their notes are reported: what was dropped first, then
#: what was repaired.
CELL_CHECKS: tuple[CellCheck, ...] = (
    note_extra_cells,
    note_duplicates,
    note_missing,
    note_unusable_sources,
    note_type_changes,
    note_metadata_edits,
    note_source_edits,
    note_reordering,
)
#: After salvage the readable cells are a fragment: the salvage notes already say which
#: answers were lost, so absent or unusable cells are not reported again.
SALVAGED_CELL_CHECKS: tuple[CellCheck, ...] = tuple(
    check for check in CELL_CHECKS if check not in (note_missing, note_unusable_sources)
)


def _kernel_notes(metadata: object, template: NotebookTemplate) -> list[Note]:
    """A swapped kernel has no effect: the template's kernelspec is restored."""
    kernelspec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    if not isinstance(kernelspec, dict):
        return []
    submitted = kernelspec.get("name")
    if submitted == template.kernelspec.get("name"):
        return []
    message = f"kernel changed to {submitted!r}; {template.kernelspec.get('name')!r} is used"
    return [Note(NoteKind.KERNEL_CHANGED, message)]


def _metadata_changes(
    submitted: Mapping[str, Any] | None, expected: Mapping[str, Any]
) -> list[str]:
    """Which nbgrader flags and points differ, described ``name: template -> submission``."""
    changes = []
    for name in ("solution", "grade", "locked", "task"):
        if flag(submitted, name) != flag(expected, name):
            changes.append(f"{name}: {flag(expected, name)} -> {flag(submitted, name)}")
    submitted_points = (submitted or {}).get("points")
    if expected.get("points") != submitted_points and (
        "points" in expected or submitted_points is not None
    ):
        changes.append(f"points: {expected.get('points')} -> {submitted_points}")
    return changes


def _normalized(source: str) -> str:
    """Source compared without trailing whitespace, which editors add and strip freely."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())
