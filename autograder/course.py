"""The course and its terms as typed values: the one model the instructor tools and the
grader share, and the one error that says "fix this course file".

- :class:`Course` / :class:`Assignment` / :class:`NotebookEntry`: ``course/course.toml``
  (read by :func:`autograder.instructor.config.load_course`);
- :class:`Term`: ``course/terms/<term>.toml`` (read by
  :func:`autograder.instructor.terms.load_term`). A term workspace carries it to the
  grader as ``term.json``, written by :meth:`Term.write_json` and read back by
  :meth:`Term.read_json` through the same checks as the TOML (:meth:`Term.from_table`);
- :class:`LatePolicy`: what late work costs, priced against a due instant;
- ``forbidden_calls``: what a graded call into a module its exercise forbids costs
  (:data:`FORBIDDEN_POLICIES`).

Every problem raises :class:`CourseError`; the message names the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

from autograder.files import NOTEBOOK_SUFFIX, SPECS_SUFFIX, write_if_changed
from autograder.intake.validate import IntakeConfig

COURSE_FILE = Path("course") / "course.toml"
"""The course definition, under the repository root."""
DEFAULT_RUNTIME_BUDGET = 120
DEFAULT_TIMEZONE = "UTC"
END_OF_DAY = time(23, 59, 59)
SECONDS_PER_DAY = 24 * 60 * 60
FORBIDDEN_FLAG = "flag"
"""Calls into an exercise's forbidden modules are shown and flagged, and cost nothing."""
FORBIDDEN_ZERO = "zero"
"""Each case whose call used a forbidden module scores as failed (and is flagged)."""
FORBIDDEN_POLICIES = (FORBIDDEN_FLAG, FORBIDDEN_ZERO)
_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


class CourseError(ValueError):
    """The course is unusable as configured (a course or term file, the nbgrader course
    folder, a grading option); the message names the file or option, the key and the fix."""


# --- the course --------------------------------------------------------------------------
@dataclass(frozen=True)
class NotebookEntry:
    """One notebook of an assignment."""

    name: str
    """File name without ``.ipynb``; the specs file is ``<name>.specs.py`` next to it."""
    points: float
    """The notebook's maximum score (autograded and manually graded), as its template says."""
    needs_gpu: bool = False
    """Graded only on a GPU runner; without one its proof is reported as awaiting a GPU."""
    runtime_budget: int = DEFAULT_RUNTIME_BUDGET
    """Seconds the solution may take to run top to bottom in the sandbox."""


@dataclass(frozen=True)
class Assignment:
    """One assignment: where its source lives and where its release goes."""

    name: str
    notebooks: tuple[NotebookEntry, ...]
    source: Path
    """Absolute folder of the source notebooks (default ``<root>/solutions/<name>``)."""
    release: Path
    """Absolute folder the release is written to (default ``<root>/assignments/<name>``)."""

    def notebook_path(self, notebook: NotebookEntry) -> Path:
        return self.source / f"{notebook.name}{NOTEBOOK_SUFFIX}"

    def specs_path(self, notebook: NotebookEntry) -> Path:
        return self.source / f"{notebook.name}{SPECS_SUFFIX}"


@dataclass(frozen=True)
class Course:
    """The whole course definition; ``root`` is the repository root."""

    course_id: str
    assignments: tuple[Assignment, ...]
    root: Path
    intake: IntakeConfig = IntakeConfig()
    """``[intake]``: what the grader reads of a submission at most (see :func:`intake_caps`)."""

    def require_assignments(self) -> tuple[Assignment, ...]:
        """The assignments; a course that lists none yet is an error naming the fix."""
        if not self.assignments:
            raise CourseError(
                f"{self.root / COURSE_FILE} lists no assignments yet: add an "
                "[[assignments]] table (with its [[assignments.notebooks]]) for each one, "
                "in course order"
            )
        return self.assignments

    def assignment(self, name: str) -> Assignment:
        self.require_assignments()
        for assignment in self.assignments:
            if assignment.name == name:
                return assignment
        known = ", ".join(a.name for a in self.assignments)
        raise CourseError(
            f"course.toml: no assignment named {name!r} (assignments: {known}); "
            "add a [[assignments]] table for it or fix the name"
        )


