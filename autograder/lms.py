"""The LMS front door: unpack an LMS bulk download into nbgrader's ``submitted/`` folder.

An LMS (Canvas and the like) hands out one zip per assignment holding every student's
files, named after the LMS's user id rather than the course's student id:

- Canvas style ``<lastfirst>_<lmsid>_<submissionid>_<original name>``, with ``LATE``
  after the name for late work (``doejane_LATE_123_456_hw1.ipynb``) and ``-1``, ``-2``
  before the extension when a student uploaded the same file again (``hw1-1.ipynb``);
- folder style ``<lmsid>/<original name>``.

:func:`import_lms_zip` maps LMS ids to student ids through a roster and writes each
notebook to ``<course>/submitted/<student>/<assignment>/<original name>``, keeping only
the newest resubmission. The zip is untrusted input: entries with absolute or ``..``
paths, links, encrypted or oversized entries and suspiciously compressed ones are
skipped; an archive whose declared contents exceed the caps is refused whole. Nothing
a student named or uploaded stops the import: every entry ends up in the report as
imported, unmatched (unknown LMS id) or skipped with a reason. Each file is written
atomically.
"""

from __future__ import annotations

import csv
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.course_layout import SUBMITTED_DIR
from autograder.files import atomic_write_bytes, checked_name
from autograder.intake.validate import DEFAULT_MAX_BYTES
from autograder.reports.export import StudentInfo

_CANVAS = re.compile(
    r"(?P<who>[^_/]*)_(?:(?P<late>late)_)?(?P<lms>\d+)_(?P<sub>\d+)_(?P<name>.+)", re.IGNORECASE
)
_RESUBMISSION = re.compile(r"(?P<base>.+)-(?P<n>\d+)")
_DRIVE = re.compile(r"[A-Za-z]:")
_SYSTEM = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


class LmsZipError(ValueError):
    """The archive as a whole cannot be imported (not a zip, or past the caps)."""


class RosterError(ValueError):
    """The roster cannot map LMS ids to student ids."""


@dataclass(frozen=True)
class LmsImportConfig:
    """Limits and choices for one import; the defaults suit a course of a few hundred."""

    max_file_bytes: int = DEFAULT_MAX_BYTES
    """Largest notebook accepted (uncompressed): the intake's own cap."""
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    """Largest total uncompressed size the archive may declare."""
    max_entries: int = 50_000
    max_ratio: float = 100.0
    """Uncompressed/compressed size above which an entry is treated as a zip bomb ..."""
    ratio_floor_bytes: int = 1024 * 1024
    """... if it is at least this large (small text files compress very well)."""
    suffixes: tuple[str, ...] = (".ipynb",)
    """File types imported (lower case); anything else is skipped and reported."""
    expected_names: tuple[str, ...] = ()
    """The assignment's notebook file names. When given, a name that is one of them is
    never taken for a ``-N`` resubmission (``layer-2.ipynb`` stays itself)."""


# --- roster -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RosterEntry:
    """One student as the LMS and the course know them."""

    lms_id: str
    student_id: str
    info: StudentInfo = field(default_factory=StudentInfo)


@dataclass(frozen=True)
class Roster:
    """LMS id → course student."""

    entries: Mapping[str, RosterEntry]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> Roster:
        """A roster from ``{lms_id: student_id}``."""
        entries = {}
        for lms_id, student_id in mapping.items():
            where = f"roster entry {lms_id!r}"
            entries[_field(lms_id, where, "lms_id")] = RosterEntry(
                str(lms_id).strip(), _student_id(student_id, where)
            )
        return cls(entries)

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str]) -> Roster:
        """A roster from a CSV with columns ``lms_id,student_id[,first_name,last_name,email]``."""
        try:
            # utf-8-sig: spreadsheets often save a byte-order mark first.
            with open(path, encoding="utf-8-sig", newline="") as handle:
                return cls._from_rows(csv.DictReader(handle), str(path))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise RosterError(f"cannot read roster {path}: {error}") from error

    @classmethod
    def _from_rows(cls, reader: csv.DictReader, name: str) -> Roster:
        columns = [c.strip() for c in reader.fieldnames or []]
        if "lms_id" not in columns or "student_id" not in columns:
            raise RosterError(
                f"roster {name} has columns {columns}; it needs a header with lms_id and "
                "student_id (optionally first_name, last_name, email)"
            )
        entries: dict[str, RosterEntry] = {}
        for line, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
            if not any(row.values()):
                continue
            where = f"roster {name} line {line}"
            lms_id = _field(row.get("lms_id"), where, "lms_id")
            if lms_id in entries:
                raise RosterError(f"{where}: lms_id {lms_id!r} is listed twice; keep one row")
            first, last, email = (row.get(k) or None for k in ("first_name", "last_name", "email"))
            info = StudentInfo(first, last, email, lms_user_id=lms_id)
            entries[lms_id] = RosterEntry(lms_id, _student_id(row.get("student_id"), where), info)
        return cls(entries)


