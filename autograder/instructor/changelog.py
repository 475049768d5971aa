"""What changed between two releases of an assignment (e.g. last term's and this term's).

Notebooks are compared by content hash; tests (grade cells) by grade id, points and
the source the student sees; the visible checks' data (``checks/<test_id>.npz``, drawn
from the term seed, so every new term changes them) by content hash. Only the two release
folders are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import CourseError
from autograder.instructor.record import file_hash
from autograder.intake import CellRole, TemplateError, load_template

_GRADED = (CellRole.TESTS, CellRole.MANUAL_ANSWER, CellRole.TASK)


@dataclass
class Changelog:
    notebooks_added: list[str] = field(default_factory=list)
    notebooks_removed: list[str] = field(default_factory=list)
    notebooks_changed: list[str] = field(default_factory=list)
    tests_added: list[str] = field(default_factory=list)
    """``notebook/grade_id`` of tests only in the new release."""
    tests_removed: list[str] = field(default_factory=list)
    tests_changed: list[str] = field(default_factory=list)
    """``notebook/grade_id (points 2 -> 3)`` or ``(source)`` for tests in both."""
    check_data_changed: list[str] = field(default_factory=list)
    """``checks/<test_id>.npz`` files added, removed or with other contents."""

    @property
    def empty(self) -> bool:
        return not any(vars(self).values())

    def render(self) -> str:
        if self.empty:
            return "no changes"
        lines = []
        for title, items in vars(self).items():
            if items:
                lines.append(title.replace("_", " ") + ":")
                lines += [f"  {item}" for item in items]
        return "\n".join(lines)


def changelog(
    old_release_dir: str | os.PathLike[str], new_release_dir: str | os.PathLike[str]
) -> Changelog:
    """Compare two release folders of one assignment."""
    old, new = _notebooks(Path(old_release_dir)), _notebooks(Path(new_release_dir))
    log = Changelog()
    log.notebooks_added = sorted(set(new) - set(old))
    log.notebooks_removed = sorted(set(old) - set(new))
    for name in sorted(set(old) | set(new)):
        before = _tests(old[name]) if name in old else {}
        after = _tests(new[name]) if name in new else {}
        if name in old and name in new and file_hash(old[name]) != file_hash(new[name]):
            log.notebooks_changed.append(name)
        log.tests_added += [f"{name}/{gid}" for gid in sorted(set(after) - set(before))]
        log.tests_removed += [f"{name}/{gid}" for gid in sorted(set(before) - set(after))]
        for gid in sorted(set(before) & set(after)):
            what = []
            if before[gid][0] != after[gid][0]:
                what.append(f"points {before[gid][0]:g} -> {after[gid][0]:g}")
            if before[gid][1] != after[gid][1]:
                what.append("source")
            if what:
                log.tests_changed.append(f"{name}/{gid} ({', '.join(what)})")
    old_checks, new_checks = _checks(Path(old_release_dir)), _checks(Path(new_release_dir))
    for name in sorted(set(old_checks) | set(new_checks)):
        if name not in old_checks:
            log.check_data_changed.append(f"{name} (added)")
        elif name not in new_checks:
            log.check_data_changed.append(f"{name} (removed)")
        elif file_hash(old_checks[name]) != file_hash(new_checks[name]):
            log.check_data_changed.append(name)
    return log


def _checks(folder: Path) -> dict[str, Path]:
    return {f"checks/{path.name}": path for path in sorted(folder.glob("checks/*.npz"))}


def _notebooks(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise CourseError(f"{folder} is not a release folder: pass assignments/<a>/ folders")
    return {path.stem: path for path in sorted(folder.glob("*.ipynb"))}


def _tests(path: Path) -> dict[str, tuple[float, str]]:
    try:
        template = load_template(path)
    except TemplateError as error:
        raise CourseError(f"{path} is not a usable nbgrader notebook: {error}") from None
    return {
        cell.grade_id: (cell.points, cell.release_source)
        for cell in template.cells
        if cell.role in _GRADED and cell.grade_id
    }
