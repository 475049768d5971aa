"""The term workspace: the nbgrader course folder where one term is graded, outside git.

Default place: ``<repo>/workspace/<term_id>/`` (``workspace/`` is git-ignored). Layout::

    workspace/<term_id>/
      nbgrader_config.py        CourseDirectory.course_id from course.toml (formgrader reads it)
      term.json                 the term of course/terms/<term>.toml (Term.write_json)
      source/<a>/               the repository's solutions/<a>/: the listed notebooks, their
                                specs and data files, refreshed whenever a command opens it
      submitted/<student>/<a>/  collected work
      gradebook.db              nbgrader's gradebook
      autograder/results/       the grading journal
      feedback/, reports/, grades.csv, term_report.html

Opening a workspace (:func:`open_workspace`) creates what is missing and brings
``source/`` and ``term.json`` up to date with the repository, so the grader always reads
the term's seed from the term file, never from a command line.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.course import COURSE_FILE, Assignment, Course, CourseError, Term
from autograder.course_layout import CONFIG_FILE, SOURCE_DIR, TERM_FILE
from autograder.files import atomic_write_text, write_if_changed
from autograder.instructor.config import load_course
from autograder.instructor.record import source_files, source_hashes, tree_hashes
from autograder.instructor.swap import fresh_sibling, swap_in
from autograder.instructor.terms import current_term

WORKSPACES_DIR = "workspace"
"""Under the repository root; git-ignored."""


@dataclass(frozen=True)
class TermWorkspace:
    """One term's grading folder, with the course and the term it belongs to."""

    root: Path
    """The nbgrader course folder the grader works in."""
    course: Course
    term: Term


def open_workspace(
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
) -> TermWorkspace:
    """Create or refresh the workspace of ``term_id`` (default: the current term).

    ``course_dir`` is the repository root; ``workspace`` overrides the default folder.
    """
    course = load_course(Path(course_dir) / COURSE_FILE)
    term = current_term(course.root, term_id=term_id)
    root = Path(workspace).resolve() if workspace else course.root / WORKSPACES_DIR / term.term_id
    _check_not_inside_sources(root, course)
    if not root.is_dir():
        root.mkdir(parents=True)
        # Student work: readable by the course team's account only. With the sandbox's
        # unprivileged job uid this hides the sources and the gradebook even without
        # bubblewrap.
        root.chmod(0o700)
    _ignore_in_git(root)
    replace(term, intake=course.intake).write_json(root / TERM_FILE)
    config = (
        "# Written by autograder.instructor from course/course.toml; regenerated on use.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course.course_id!r}\n"
    )
    write_if_changed(root / CONFIG_FILE, config)
    (root / SOURCE_DIR).mkdir(exist_ok=True)
    for assignment in course.assignments:
        sync_source(assignment, root / SOURCE_DIR / assignment.name)
    return TermWorkspace(root, course, term)


def sync_source(assignment: Assignment, target: Path) -> bool:
    """Make ``target`` hold exactly the assignment's source files; True when it changed.

    The new copy is built next to the old one and swapped in by renames, so the grader
    never sees half a source folder.
    """
    if target.is_dir() and tree_hashes(target) == source_hashes(assignment):
        return False
    new = fresh_sibling(target)
    for path in source_files(assignment):
        destination = new / path.relative_to(assignment.source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    swap_in(new, target)
    return True


def _check_not_inside_sources(root: Path, course: Course) -> None:
    """Student work must never land in solutions/, assignments/ or course/."""
    for name in ("solutions", "assignments", "course"):
        protected = course.root / name
        if root == protected or protected in root.parents:
            raise CourseError(
                f"the workspace {root} is inside {protected}: student work must stay out of "
                f"the course's sources; use the default {WORKSPACES_DIR}/<term> or another folder"
            )


def _ignore_in_git(root: Path) -> None:
    """A workspace holds student work: make git ignore it wherever it is."""
    marker = root / ".gitignore"
    if not marker.exists():
        atomic_write_text(marker, "# A term workspace: student work stays out of git.\n*\n")