# --- late work ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LatePolicy:
    """How late submissions are scored, per notebook (as nbgrader's late plugins do).

    A submission at or before the due instant loses nothing; otherwise it is late by
    ``ceil(seconds late / 1 day)`` started days. Up to ``max_late_days`` it loses
    ``late_penalty_per_day`` of its score per day (never more than the score); later
    work loses its whole score (it is recorded, so a TA can still see it).
    """

    late_penalty_per_day: float = 0.0
    """Fraction of the score lost per started day after the due instant, in [0, 1]."""
    max_late_days: int = 0
    """Late days still accepted with a penalty; later work scores zero."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.late_penalty_per_day <= 1.0 or self.max_late_days < 0:
            raise ValueError(
                "late_penalty_per_day must be in [0, 1] and max_late_days >= 0, got "
                f"{self.late_penalty_per_day!r} and {self.max_late_days!r}"
            )

    @staticmethod
    def days_late(due: datetime, timestamp: datetime) -> int:
        """Started days of ``timestamp`` after ``due`` (both naive UTC; 0 when on time)."""
        if due.tzinfo is not None or timestamp.tzinfo is not None:
            raise ValueError("due and timestamp must be naive UTC datetimes, as nbgrader stores")
        seconds = (timestamp - due).total_seconds()
        return 0 if seconds <= 0 else math.ceil(seconds / SECONDS_PER_DAY)

    def penalty(self, due: datetime, score: float, timestamp: datetime | None) -> float:
        """Points lost by a notebook that scored ``score`` and came in at ``timestamp``.

        No timestamp (nothing says when it came in) means no penalty. Rounded to 0.01.
        """
        if timestamp is None or score <= 0:
            return 0.0
        days = self.days_late(due, timestamp)
        if days == 0:
            return 0.0
        if days > self.max_late_days:
            return float(score)
        # Rounded to hundredths of a point, as people read it: 42 * 0.3 is not 12.600000000000001.
        return round(min(score, score * self.late_penalty_per_day * days), 2)


# --- the term ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AssignmentDates:
    release: date
    due: date


@dataclass(frozen=True)
class Term:
    """One run of the course."""

    term_id: str
    seed: int
    """Per-term randomness of every input a student is graded on (the course team's secret:
    ``course/secrets/<term>.toml``, never committed or released)."""
    dates: dict[str, AssignmentDates] = field(default_factory=dict)
    """Release and due date per assignment name."""
    late_policy: LatePolicy | None = None
    """None: the term file has no ``[late_policy]``, and late work is not penalized."""
    timezone: str = DEFAULT_TIMEZONE
    """IANA time zone in which due dates end."""
    forbidden_calls: str = FORBIDDEN_FLAG
    """What a graded call into a module its exercise forbids costs (``flag`` or ``zero``)."""
    visible_seed: int | None = None
    """Public randomness of the visible checks shipped with the release (None: ``seed``,
    the old single-seed term files)."""

    @property
    def public_seed(self) -> int:
        """The seed of the shipped visible checks: grading never draws from it."""
        return self.seed if self.visible_seed is None else self.visible_seed

    intake: IntakeConfig = IntakeConfig()
    """The course's intake caps, carried to the grader in ``term.json``."""

    def due_instant(self, assignment: str) -> datetime | None:
        """When ``assignment`` is due, as naive UTC (nbgrader's convention); None if no date."""
        dates = self.dates.get(assignment)
        if dates is None:
            return None
        local = datetime.combine(dates.due, END_OF_DAY, tzinfo=_zone(self.timezone))
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    def late_penalty(self, assignment: str, score: float, timestamp: datetime | None) -> float:
        """Points a notebook of ``assignment`` loses for lateness (0 without a policy or date)."""
        due = self.due_instant(assignment)
        if due is None or self.late_policy is None:
            return 0.0
        return self.late_policy.penalty(due, score, timestamp)

    @classmethod
    def from_table(cls, top: Table, *, term_id: str | None = None) -> Term:
        """The term in ``top`` (a term file's top table); ``term_id``: the id it must have."""
        top.only(
            [
                "term_id",
                "seed",
                "visible_seed",
                "timezone",
                "late_policy",
                "forbidden_calls",
                "intake",
                "assignments",
            ]
        )
        found = top.get("term_id", str, ... if term_id is not None else "", f'"{term_id}"')
        if term_id is not None and found != term_id:
            raise top.error(f"term_id {found!r} differs from the file name: rename one to match")
        seed = top.get("seed", int, example="<an integer, e.g. from new-term>")
        visible_seed = top.get("visible_seed", int, None)
        zone = top.get("timezone", str, DEFAULT_TIMEZONE)
        try:
            _zone(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise top.error(
                f"timezone {zone!r} is not an IANA time zone name such as 'UTC' or 'Europe/Berlin'"
            ) from None
        policy = None
        if "late_policy" in top.data:
            late = top.sub("late_policy")
            late.only(["late_penalty_per_day", "max_late_days"])
            try:
                policy = LatePolicy(
                    late.get("late_penalty_per_day", float, 0.0), late.get("max_late_days", int, 0)
                )
            except ValueError as error:
                raise late.error(str(error)) from None
        forbidden = top.get("forbidden_calls", str, FORBIDDEN_FLAG)
        if forbidden not in FORBIDDEN_POLICIES:
            raise top.error(
                f"forbidden_calls must be {' or '.join(map(repr, FORBIDDEN_POLICIES))}, "
                f"got {forbidden!r}"
            )
        assignments = top.sub("assignments")
        dates = {name: _dates(assignments.sub(name)) for name in assignments.data}
        return cls(found, seed, dates, policy, zone, forbidden, visible_seed, intake_caps(top))

    def to_dict(self) -> dict[str, Any]:
        """The term with the keys of its TOML file (dates as ISO strings); JSON-ready."""
        data: dict[str, Any] = {"term_id": self.term_id, "seed": self.seed}
        if self.visible_seed is not None:
            data["visible_seed"] = self.visible_seed
        if self.timezone != DEFAULT_TIMEZONE:
            data["timezone"] = self.timezone
        if self.late_policy is not None:
            data["late_policy"] = {
                "late_penalty_per_day": self.late_policy.late_penalty_per_day,
                "max_late_days": self.late_policy.max_late_days,
            }
        if self.forbidden_calls != FORBIDDEN_FLAG:
            data["forbidden_calls"] = self.forbidden_calls
        data["assignments"] = {
            name: {"release": d.release.isoformat(), "due": d.due.isoformat()}
            for name, d in self.dates.items()
        }
        if self.intake != IntakeConfig():
            data["intake"] = {
                "max_notebook_bytes": self.intake.max_bytes,
                "max_submission_files": self.intake.max_files,
            }
        return data

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write ``path`` (a workspace's ``term.json``) when its content would change."""
        write_if_changed(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def read_json(cls, path: str | os.PathLike[str]) -> Term:
        """The term in ``path``, checked as a term file is (a bare ``{"seed": N}`` is a
        term too: no dates, no late policy)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CourseError(
                f'cannot read {path} ({error}): it must hold {{"seed": N}} with an integer N'
            ) from error
        return cls.from_table(Table(str(path), "", data))


def intake_caps(top: Table) -> IntakeConfig:
    """The optional ``[intake]`` table of ``top``: ``max_notebook_bytes`` (a notebook
    larger is not read) and ``max_submission_files`` (a submission folder holding more
    is not looked into); the defaults are :class:`IntakeConfig`'s."""
    if "intake" not in top.data:
        return IntakeConfig()
    table = top.sub("intake")
    table.only(["max_notebook_bytes", "max_submission_files"])
    caps = IntakeConfig(
        table.get("max_notebook_bytes", int, IntakeConfig.max_bytes),
        table.get("max_submission_files", int, IntakeConfig.max_files),
    )
    if caps.max_bytes < 1 or caps.max_files < 1:
        raise table.error("max_notebook_bytes and max_submission_files must be at least 1")
    return caps


def _zone(name: str) -> tzinfo:
    """``name`` as a time zone; UTC needs no time zone database."""
    return timezone.utc if name == DEFAULT_TIMEZONE else ZoneInfo(name)


def _dates(table: Table) -> AssignmentDates:
    table.only(["release", "due"])
    release, due = _date(table, "release"), _date(table, "due")
    if due < release:
        raise table.error(f"due {due} is before release {release}: fix one of them")
    return AssignmentDates(release, due)


def _date(table: Table, key: str) -> date:
    value = table.get(key, object, example="2026-09-07")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise table.error(f"{key!r} must be an ISO date such as 2026-09-07, got {value!r}")


# --- reading course files ----------------------------------------------------------------
def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a :class:`CourseError` saying why it cannot be read."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise CourseError(f"{path} does not exist: create it (see docs/INSTRUCTORS.md)") from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CourseError(f"{path.name}: cannot be read as TOML ({error})") from error


class Table:
    """One table being read; ``where`` is its path, e.g. ``assignments[1].notebooks[0]``."""

    def __init__(self, file: str, where: str, data: object) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, Mapping):
            raise self.error(f"must be a table, got {_describe(data)}")
        self.data: Mapping[str, Any] = data

    def error(self, message: str) -> CourseError:
        prefix = f"{self.file}: {self.where}: " if self.where else f"{self.file}: "
        return CourseError(prefix + message)

    def only(self, known: Iterable[str]) -> None:
        """Refuse keys outside ``known``, suggesting the closest known key."""
        known = list(known)
        for key in self.data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                raise self.error(f"unknown key {key!r} ({hint})")

    def get(self, key: str, kind: type, default: Any = ..., example: str = "") -> Any:
        """The value of ``key`` checked against ``kind``; ``default`` when it is optional."""
        if key not in self.data:
            if default is not ...:
                return default
            fix = f": add {key} = {example}" if example else ""
            raise self.error(f"missing required key {key!r}{fix}")
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            wanted = _TYPE_NAMES.get(kind, kind.__name__)
            raise self.error(f"{key!r} must be {wanted}, got {_describe(value)}")
        return value

    def tables(self, key: str, required: bool = True) -> list[Table]:
        """The array of tables under ``key`` (``[[key]]`` in TOML)."""
        if key not in self.data:
            if required:
                raise self.error(f"missing required key {key!r}: add at least one [[{key}]] table")
            return []
        items = self.data[key]
        if not isinstance(items, list):
            raise self.error(
                f"{key!r} must be an array of tables ([[{key}]]), got {_describe(items)}"
            )
        prefix = f"{self.where}." if self.where else ""
        return [Table(self.file, f"{prefix}{key}[{i}]", item) for i, item in enumerate(items)]

    def sub(self, key: str) -> Table:
        """The table under ``key``, empty when absent."""
        prefix = f"{self.where}." if self.where else ""
        return Table(self.file, f"{prefix}{key}", self.data.get(key, {}))


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"
