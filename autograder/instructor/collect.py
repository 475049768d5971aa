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
Neither the folder's name nor ``timestamp.txt`` is taken on the student's word:

- identity: a folder whose name claims another student than the account that owns it
  (``nbgrader collect``'s ``check_owner`` only warns) is refused, so nobody's work is
  replaced by a classmate's;
- time: the student can set a file's modification time, never its change time
  (``st_ctime``), which the kernel moves on every write. The latest change time of the
  folder and its files is when the work was last touched; the stamp nbgrader wrote is
  kept only when it lies within :data:`STAMP_GRACE` before it (the copy takes a moment).
  That time orders resubmissions and goes into the course's receipt
  (:meth:`CourseLayout.write_receipt`), which the late penalty uses.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder import api
from autograder.course import CourseError
from autograder.course_layout import SUBMITTED_DIR, CourseLayout
from autograder.files import checked_name
from autograder.instructor.swap import fresh_sibling, swap_in
from autograder.instructor.workspace import open_workspace
from autograder.intake.validate import DEFAULT_MAX_BYTES
from autograder.lms import ImportReport

INBOUND_DIR = "inbound"
STAMP_GRACE = timedelta(minutes=2)
"""How much earlier than the exchange's change time nbgrader's own stamp may be."""


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
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(inbound entry, why): submissions under another student's name, for the course team."""
    superseded: list[str] = field(default_factory=list)
    """Inbound folders of a student who submitted again later: the ordinary case."""

    def summary(self) -> str:
        lines = [
            f"{self.assignment}: collected {len(self.collected)} student(s); "
            f"{len(self.superseded)} older submission(s) replaced by a newer one; "
            f"{len(self.skipped)} skipped; {len(self.refused)} refused"
        ]
        lines += [f"  REFUSED {entry}: {reason}" for entry, reason in self.refused]
        lines += [f"  skipped {entry}: {reason}" for entry, reason in self.skipped]
        return "\n".join(lines)

    @property
    def problem(self) -> str:
        """Why someone must look (the reason for exit status 1), or ``""``."""
        if not self.skipped and not self.refused:
            return ""
        return (
            f"{len(self.skipped) + len(self.refused)} entries were not collected: "
            "see each reason above"
        )


def collect_exchange(
    assignment: str,
    exchange: str | os.PathLike[str],
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    check_owner: bool = True,
) -> ExchangeReport:
    """Copy each student's latest submission of ``assignment`` from an nbgrader exchange.

    ``exchange`` is the exchange root (nbgrader's ``Exchange.root``, e.g.
    ``/srv/nbgrader/exchange``); the course id comes from ``course.toml``.
    ``check_owner=False`` accepts folders whatever account owns them: only for an
    exchange where one service account writes every submission.
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
    layout = CourseLayout(space.root)
    for student, (when, folder) in sorted(
        _latest(inbound, assignment, report, check_owner).items()
    ):
        target = space.root / SUBMITTED_DIR / student / assignment
        _copy_submission(folder, target, report, _owner(folder) if check_owner else None)
        layout.write_receipt(student, assignment, when, f"nbgrader exchange {folder.name}")
        report.collected[student] = folder.name
    return report


def _owner(path: Path) -> str:
    """The account that owns ``path`` (its uid when the account has no name)."""
    import pwd

    uid = path.lstat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _received(folder: Path, stamp: datetime) -> datetime:
    """When the exchange last saw ``folder`` change (naive UTC), or nbgrader's ``stamp``
    when that lies just before it (see the module docstring)."""
    changed = max([folder.lstat().st_ctime] + [path.lstat().st_ctime for path in folder.iterdir()])
    kernel = datetime.fromtimestamp(changed, timezone.utc).replace(tzinfo=None)
    return stamp if timedelta(0) <= kernel - stamp <= STAMP_GRACE else kernel


def _latest(
    inbound: Path, assignment: str, report: ExchangeReport, check_owner: bool
) -> dict[str, tuple[datetime, Path]]:
    """The newest inbound folder of each student for ``assignment``, with its time."""
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
            when = _received(entry, parse_utc(stamp))
        except (ValueError, OverflowError) as error:
            report.skipped.append((entry.name, f"unusable name: {error}"))
            continue
        owner = _owner(entry)
        if check_owner and owner != student:
            report.refused.append(
                (
                    entry.name,
                    f"submitted under {student}'s name by {owner}, who owns the folder: "
                    f"not collected, and {student}'s own work is kept",
                )
            )
            continue
        if student not in newest or when > newest[student][0]:
            if student in newest:
                report.superseded.append(newest[student][1].name)
            newest[student] = (when, entry)
        else:
            report.superseded.append(entry.name)
    return newest


def _copy_submission(source: Path, target: Path, report: ExchangeReport, owner: str | None) -> None:
    """Replace ``target`` by the plain files of ``source``, swapped in by renames.

    ``owner``: the account whose files are taken; nbgrader leaves inbound folders
    writable by everyone, so a file someone else put there is not the student's work.
    """
    new = fresh_sibling(target)
    for path in sorted(source.iterdir()):
        name = f"{source.name}/{path.name}"
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            report.skipped.append((name, "not a plain visible file"))
        elif owner is not None and _owner(path) != owner:
            report.refused.append((name, f"put there by {_owner(path)}, not by {owner}"))
        elif path.stat().st_size > DEFAULT_MAX_BYTES:
            report.skipped.append((name, f"larger than {DEFAULT_MAX_BYTES} bytes"))
        else:
            shutil.copyfile(path, new / path.name)
    swap_in(new, target)
