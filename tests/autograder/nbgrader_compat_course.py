"""Courses for the nbgrader compatibility suite, built from what nbgrader itself ships.

- ``ps1``: the example course of nbgrader's documentation (``docs/source/user_guide``):
  two notebooks of plain ``assert`` tests, written and task cells, an extra file
  (``jupyter.png``), and the submissions of ``bitdiddle`` and ``hacker`` with their
  ``timestamp.txt``.
- ``fixtures``: one notebook (nbgrader's test fixture ``submitted-unchanged.ipynb`` as
  the source) and one student per fixture submission nbgrader's own tests grade:
  unchanged, changed, two cheat attempts, an edited test cell, an edited locked cell,
  and the changed submission with its test and locked cells deleted.

:func:`build_course` lays a course out twice, once for stock ``nbgrader autograde``
and once for ours; :func:`stock_autograde` runs nbgrader's own apps on the first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import nbgrader

NBGRADER = Path(nbgrader.__file__).parent
USER_GUIDE = NBGRADER / "docs" / "source" / "user_guide"
FILES = NBGRADER / "tests" / "apps" / "files"
BIN = Path(sys.executable).parent

PS1_STUDENTS = ("bitdiddle", "hacker")
FIXTURE_SOURCE = "submitted-unchanged"
FIXTURE_STUDENTS = {
    "unchanged": "submitted-unchanged",
    "changed": "submitted-changed",
    "cheat": "submitted-cheat-attempt",
    "cheat-alt": "submitted-cheat-attempt-alternative",
    "grade-cell-edited": "submitted-grade-cell-changed",
    "locked-cell-edited": "submitted-locked-cell-changed",
    "cells-deleted": "submitted-changed",
}
SECRET = "submission_secret.txt"
DELETED_STUDENT = "cells-deleted"
DELETED_CELLS = ("bar", "ro1", "ro2")
"""The test and locked cells the ``cells-deleted`` student removed."""


def build_course(root: Path, assignment: str) -> Path:
    """``root`` as an nbgrader course holding ``assignment`` (``ps1`` or ``fixtures``).

    Every submission gets a ``submission_secret.txt`` of its own and, where nbgrader's
    fixture has none, its fixture ``timestamp.txt``, as the exchange's ``collect`` leaves
    them (``release_feedback`` needs both).
    """
    course = _lay_out(root, assignment)
    for folder in (course / "submitted").iterdir():
        (folder / assignment / SECRET).write_text(f"secret of {folder.name}\n")
        if not (folder / assignment / "timestamp.txt").exists():
            shutil.copyfile(FILES / "timestamp.txt", folder / assignment / "timestamp.txt")
    return course


def _lay_out(root: Path, assignment: str) -> Path:
    source = root / "source" / assignment
    if assignment == "ps1":
        shutil.copytree(USER_GUIDE / "source" / "ps1", source)
        for student in PS1_STUDENTS:
            shutil.copytree(
                USER_GUIDE / "submitted" / student / "ps1",
                root / "submitted" / student / assignment,
            )
        return root
    source.mkdir(parents=True)
    shutil.copyfile(FILES / f"{FIXTURE_SOURCE}.ipynb", source / "p1.ipynb")
    for student, fixture in FIXTURE_STUDENTS.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        notebook = nbformat.read(FILES / f"{fixture}.ipynb", as_version=4)
        if student == DELETED_STUDENT:
            notebook.cells = [
                cell
                for cell in notebook.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") not in DELETED_CELLS
            ]
        nbformat.write(notebook, str(folder / "p1.ipynb"))
    return root


def nbgrader_app(course: Path, *args: str) -> str:
    """Run one of nbgrader's apps in ``course``; its output, or the test fails with it."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout + done.stderr


def stock_autograde(course: Path, assignment: str) -> None:
    """What a course team on nbgrader runs: generate the assignment, then autograde."""
    nbgrader_app(course, "generate_assignment", assignment, "--force")
    nbgrader_app(course, "autograde", assignment)
