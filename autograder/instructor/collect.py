"""Collect: bring students' work into the term workspace's ``submitted/``.

Two front doors:

- :func:`collect_lms`: an LMS bulk download (zip) and a roster CSV
  (:func:`autograder.api.collect_lms` in the workspace);
- :func:`collect_exchange`: an nbgrader exchange, where ``nbgrader submit`` leaves
  ``<exchange>/<course_id>/inbound/<student>+<assignment>+<timestamp>[+<random>]/``.
  The latest submission of each student is copied to ``submitted/<student>/<a>/`` with
  its ``timestamp.txt``, as ``nbgrader collect`` does.

The inbound folder is written by students, so only plain files are copied (no links, no
hidden files, nothing over the size cap), and each student's folder is swapped in whole.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder import api
from autograder.course import CourseError
from autograder.course_layout import SUBMITTED_DIR
from autograder.files import checked_name
from autograder.instructor.swap import fresh_sibling, swap_in
from autograder.instructor.workspace import open_workspace
from autograder.intake.validate import DEFAULT_MAX_BYTES
from autograder.lms import ImportReport

INBOUND_DIR = "inbound"


def collect_lms(
    assignment: str,
    zip_path: str | os.PathLike[str],
    roster: str | os.PathLike[str],
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
) -> ImportReport:
    """Unpack an LMS download of ``assignment`` into the workspace through ``roster``.

    The report lists every entry imported, unmatched (LMS id not in the roster) or skipped.
    """
    space = open_workspace(course_dir, term_id=term_id, workspace=workspace)
    space.course.assignment(assignment)
    return api.collect_lms(zip_path, assignment, space.root, roster=roster)


@dataclass
class ExchangeReport:
    """What :func:`collect_exchange` did."""

    assignment: str
    collected: dict[str, str] = field(default_factory=dict)
    """Student id → the inbound folder taken (the latest)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(inbound entry or file, reason): something is wrong with it."""
    superseded: list[str] = field(default_factory=list)
    """Inbound folders of a student who submitted again later: the ordinary case."""

    def summary(self) -> str:
        lines = [
            f"{self.assignment}: collected {len(self.collected)} student(s); "
            f"{len(self.superseded)} older submission(s) replaced by a newer one; "
            f"{len(self.skipped)} skipped"
        ]
        lines += [f"  skipped {entry}: {reason}" for entry, reason in self.skipped]
        return "\n".join(lines)

    @property
    def problem(self) -> str:
        """Why someone must look (the reason for exit status 1), or ``""``."""
        if not self.skipped:
            return ""
        return f"{len(self.skipped)} entries were not collected: see each reason above"


def collect_exchange(
    assignment: str,
    exchange: str | os.PathLike[str],
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
) -> ExchangeReport:
    """Copy each student's latest submission of ``assignment`` from an nbgrader exchange.

    ``exchange`` is the exchange root (nbgrader's ``Exchange.root``, e.g.
    ``/srv/nbgrader/exchange``); the course id comes from ``course.toml``.
    """
    space = open_workspace(course_dir, term_id=term_id, workspace=workspace)
    space.course.assignment(assignment)
    inbound = Path(exchange) / space.course.course_id / INBOUND_DIR
    if not inbound.is_dir():
        raise CourseError(
            f"no nbgrader inbound folder at {inbound}: pass the exchange root (nbgrader's "
            f"Exchange.root) holding <course_id>/inbound/, with course_id "
            f"{space.course.course_id!r} as in course.toml"
        )
    report = ExchangeReport(assignment)
    for student, folder in sorted(_latest(inbound, assignment, report).items()):
        _copy_submission(folder, space.root / SUBMITTED_DIR / student / assignment, report)
        report.collected[student] = folder.name
    return report


def _latest(inbound: Path, assignment: str, report: ExchangeReport) -> dict[str, Path]:
    """The newest inbound folder of each student for ``assignment``."""
    from nbgrader.utils import parse_utc  # nbgrader's own timestamp parser

    newest: dict[str, tuple[datetime, Path]] = {}
    for entry in sorted(inbound.iterdir()):
        parts = entry.name.split("+")
        if len(parts) not in (3, 4) or parts[1] != assignment:
            continue  # another assignment, or not a submission
        student, stamp = parts[0], parts[2]
        if entry.is_symlink() or not entry.is_dir():
            report.skipped.append((entry.name, "not a folder"))
            continue
        try:
            checked_name(student, "student id")
            when = parse_utc(stamp)
        except (ValueError, OverflowError) as error:
            report.skipped.append((entry.name, f"unusable name: {error}"))
            continue
        if student not in newest or when > newest[student][0]:
            if student in newest:
                report.superseded.append(newest[student][1].name)
            newest[student] = (when, entry)
        else:
            report.superseded.append(entry.name)
    return {student: folder for student, (_, folder) in newest.items()}


def _copy_submission(source: Path, target: Path, report: ExchangeReport) -> None:
    """Replace ``target`` by the plain files of ``source``, swapped in by renames."""
    new = fresh_sibling(target)
    for path in sorted(source.iterdir()):
        name = f"{source.name}/{path.name}"
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            report.skipped.append((name, "not a plain visible file"))
        elif path.stat().st_size > DEFAULT_MAX_BYTES:
            report.skipped.append((name, f"larger than {DEFAULT_MAX_BYTES} bytes"))
        else:
            shutil.copyfile(path, new / path.name)
    swap_in(new, target)