def _field(value: object, where: str, column: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise RosterError(f"{where}: {column} is empty; fill it in or delete the row")
    return text


def _student_id(value: object, where: str) -> str:
    text = _field(value, where, "student_id")
    try:
        return checked_name(text, "student_id")
    except ValueError as error:
        raise RosterError(f"{where}: {error}") from None


# --- report -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportedFile:
    student_id: str
    lms_id: str
    name: str
    """The file name in ``submitted/`` (resubmission suffix stripped)."""
    path: Path
    entry: str
    """The zip entry it came from."""
    late: bool
    replaced: bool
    """A file of that name was already there (an earlier import) and was overwritten."""


@dataclass(frozen=True)
class UnmatchedEntry:
    lms_id: str
    entry: str


@dataclass(frozen=True)
class SkippedEntry:
    entry: str
    reason: str


@dataclass
class ImportReport:
    """What an import did with every entry of the archive."""

    assignment: str
    imported: list[ImportedFile] = field(default_factory=list)
    unmatched: list[UnmatchedEntry] = field(default_factory=list)
    """Entries whose LMS id is not in the roster: add them to the roster and import again."""
    skipped: list[SkippedEntry] = field(default_factory=list)
    """Entries not imported because something is wrong with them: someone must look."""
    superseded: list[SkippedEntry] = field(default_factory=list)
    """Older uploads of a file the student uploaded again: the ordinary case, not a problem."""
    missing_students: list[str] = field(default_factory=list)
    """Roster students with no imported notebook."""

    def summary(self) -> str:
        """A few lines for the terminal: counts, then every unmatched and skipped entry."""
        students = len({item.student_id for item in self.imported})
        lines = [
            f"{self.assignment}: imported {len(self.imported)} file(s) for {students} "
            f"student(s); {len(self.superseded)} older upload(s) replaced by a newer one; "
            f"{len(self.unmatched)} unmatched; {len(self.skipped)} skipped; "
            f"{len(self.missing_students)} roster student(s) without a file"
        ]
        lines += [f"  unmatched LMS id {u.lms_id}: {u.entry}" for u in self.unmatched]
        lines += [f"  skipped {s.entry}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)

    @property
    def problem(self) -> str:
        """Why someone must look (the reason for exit status 1), or ``""``."""
        if not (self.unmatched or self.skipped):
            return ""
        return (
            f"{len(self.unmatched) + len(self.skipped)} entries were not imported: add a row "
            "lms_id,student_id to the roster for each unmatched LMS id, check each skipped "
            "entry's reason, then collect again"
        )


# --- import -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Candidate:
    """An entry that passed every check and belongs to a known student."""

    info: zipfile.ZipInfo
    student_id: str
    lms_id: str
    name: str
    resubmission: int
    submission_id: int
    late: bool

    @property
    def newness(self) -> tuple[int, int, tuple[int, ...]]:
        # Canvas numbers re-uploads -1, -2, ...; its file ids grow with time; zip dates last.
        return (self.resubmission, self.submission_id, self.info.date_time)


def import_lms_zip(
    zip_path: str | os.PathLike[str],
    course_dir: str | os.PathLike[str],
    assignment: str,
    roster: Roster | Mapping[str, str] | str | os.PathLike[str],
    config: LmsImportConfig | None = None,
) -> ImportReport:
    """Unpack an LMS download into ``<course_dir>/submitted/<student>/<assignment>/``.

    ``roster`` is a :class:`Roster`, a ``{lms_id: student_id}`` mapping, or the path of
    a roster CSV. Raises :class:`LmsZipError` for an archive that cannot be read or
    exceeds the caps, :class:`RosterError` for a bad roster, ``ValueError`` for an
    assignment name unusable as a folder; nothing inside the archive raises.
    """
    config = config or LmsImportConfig()
    checked_name(assignment, "assignment")
    if isinstance(roster, Mapping):
        roster = Roster.from_mapping(roster)
    elif not isinstance(roster, Roster):
        roster = Roster.from_csv(roster)
    report = ImportReport(assignment)
    root = Path(course_dir) / SUBMITTED_DIR
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise LmsZipError(f"cannot open {zip_path} as a zip: {error}; download it again") from None
    with archive:
        infos = sorted(archive.infolist(), key=lambda i: i.filename)
        _check_archive(infos, config, zip_path)
        candidates = [c for i in infos if (c := _classify(i, roster, config, report))]
        for chosen in _newest(candidates, report):
            _extract(archive, chosen, root, assignment, config, report)
    done = {item.student_id for item in report.imported}
    report.missing_students = sorted({e.student_id for e in roster.entries.values()} - done)
    return report


def _check_archive(infos: list[zipfile.ZipInfo], config: LmsImportConfig, name: object) -> None:
    """Refuse a whole archive that declares more than the caps (a zip bomb or the wrong file)."""
    if len(infos) > config.max_entries:
        raise LmsZipError(
            f"{name} has {len(infos)} entries, more than max_entries={config.max_entries}; "
            "check it is the right download or raise the cap in LmsImportConfig"
        )
    total = sum(info.file_size for info in infos)
    if total > config.max_total_bytes:
        raise LmsZipError(
            f"{name} unpacks to {total} bytes, more than max_total_bytes="
            f"{config.max_total_bytes}; check it is the right download or raise the cap"
        )


def _classify(
    info: zipfile.ZipInfo, roster: Roster, config: LmsImportConfig, report: ImportReport
) -> _Candidate | None:
    """Check one entry; report it as skipped or unmatched, or return it as a candidate."""
    entry = info.filename

    def skip(reason: str) -> None:
        report.skipped.append(SkippedEntry(entry, reason))

    path = entry.replace("\\", "/")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if info.is_dir():
        return None
    if path.startswith("/") or _DRIVE.match(path) or ".." in parts or "\0" in path:
        return skip("unsafe path (absolute or containing '..'); not extracted")
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        return skip("symbolic link; not extracted")
    if file_type not in (0, stat.S_IFREG):
        return skip("not a regular file; not extracted")
    if any(part in _SYSTEM or part.startswith("._") for part in parts):
        return skip("system file added by the archiver")
    who = _whose(parts)
    if who is None:
        return skip("name shows no LMS id (expected <name>_<lmsid>_<id>_<file> or <lmsid>/<file>)")
    lms_id, submission_id, late, original = who
    if not _plain_name(original):
        return skip(f"file name {original!r} cannot be used")
    if PurePosixPath(original).suffix.lower() not in config.suffixes:
        return skip(f"not a notebook ({', '.join(config.suffixes)} files are imported)")
    if info.flag_bits & 0x1:
        return skip("encrypted; ask the student to resubmit without a password")
    if info.file_size > config.max_file_bytes:
        return skip(f"{info.file_size} bytes, over the {config.max_file_bytes}-byte cap")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= config.ratio_floor_bytes and ratio > config.max_ratio:
        return skip(f"compressed {ratio:.0f}:1, which suggests a zip bomb; not extracted")
    entry_in_roster = roster.entries.get(lms_id)
    if entry_in_roster is None:
        report.unmatched.append(UnmatchedEntry(lms_id, entry))
        return None
    name, resubmission = _strip_resubmission(original, config.expected_names)
    return _Candidate(
        info, entry_in_roster.student_id, lms_id, name, resubmission, submission_id, late
    )


def _whose(parts: list[str]) -> tuple[str, int, bool, str] | None:
    """(LMS id, LMS submission id or -1, late, original name) from an entry's path."""
    if not parts:
        return None
    match = _CANVAS.fullmatch(parts[-1])
    if match:
        return match["lms"], int(match["sub"]), bool(match["late"]), match["name"]
    if len(parts) >= 2 and re.fullmatch(r"[A-Za-z0-9_.@+\-]+", parts[-2]):
        return parts[-2], -1, False, parts[-1]
    return None


def _plain_name(name: str) -> bool:
    """A name safe to create: no hidden files, control characters or over-long names."""
    return (
        not name.startswith(".")
        and len(name.encode("utf-8")) <= 255
        and all(ch.isprintable() for ch in name)
    )


def _strip_resubmission(name: str, expected: tuple[str, ...]) -> tuple[str, int]:
    """``hw1-2.ipynb`` → (``hw1.ipynb``, 2); a name without a suffix → (name, 0)."""
    pure = PurePosixPath(name)
    match = _RESUBMISSION.fullmatch(pure.stem)
    if match is None or name in expected:
        return name, 0
    return match["base"] + pure.suffix, int(match["n"])


def _newest(candidates: list[_Candidate], report: ImportReport) -> list[_Candidate]:
    """One candidate per student and file name: the newest; older ones are reported."""
    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.student_id, candidate.name), []).append(candidate)
    chosen = []
    for group in groups.values():
        newest = max(group, key=lambda c: c.newness)
        chosen.append(newest)
        for older in group:
            if older is not newest:
                reason = f"older resubmission; {newest.info.filename} is newer"
                report.superseded.append(SkippedEntry(older.info.filename, reason))
    return chosen


