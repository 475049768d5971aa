"""The synthetic class: submissions whose scores are known before grading.

For one assignment, from its source notebooks (``solutions/<a>/``) and its release
(``assignments/<a>/``):

- ``reference``: the release with every answer cell holding the solution (the source
  cell with its ``BEGIN/END SOLUTION`` marker lines removed): every autograded point;
- ``blank``: the release as is: zero;
- each partial student of ``course/synthetic/<a>/*.toml`` (:mod:`.synthetic_files`): the
  reference with the student's edits applied: every point but those of its ``failing``
  tests;
- the adversarial students (:mod:`.adversarial`): the blank with an attack on the grader
  at the top of the first code answer cell: zero, like the blank.

Only autograded points are predicted; written answers wait for a human.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.course import Assignment, CourseError
from autograder.files import NOTEBOOK_SUFFIX, atomic_write_text
from autograder.instructor.adversarial import Attack, attacks
from autograder.instructor.synthetic_files import Edit, PartialStudent, read_partials
from autograder.intake import NotebookTemplate, load_template
from autograder.intake.template import BEGIN_SOLUTION, END_SOLUTION

REFERENCE = "reference"
BLANK = "blank"
KINDS = ("reference", "blank", "partial", "adversarial")


@dataclass
class SyntheticStudent:
    """One student of the synthetic class, for one assignment."""

    student_id: str
    kind: str
    """One of :data:`KINDS`."""
    summary: str
    expected: float
    """The autograded score this submission must earn (summed over the notebooks)."""
    notebooks: dict[str, NotebookNode] = field(default_factory=dict)
    """Notebook name (without ``.ipynb``) → what the student hands in."""
    expected_by_notebook: dict[str, float] = field(default_factory=dict)
    """``expected`` per notebook, so a notebook left to a GPU runner can be set aside."""


@dataclass(frozen=True)
class _Region:
    """A run of answer-cell lines: inside a solution region or not."""

    text: str
    solution: bool


def build_class(
    assignment: Assignment,
    course_root: Path,
    *,
    secret_paths: Sequence[Path] = (),
) -> list[SyntheticStudent]:
    """The synthetic class of ``assignment``, from its source and its release folder.

    ``secret_paths``: files the snooping adversary tries to read (the graded sources, the
    gradebook). Raises :class:`CourseError` for a release that is missing or a
    partial student whose edits do not fit the notebooks.
    """
    templates = {
        nb.name: load_template(assignment.notebook_path(nb)) for nb in assignment.notebooks
    }
    releases = {name: _read_release(assignment, name) for name in templates}
    points = {gid: pts for t in templates.values() for gid, pts in t.autograded_points.items()}
    full = math.fsum(points.values())
    regions = {name: _answer_regions(template) for name, template in templates.items()}
    maxima = {name: math.fsum(t.autograded_points.values()) for name, t in templates.items()}
    zeros = dict.fromkeys(templates, 0.0)
    students = [
        SyntheticStudent(
            REFERENCE,
            "reference",
            "the reference solution",
            full,
            {name: _fill(releases[name], regions[name]) for name in templates},
            maxima,
        ),
        SyntheticStudent(BLANK, "blank", "the blank release", 0.0, dict(releases), zeros),
    ]
    for partial in read_partials(course_root, assignment.name):
        student = _partial(partial, releases, regions, points, full)
        student.expected_by_notebook = {
            name: maxima[name]
            - math.fsum(
                pts
                for gid, pts in templates[name].autograded_points.items()
                if gid in set(partial.failing)
            )
            for name in templates
        }
        students.append(student)
    for attack in attacks(secret_paths):
        notebooks = {name: _attacked(nb, attack) for name, nb in releases.items()}
        students.append(SyntheticStudent(attack.student_id, "adversarial", attack.summary, 0.0,
                                         notebooks, zeros))  # fmt: skip
    _check_unique(students)
    return students


def write_class(students: Sequence[SyntheticStudent], submitted: Path, assignment: str) -> None:
    """Write ``<submitted>/<student>/<assignment>/<notebook>.ipynb`` for every student."""
    for student in students:
        for name, notebook in student.notebooks.items():
            path = submitted / student.student_id / assignment / f"{name}{NOTEBOOK_SUFFIX}"
            atomic_write_text(path, nbformat.writes(notebook))


# --- building blocks ------------------------------------------------------------------------


def _read_release(assignment: Assignment, name: str) -> NotebookNode:
    path = assignment.release / f"{name}{NOTEBOOK_SUFFIX}"
    if not path.is_file():
        raise CourseError(
            f"{path} does not exist: release the assignment first "
            f"(`python -m autograder.instructor release {assignment.name}`)"
        )
    return nbformat.read(path, as_version=4)


def _answer_regions(template: NotebookTemplate) -> dict[str, list[_Region]]:
    """Each answer cell's source split into solution and non-solution runs of lines."""
    return {
        cell.grade_id: _split(cell.source)
        for cell in template.cells
        if cell.role.is_answer and cell.grade_id
    }


