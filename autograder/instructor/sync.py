"""Is ``assignments/`` still what releasing ``solutions/`` for the current term would give?

Checked from the ``.release.json`` records alone (nothing is regenerated): each
assignment of the course file has a release for the current term, built from today's
source files, and every released file still has the hash it was released with.
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder.course import COURSE_FILE
from autograder.instructor.config import load_course
from autograder.instructor.record import ReleaseRecord, source_hashes, tree_hashes
from autograder.instructor.terms import current_term


def check_sync(course_dir: str | os.PathLike[str] = ".") -> list[str]:
    """Every way the release is out of sync, each with its fix; empty when in sync."""
    course = load_course(Path(course_dir) / COURSE_FILE)
    term = current_term(course.root, secret=False)  # only its id is compared
    problems = []
    for assignment in course.assignments:
        fix = f"run `python -m autograder.instructor release {assignment.name}`"
        where = assignment.release
        if not where.is_dir():
            problems.append(f"{assignment.name}: {where} does not exist: {fix}")
            continue
        try:
            record = ReleaseRecord.read(where)
        except ValueError as error:
            problems.append(f"{assignment.name}: {error}: {fix}")
            continue
        if record.term_id != term.term_id:
            problems.append(
                f"{assignment.name}: released for term {record.term_id!r}, the current term is "
                f"{term.term_id!r}: {fix}"
            )
        changed = _differences(record.source_hashes, source_hashes(assignment))
        if changed:
            problems.append(
                f"{assignment.name}: the source changed since the release ({', '.join(changed)} "
                f"in {assignment.source}): {fix}"
            )
        edited = _differences(record.release_hashes, tree_hashes(where))
        if edited:
            problems.append(
                f"{assignment.name}: released files were edited by hand ({', '.join(edited)} in "
                f"{where}); never edit assignments/, change solutions/ instead and {fix}"
            )
    return problems


def _differences(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """Files added, removed or changed, each named with what happened."""
    names = sorted(set(recorded) | set(current))
    out = []
    for name in names:
        if name not in current:
            out.append(f"{name} removed")
        elif name not in recorded:
            out.append(f"{name} added")
        elif recorded[name] != current[name]:
            out.append(f"{name} changed")
    return out
