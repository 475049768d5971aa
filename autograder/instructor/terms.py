"""Term files, ``course/terms/<term_id>.toml``: the seed, the dates and the late policy.

Example::

    term_id = "2026-fall"          # must equal the file name
    seed = 8137264019               # per-term randomness of hidden-test inputs
    timezone = "Europe/Berlin"      # where due dates end (IANA name; default "UTC")

    [late_policy]                   # without this table, late work is not penalized
    late_penalty_per_day = 0.1      # fraction of the score lost per started late day
    max_late_days = 3               # later than this scores zero (default 0)

    [assignments.a1]
    release = 2026-09-07            # TOML dates (or "2026-09-07" strings)
    due = 2026-09-21                # work is due by 23:59:59 of this day, in `timezone`

``course/current_term`` is a one-line file naming the term in use.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from autograder.instructor.errors import CourseFileError
from autograder.instructor.tomlfields import Table, read_toml

TERMS_DIR = Path("course") / "terms"
CURRENT_TERM_FILE = Path("course") / "current_term"
DEFAULT_SHIFT_DAYS = 52 * 7
SEED_BITS = 63
DEFAULT_TIMEZONE = "UTC"
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class LatePolicy:
    """How late submissions are scored."""

    late_penalty_per_day: float = 0.0
    """Fraction of the score lost per started day after the due date."""
    max_late_days: int = 0
    """Days after the due date a submission is still accepted."""


@dataclass(frozen=True)
class AssignmentDates:
    release: date
    due: date


@dataclass(frozen=True)
class Term:
    """One run of the course."""

    term_id: str
    seed: int
    dates: dict[str, AssignmentDates] = field(default_factory=dict)
    """Release and due date per assignment name."""
    late_policy: LatePolicy | None = None
    """None: the term file has no ``[late_policy]``, and late work is not penalized."""
    timezone: str = DEFAULT_TIMEZONE
    """IANA time zone in which due dates end."""

    def due_instant(self, assignment: str) -> datetime | None:
        """When ``assignment`` is due, as naive UTC (nbgrader's convention); None if no date."""
        dates = self.dates.get(assignment)
        if dates is None:
            return None
        local = datetime.combine(dates.due, END_OF_DAY, tzinfo=_zone(self.timezone))
        return local.astimezone(timezone.utc).replace(tzinfo=None)


def term_path(course_dir: str | os.PathLike[str], term_id: str) -> Path:
    return Path(course_dir) / TERMS_DIR / f"{term_id}.toml"


def load_term(path: str | os.PathLike[str]) -> Term:
    """Read and check a term file."""
    path = Path(path)
    file = f"terms/{path.name}"
    top = Table(file, "", read_toml(path))
    top.only(["term_id", "seed", "timezone", "late_policy", "assignments"])
    term_id = top.get("term_id", str, example=f'"{path.stem}"')
    if term_id != path.stem:
        raise top.error(f"term_id {term_id!r} differs from the file name: rename one to match")
    seed = top.get("seed", int, example="<an integer, e.g. from new-term>")
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
        policy = LatePolicy(
            late.get("late_penalty_per_day", float, 0.0), late.get("max_late_days", int, 0)
        )
        if not 0 <= policy.late_penalty_per_day <= 1 or policy.max_late_days < 0:
            raise late.error("late_penalty_per_day must be in [0, 1] and max_late_days >= 0")
    assignments = top.sub("assignments")
    dates = {name: _dates(assignments.sub(name)) for name in assignments.data}
    return Term(term_id, seed, dates, policy, zone)


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
    elif isinstance(value, date) and not hasattr(value, "hour"):
        return value
    raise table.error(f"{key!r} must be an ISO date such as 2026-09-07, got {value!r}")


def current_term(course_dir: str | os.PathLike[str]) -> Term:
    """The term named in ``course/current_term``."""
    marker = Path(course_dir) / CURRENT_TERM_FILE
    try:
        term_id = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise CourseFileError(
            f"{marker} does not exist: write the current term id into it "
            "(e.g. `echo 2026-fall > course/current_term`)"
        ) from None
    if not term_id or "/" in term_id or "\n" in term_id:
        raise CourseFileError(f"{marker} must hold one term id on one line, got {term_id!r}")
    path = term_path(course_dir, term_id)
    if not path.is_file():
        raise CourseFileError(
            f"current_term names {term_id!r} but {path} does not exist: create it with "
            f"`python -m autograder.instructor new-term {term_id}` or fix current_term"
        )
    return load_term(path)


def new_term(
    course_dir: str | os.PathLike[str],
    term_id: str,
    from_term: str | None = None,
    shift_days: int | None = None,
    *,
    make_current: bool = False,
) -> Path:
    """Write ``course/terms/<term_id>.toml`` from ``from_term`` (default: the current term).

    The seed is fresh; every date moves by ``shift_days`` (default 52 weeks), which
    must be whole weeks so deadlines stay on the same weekday. An existing file is
    never overwritten.
    """
    if not term_id or "/" in term_id or term_id.startswith("."):
        raise CourseFileError(f"term id {term_id!r} must be a plain name such as '2027-fall'")
    target = term_path(course_dir, term_id)
    if target.exists():
        raise CourseFileError(f"{target} already exists: pick another term id or delete it first")
    shift = DEFAULT_SHIFT_DAYS if shift_days is None else shift_days
    if shift % 7:
        raise CourseFileError(f"shift of {shift} days is not whole weeks: use a multiple of 7")
    base = (
        current_term(course_dir)
        if from_term is None
        else load_term(term_path(course_dir, from_term))
    )
    term = Term(
        term_id=term_id,
        seed=secrets.randbits(SEED_BITS),
        dates={
            name: AssignmentDates(d.release + timedelta(shift), d.due + timedelta(shift))
            for name, d in base.dates.items()
        },
        late_policy=base.late_policy,
        timezone=base.timezone,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as handle:  # "x": never overwrite
        handle.write(render_term(term))
    if make_current:
        (Path(course_dir) / CURRENT_TERM_FILE).write_text(term_id + "\n", encoding="utf-8")
    return target


def render_term(term: Term) -> str:
    """The term as a TOML file that :func:`load_term` reads back unchanged."""
    lines = [f'term_id = "{term.term_id}"', f"seed = {term.seed}"]
    if term.timezone != DEFAULT_TIMEZONE:
        lines.append(f'timezone = "{term.timezone}"')
    if term.late_policy is not None:
        lines += [
            "",
            "[late_policy]",
            f"late_penalty_per_day = {term.late_policy.late_penalty_per_day!r}",
            f"max_late_days = {term.late_policy.max_late_days}",
        ]
    for name, dates in term.dates.items():
        lines += ["", f'[assignments."{name}"]', f"release = {dates.release}", f"due = {dates.due}"]
    return "\n".join(lines) + "\n"
