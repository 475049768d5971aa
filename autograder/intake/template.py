"""The instructor's version of a notebook, as an immutable model.

The template is the only trusted description of an assignment notebook: its cells in
order, which of them are answers, which are tests and what they are worth, and the
kernel to run it on. It is built from either the nbgrader *source* notebook (with
``BEGIN SOLUTION`` regions and hidden tests) or the generated *release*; for each answer
cell it keeps the blank the student was handed, so a source notebook's solution can
never leak into a restored submission.

A problem in the instructor's notebook (a duplicated or missing grade id, a grade cell
without points) is the instructor's bug and raises :class:`TemplateError` loudly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from os import PathLike
from typing import Any

import nbformat
from nbformat import NotebookNode

#: Stubs nbgrader puts in place of a solution, by kernel language.
CODE_STUBS: Mapping[str, str] = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
TEXT_STUB = "YOUR ANSWER HERE"

BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN_TESTS = "BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "END HIDDEN TESTS"

#: nbgrader's own grade id pattern (schema v3).
GRADE_ID_PATTERN = re.compile(r"[A-Za-z0-9_\-]+")

_FLAGS = ("solution", "grade", "locked", "task")


class TemplateError(ValueError):
    """The instructor's notebook cannot serve as a template."""


class TemplateKind(str, Enum):
    """Which instructor notebook a template was built from."""

    SOURCE = "source"
    RELEASE = "release"


class CellRole(str, Enum):
    """An nbgrader cell's kind, following nbgrader's ``is_*`` precedence."""

    PLAIN = "plain"
    READ_ONLY = "read_only"
    AUTOGRADED_ANSWER = "autograded_answer"
    MANUAL_ANSWER = "manual_answer"
    TESTS = "tests"
    TASK = "task"

    @property
    def is_answer(self) -> bool:
        """Whether the student writes this cell's source."""
        return self in (CellRole.AUTOGRADED_ANSWER, CellRole.MANUAL_ANSWER)

    @property
    def carries_points(self) -> bool:
        """Whether this cell's points count towards the notebook's maximum score."""
        return self in (CellRole.MANUAL_ANSWER, CellRole.TESTS, CellRole.TASK)


def flag(nbgrader: Mapping[str, Any] | None, name: str) -> bool:
    """An nbgrader boolean flag; anything but a literal ``True`` counts as unset."""
    return nbgrader is not None and nbgrader.get(name) is True


def cell_role(nbgrader: Mapping[str, Any] | None) -> CellRole:
    """Classify a cell from its nbgrader metadata.

    The precedence mirrors nbgrader's ``utils``: a solution cell is never locked, a grade
    cell that is not a solution is locked tests, and task cells stand apart.
    """
    if flag(nbgrader, "task"):
        return CellRole.TASK
    if flag(nbgrader, "solution"):
        return CellRole.MANUAL_ANSWER if flag(nbgrader, "grade") else CellRole.AUTOGRADED_ANSWER
    if flag(nbgrader, "grade"):
        return CellRole.TESTS
    if flag(nbgrader, "locked"):
        return CellRole.READ_ONLY
    return CellRole.PLAIN


@dataclass(frozen=True)
class TemplateCell:
    """One instructor cell; ``node()`` hands out fresh copies so the model stays intact."""

    index: int
    cell_type: str
    role: CellRole
    #: ``None`` for plain cells, which nbgrader does not track.
    grade_id: str | None
    points: float
    #: The instructor's source (may hold the solution and hidden tests).
    source: str
    #: What the student was given: the blank for answers, tests without hidden parts.
    release_source: str
    _cell_json: str = field(repr=False)

    @property
    def nbgrader(self) -> dict[str, Any]:
        """A copy of the cell's nbgrader metadata (empty for cells without any)."""
        return dict(json.loads(self._cell_json).get("metadata", {}).get("nbgrader", {}))

    def node(self) -> NotebookNode:
        """The cell as the instructor wrote it, with outputs and execution count cleared."""
        cell = nbformat.from_dict(json.loads(self._cell_json))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        return cell


