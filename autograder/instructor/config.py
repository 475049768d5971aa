"""The course definition, ``course/course.toml``: the assignments in order, with their notebooks.

Example::

    course_id = "dl101"

    [intake]                       # optional: what the grader reads of a submission at most
    max_notebook_bytes = 20971520  # a larger notebook is not read (default 20 MiB)
    max_submission_files = 1000    # a folder holding more is not looked into (default 1000)

    [[assignments]]
    name = "a1"                    # the folder name under solutions/ and assignments/
    # source = "solutions/a1"      # default: solutions/<name>
    # release = "assignments/a1"   # default: assignments/<name>

    [[assignments.notebooks]]
    name = "layers"                # solutions/a1/layers.ipynb (+ layers.specs.py)
    points = 19                    # must equal the notebook's maximum score
    needs_gpu = false              # default false; must match the notebook's metadata
    runtime_budget = 120           # seconds the solution may take top to bottom (default 120)

:func:`load_course` checks every key and the files on disk; each problem raises
:class:`~autograder.course.CourseError` naming the file, the key and the fix.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from autograder.course import (
    DEFAULT_RUNTIME_BUDGET,
    Assignment,
    Course,
    CourseError,
    NotebookEntry,
    Table,
    intake_caps,
    read_toml,
)
from autograder.course_layout import CONFIG_FILE, _read_nbgrader_config, notebook_needs_gpu
from autograder.files import NOTEBOOK_SUFFIX, SPECS_SUFFIX, checked_name
from autograder.intake import TemplateError, load_template

SOLUTIONS_DIR = "solutions"
ASSIGNMENTS_DIR = "assignments"


def load_course(path: str | os.PathLike[str]) -> Course:
    """Read and check ``course.toml`` (the repository root is two folders up from it)."""
    path = Path(path).resolve()
    root = path.parent.parent
    top = Table(path.name, "", read_toml(path))
    top.only(["course_id", "intake", "assignments"])
    course_id = top.get("course_id", str, example='"dl101"')
    _check_nbgrader_course_id(path.parent / CONFIG_FILE, course_id)
    # No [[assignments]] yet is a valid course (a new one); commands that need one call
    # Course.require_assignments, which says how to add them.
    tables = top.tables("assignments", required=False)
    assignments = tuple(_assignment(table, root) for table in tables)
    seen: set[str] = set()
    for table, assignment in zip(tables, assignments, strict=True):
        if assignment.name in seen:
            raise table.error(f"assignment name {assignment.name!r} is used twice: rename one")
        seen.add(assignment.name)
    return Course(course_id, assignments, root, intake_caps(top))


def _check_nbgrader_course_id(config: Path, course_id: str) -> None:
    """``course/nbgrader_config.py`` (release, formgrader, the exchange) must name the same
    course as ``course.toml``, or submissions land under one id and are looked for under
    the other."""
    if not config.is_file():
        return
    theirs = _read_nbgrader_config(config).get("CourseDirectory", {}).get("course_id")
    if theirs is not None and theirs != course_id:
        raise CourseError(
            f"course.toml: course_id {course_id!r} differs from CourseDirectory.course_id "
            f"{theirs!r} in {config}: make them the same"
        )


def _assignment(table: Table, root: Path) -> Assignment:
    table.only(["name", "source", "release", "notebooks"])
    name = _name(table, '"a1"')
    source = root / table.get("source", str, f"{SOLUTIONS_DIR}/{name}")
    release = root / table.get("release", str, f"{ASSIGNMENTS_DIR}/{name}")
    if not source.is_dir():
        raise table.error(f"source folder {source} does not exist: create it or fix 'source'")
    notebooks = tuple(_notebook(nb, source) for nb in table.tables("notebooks"))
    names = [notebook.name for notebook in notebooks]
    if len(set(names)) != len(names):
        raise table.error("a notebook is listed twice under [[assignments.notebooks]]")
    return Assignment(name, notebooks, source, release)


def _notebook(table: Table, source: Path) -> NotebookEntry:
    table.only(["name", "points", "needs_gpu", "runtime_budget"])
    name = _name(table, '"layers"')
    points = table.get("points", float, example="<the notebook's maximum score>")
    needs_gpu = table.get("needs_gpu", bool, False)
    budget = table.get("runtime_budget", int, DEFAULT_RUNTIME_BUDGET)
    if budget < 1:
        raise table.error(f"'runtime_budget' must be at least 1 second, got {budget}")
    path = source / f"{name}{NOTEBOOK_SUFFIX}"
    if not path.is_file():
        raise table.error(f"notebook {path} does not exist: add it or fix 'name'")
    specs = source / f"{name}{SPECS_SUFFIX}"
    if not specs.is_file():
        raise table.error(f"{specs} does not exist: write the notebook's check specs there")
    try:
        max_score = load_template(path).max_score
        declared_gpu = notebook_needs_gpu(path)
    except (TemplateError, CourseError) as error:
        raise table.error(
            f"notebook {path.name} is not a usable nbgrader source: {error}"
        ) from None
    if not math.isclose(points, max_score):
        raise table.error(
            f"'points' is {points:g} but {path.name} is worth {max_score:g}: set points = "
            f"{max_score:g} or fix the points in the notebook's grade cells"
        )
    if needs_gpu != declared_gpu:
        raise table.error(
            f"'needs_gpu' is {str(needs_gpu).lower()} but {path.name}'s metadata "
            f'"dlcourse" "needs_gpu" is {str(declared_gpu).lower()}: make them agree'
        )
    return NotebookEntry(name, points, needs_gpu, budget)


def _name(table: Table, example: str) -> str:
    """The table's ``name``: it becomes a folder or file name, so it follows that rule."""
    try:
        return checked_name(table.get("name", str, example=example), "name")
    except ValueError as error:
        raise table.error(str(error)) from None
