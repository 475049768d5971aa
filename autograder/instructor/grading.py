"""Grade, feed back and export a term: :mod:`autograder.api` run in the term's workspace.

Each function opens the term workspace (:mod:`.workspace`) of ``course_dir`` (the
repository root) and calls the autograder's API there. The term seed comes from the
term file, never from the caller. Defaults match the CLI's, which takes them from here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder import api
from autograder.api import FEEDBACK_DIR, GRADES_FILE, REPORTS_DIR
from autograder.driver import RESULTS_DIR, WORKSPACE_DIR, GradingSummary
from autograder.instructor.workspace import TermWorkspace, open_workspace


def grade(
    assignment: str,
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    students: Sequence[str] | None = None,
    only_ungraded: bool = False,
    regrade: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Any = None,
    progress: bool = True,
) -> GradingSummary:
    """Grade ``assignment`` for the term (default: the current one) in its workspace.

    Everything new or changed by default; ``students`` for some, ``only_ungraded`` for
    students without a result, ``regrade`` to ignore earlier results. ``workers`` /
    ``scheduler`` / ``executor`` choose where jobs run (one local worker per core).
    """
    space = open_workspace(course_dir, term_id=term_id, workspace=workspace)
    space.course.assignment(assignment)
    return api.grade(
        assignment,
        space.root,
        students=students,
        only_ungraded=only_ungraded,
        regrade=regrade,
        term_seed=space.term.seed,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        progress=progress,
    )


def feedback(
    assignment: str,
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    students: Sequence[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    skipped: list[str] | None = None,
) -> list[Path]:
    """Write the feedback pages, ``<out_dir>/<student>/<a>/<notebook>.html``.

    ``out_dir`` defaults to the workspace's ``feedback/`` (nbgrader's own place for it);
    ``skipped`` collects why a result got no page (see :func:`autograder.api.feedback`).
    """
    space = open_workspace(course_dir, term_id=term_id, workspace=workspace)
    space.course.assignment(assignment)
    target = Path(out_dir) if out_dir is not None else space.root / FEEDBACK_DIR
    return api.feedback(assignment, space.root, students=students, out_dir=target, skipped=skipped)


@dataclass(frozen=True)
class ExportFiles:
    """What :func:`export` wrote."""

    grades_csv: Path
    reports: dict[str, api.ReportFiles]
    """Per assignment: the pass-rate table (CSV, text) and the score histogram (PNG)."""


def export(
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> ExportFiles:
    """Write ``grades.csv`` (nbgrader's export format) and, per assignment with results,
    ``reports/<a>/passrates.csv``, ``passrates.txt`` and ``scores.png``.

    ``out_dir`` defaults to the workspace itself.
    """
    space = open_workspace(course_dir, term_id=term_id, workspace=workspace)
    space.course.require_assignments()
    target = Path(out_dir) if out_dir is not None else space.root
    csv_path = api.export(None, space.root, to=target / GRADES_FILE)
    reports = {
        name: api.report(name, space.root, out_dir=target / REPORTS_DIR / name)
        for name in graded_assignments(space)
    }
    return ExportFiles(csv_path, reports)


def graded_assignments(space: TermWorkspace) -> list[str]:
    """The course's assignments, in course order, that have a journal folder."""
    results = space.root / WORKSPACE_DIR / RESULTS_DIR
    return [a.name for a in space.course.assignments if (results / a.name).is_dir()]