@dataclass(frozen=True)
class NotebookTemplate:
    """The instructor's notebook: ordered cells, grading structure and kernel."""

    cells: tuple[TemplateCell, ...]
    kind: TemplateKind
    nbformat_minor: int
    _metadata_json: str = field(repr=False)

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the notebook-level metadata (kernelspec, language_info, ...)."""
        return json.loads(self._metadata_json)

    @property
    def kernelspec(self) -> dict[str, Any]:
        """A copy of the kernelspec the restored notebook runs on."""
        return self.metadata["kernelspec"]

    @property
    def answer_cells(self) -> tuple[TemplateCell, ...]:
        """The cells whose source the student writes, in notebook order."""
        return tuple(cell for cell in self.cells if cell.role.is_answer)

    @property
    def answer_ids(self) -> frozenset[str]:
        """The grade ids of the answer cells."""
        return frozenset(cell.grade_id for cell in self.answer_cells if cell.grade_id)

    @property
    def grade_cells(self) -> tuple[TemplateCell, ...]:
        """Cells nbgrader grades (autograder tests and manually graded answers)."""
        return tuple(
            cell for cell in self.cells if cell.role in (CellRole.TESTS, CellRole.MANUAL_ANSWER)
        )

    @property
    def points_by_id(self) -> dict[str, float]:
        """Points of every cell that carries some, by grade id."""
        return {
            cell.grade_id: cell.points
            for cell in self.cells
            if cell.role.carries_points and cell.grade_id
        }

    @property
    def max_score(self) -> float:
        """Sum of the points of grade cells and task cells."""
        return math.fsum(self.points_by_id.values())

    @property
    def autograded_points(self) -> dict[str, float]:
        """Points of the autograded test cells, by test id (grade id), in notebook order."""
        return {
            cell.grade_id: cell.points
            for cell in self.cells
            if cell.role is CellRole.TESTS and cell.grade_id
        }

    @property
    def manual_ids(self) -> list[str]:
        """Grade ids scored by a human (manually graded answers and tasks), in order."""
        roles = (CellRole.MANUAL_ANSWER, CellRole.TASK)
        return [cell.grade_id for cell in self.cells if cell.role in roles and cell.grade_id]

    def cell_for(self, grade_id: str) -> TemplateCell | None:
        """The template cell with this grade id, if any."""
        return next((cell for cell in self.cells if cell.grade_id == grade_id), None)


def load_template(path: str | PathLike[str], kind: TemplateKind | None = None) -> NotebookTemplate:
    """Read an instructor notebook from disk; see :func:`template_from_notebook`."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # any failure here is the instructor's file, so say which
        raise TemplateError(f"cannot read instructor notebook {path}: {error}") from error
    return template_from_notebook(notebook, kind)


def template_from_notebook(
    notebook: Mapping[str, Any], kind: TemplateKind | None = None
) -> NotebookTemplate:
    """Build the template from an instructor notebook (source or release).

    ``kind`` is detected when not given: nbgrader writes checksums into the release only.
    Raises :class:`TemplateError` naming the cell index and grade id of any problem.
    """
    metadata = notebook.get("metadata", {})
    kernelspec = metadata.get("kernelspec")
    if not isinstance(kernelspec, Mapping) or not kernelspec.get("name"):
        raise TemplateError("instructor notebook has no kernelspec name to run it on")
    cells = list(notebook.get("cells", []))
    found_kind = kind or _detect_kind(cells)
    language_info = metadata.get("language_info", {})
    language = str(kernelspec.get("language") or language_info.get("name") or "python")
    seen: dict[str, int] = {}
    template_cells = []
    for index, cell in enumerate(cells):
        template_cell = _template_cell(index, cell, found_kind, language)
        if template_cell.grade_id is not None:
            if template_cell.grade_id in seen:
                raise TemplateError(
                    f"cell {index} repeats grade_id {template_cell.grade_id!r} "
                    f"already used by cell {seen[template_cell.grade_id]}"
                )
            seen[template_cell.grade_id] = index
        template_cells.append(template_cell)
    return NotebookTemplate(
        cells=tuple(template_cells),
        kind=found_kind,
        nbformat_minor=int(notebook.get("nbformat_minor", 5)),
        _metadata_json=json.dumps(metadata, sort_keys=True),
    )


def _detect_kind(cells: list[Any]) -> TemplateKind:
    """A release notebook carries nbgrader checksums; a source notebook does not."""
    for cell in cells:
        if "checksum" in cell.get("metadata", {}).get("nbgrader", {}):
            return TemplateKind.RELEASE
    return TemplateKind.SOURCE