def _extract(
    archive: zipfile.ZipFile,
    candidate: _Candidate,
    root: Path,
    assignment: str,
    config: LmsImportConfig,
    report: ImportReport,
) -> None:
    """Read one entry (never more than the cap, whatever its header says) and place it."""
    entry = candidate.info.filename
    try:
        with archive.open(candidate.info) as handle:
            data = handle.read(config.max_file_bytes + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError) as error:
        report.skipped.append(SkippedEntry(entry, f"cannot be extracted: {error}"))
        return
    if len(data) > config.max_file_bytes:
        report.skipped.append(SkippedEntry(entry, "larger than its header says; not extracted"))
        return
    target = root / candidate.student_id / assignment / candidate.name
    # A student folder that is a symlink out of submitted/ must not be written through.
    if not target.resolve().is_relative_to(root.resolve()):
        report.skipped.append(SkippedEntry(entry, f"{target} leads outside {root}"))
        return
    replaced = target.exists()
    try:
        atomic_write_bytes(target, data)
    except OSError as error:
        report.skipped.append(SkippedEntry(entry, f"could not write {target}: {error}"))
        return
    report.imported.append(
        ImportedFile(
            candidate.student_id,
            candidate.lms_id,
            candidate.name,
            target,
            entry,
            candidate.late,
            replaced,
        )
    )