def _split(source: str) -> list[_Region]:
    """Runs of lines, the marker lines dropped; a cell without markers is all solution."""
    lines = source.split("\n")
    if not any(BEGIN_SOLUTION in line for line in lines):
        return [_Region(source, True)]
    runs: list[tuple[list[str], bool]] = [([], False)]
    for line in lines:
        if BEGIN_SOLUTION in line or END_SOLUTION in line:
            runs.append(([], BEGIN_SOLUTION in line))
        else:
            runs[-1][0].append(line)
    return [_Region("\n".join(run), solution) for run, solution in runs if run]


def _fill(release: NotebookNode, regions: dict[str, list[_Region]]) -> NotebookNode:
    """The release with every answer cell holding its reference text."""
    notebook = nbformat.from_dict(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in regions and cell.metadata.nbgrader.get("solution"):
            cell.source = "\n".join(region.text for region in regions[grade_id])
    return notebook


def _partial(
    partial: PartialStudent,
    releases: dict[str, NotebookNode],
    regions: dict[str, dict[str, list[_Region]]],
    points: dict[str, float],
    full: float,
) -> SyntheticStudent:
    """The reference with ``partial``'s edits applied, and its expected score."""
    unknown = [grade_id for grade_id in partial.failing if grade_id not in points]
    if unknown:
        raise CourseError(
            f"{partial.where}: 'failing' names {unknown}, which are not autograded tests of "
            f"this assignment (tests: {', '.join(sorted(points))}): fix the grade ids"
        )
    edited = {name: {gid: list(rs) for gid, rs in cells.items()} for name, cells in regions.items()}
    for edit in partial.edits:
        _apply(edit, edited)
    expected = full - math.fsum(points[grade_id] for grade_id in set(partial.failing))
    notebooks = {name: _fill(releases[name], edited[name]) for name in releases}
    return SyntheticStudent(partial.student_id, "partial", partial.summary, expected, notebooks)


def _apply(edit: Edit, notebooks: dict[str, dict[str, list[_Region]]]) -> None:
    """Replace the one occurrence of ``edit.old`` in the cell's solution regions."""
    if edit.notebook not in notebooks:
        raise CourseError(
            f"{edit.where}: notebook {edit.notebook!r} is not in this assignment (notebooks: "
            f"{', '.join(sorted(notebooks))}): fix 'notebook' (the name without .ipynb)"
        )
    cells = notebooks[edit.notebook]
    if edit.cell not in cells:
        raise CourseError(
            f"{edit.where}: {edit.notebook} has no answer cell {edit.cell!r} (answer cells: "
            f"{', '.join(sorted(cells))}): fix 'cell' (the grade id of an answer cell)"
        )
    regions = cells[edit.cell]
    found = sum(region.text.count(edit.old) for region in regions if region.solution)
    if found != 1:
        problem = "does not occur" if found == 0 else f"occurs {found} times"
        raise CourseError(
            f"{edit.where}: 'old' text {edit.old!r} {problem} in the solution region of "
            f"{edit.notebook}/{edit.cell}: copy it exactly from the solution, with enough "
            "of the line to be unique"
        )
    for index, region in enumerate(regions):
        if region.solution and edit.old in region.text:
            regions[index] = _Region(region.text.replace(edit.old, edit.new), True)


def _attacked(release: NotebookNode, attack: Attack) -> NotebookNode:
    """The blank with the attack at the top of its first code answer cell, or in place
    of every code answer."""
    notebook = nbformat.from_dict(release)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
            continue
        if attack.every_answer:
            cell.source = attack.code.replace("__GRADE_ID__", str(meta.get("grade_id")))
            continue
        cell.source = f"{attack.code}\n{cell.source}"
        return notebook
    return notebook


def _check_unique(students: Sequence[SyntheticStudent]) -> None:
    seen: set[str] = set()
    for student in students:
        if student.student_id in seen:
            raise CourseError(
                f"synthetic student id {student.student_id!r} is used twice (reference, "
                "blank and the adv-* ids are reserved): rename the partial student"
            )
        seen.add(student.student_id)


__all__ = ["KINDS", "SyntheticStudent", "build_class", "write_class"]