def _template_cell(index: int, cell: Any, kind: TemplateKind, language: str) -> TemplateCell:
    """Check one instructor cell's nbgrader metadata and model it."""
    nbgrader = cell.get("metadata", {}).get("nbgrader")
    cell_type = cell.get("cell_type")
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    role = cell_role(nbgrader)
    where = f"cell {index} ({cell_type})"
    grade_id = None
    points = 0.0
    if nbgrader is not None:
        for name in _FLAGS:
            if name in nbgrader and not isinstance(nbgrader[name], bool):
                raise TemplateError(f"{where}: nbgrader flag {name!r} is not a boolean")
        if any(flag(nbgrader, name) for name in _FLAGS):
            grade_id = _checked_grade_id(nbgrader.get("grade_id"), where)
            where = f"cell {index} ({cell_type}, grade_id {grade_id!r})"
        if role.carries_points:
            points = _checked_points(nbgrader.get("points"), where)
    _check_cell_type(role, cell_type, where)
    return TemplateCell(
        index=index,
        cell_type=cell_type,
        role=role,
        grade_id=grade_id,
        points=points,
        source=source,
        release_source=_release_source(source, role, cell_type, kind, language, where),
        _cell_json=json.dumps(cell, sort_keys=True),
    )


def _checked_grade_id(grade_id: object, where: str) -> str:
    """nbgrader needs a grade id on every tracked cell; the recovery scan needs its pattern."""
    if not isinstance(grade_id, str) or not grade_id:
        raise TemplateError(f"{where} is an nbgrader cell without a grade_id")
    if not GRADE_ID_PATTERN.fullmatch(grade_id):
        raise TemplateError(f"{where}: grade_id {grade_id!r} has characters nbgrader rejects")
    return grade_id


def _checked_points(points: object, where: str) -> float:
    """Grade and task cells must be worth a finite, non-negative number of points."""
    if isinstance(points, bool) or not isinstance(points, int | float):
        raise TemplateError(f"{where} carries points but its 'points' is {points!r}")
    if not math.isfinite(points) or points < 0:
        raise TemplateError(f"{where} has invalid points {points!r}")
    return float(points)


def _check_cell_type(role: CellRole, cell_type: object, where: str) -> None:
    """The cell-type rules nbgrader's metadata validator enforces."""
    if cell_type not in ("code", "markdown", "raw"):
        raise TemplateError(f"{where} has unknown cell_type {cell_type!r}")
    if role is CellRole.TASK and cell_type != "markdown":
        raise TemplateError(f"{where} is a task cell but not markdown")
    if cell_type == "markdown" and role in (CellRole.TESTS, CellRole.AUTOGRADED_ANSWER):
        raise TemplateError(f"{where} is markdown, so it must be both solution and grade")


def _release_source(
    source: str, role: CellRole, cell_type: str, kind: TemplateKind, language: str, where: str
) -> str:
    """What nbgrader's release would show the student for this cell."""
    if role.is_answer:
        stub = TEXT_STUB if cell_type == "markdown" else _code_stub(language, where)
        blank, had_region = _replace_regions(
            source, BEGIN_SOLUTION, END_SOLUTION, stub.split("\n"), where
        )
        # nbgrader blanks a whole source-notebook answer that has no solution region;
        # a release answer without one is already the blank.
        if not had_region and kind is TemplateKind.SOURCE:
            return stub
        return blank
    hidden_removed, _ = _replace_regions(source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, [], where)
    return hidden_removed


def _code_stub(language: str, where: str) -> str:
    """The code stub for the kernel language; an unknown language is the instructor's to fix."""
    try:
        return CODE_STUBS[language]
    except KeyError:
        raise TemplateError(f"{where}: no answer stub for kernel language {language!r}") from None


def _replace_regions(
    source: str, begin: str, end: str, replacement: list[str], where: str
) -> tuple[str, bool]:
    """Replace each ``begin``..``end`` line region with ``replacement`` at its indentation.

    Returns the new source and whether any region was found. Unbalanced markers are an
    instructor bug, so they raise.
    """
    kept: list[str] = []
    inside = False
    found = False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                raise TemplateError(f"{where}: nested {begin!r}")
            inside = found = True
            indent = line[: len(line) - len(line.lstrip())]
            kept.extend(indent + stub_line for stub_line in replacement)
        elif end in line:
            if not inside:
                raise TemplateError(f"{where}: {end!r} without {begin!r}")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise TemplateError(f"{where}: {begin!r} is never closed")
    return "\n".join(kept), found
