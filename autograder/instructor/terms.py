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
from datetime import timedelta
from pathlib import Path

from autograder.course import (
    DEFAULT_TIMEZONE,
    FORBIDDEN_FLAG,
    AssignmentDates,
    CourseError,
    Table,
    Term,
    read_toml,
)
from autograder.files import is_usable_name

TERMS_DIR = Path("course") / "terms"
CURRENT_TERM_FILE = Path("course") / "current_term"
DEFAULT_SHIFT_DAYS = 52 * 7
SEED_BITS = 63


def term_path(course_dir: str | os.PathLike[str], term_id: str) -> Path:
    return Path(course_dir) / TERMS_DIR / f"{term_id}.toml"


def load_term(path: str | os.PathLike[str]) -> Term:
    """Read and check a term file (its ``term_id`` must be the file name)."""
    path = Path(path)
    return Term.from_table(Table(f"terms/{path.name}", "", read_toml(path)), term_id=path.stem)


def current_term(course_dir: str | os.PathLike[str]) -> Term:
    """The term named in ``course/current_term``."""
    marker = Path(course_dir) / CURRENT_TERM_FILE
    try:
        term_id = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise CourseError(
            f"{marker} does not exist: write the current term id into it "
            "(e.g. `echo 2026-fall > course/current_term`)"
        ) from None
    if not is_usable_name(term_id):
        raise CourseError(f"{marker} must hold one term id on one line, got {term_id!r}")
    path = term_path(course_dir, term_id)
    if not path.is_file():
        raise CourseError(
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
    if not is_usable_name(term_id):
        raise CourseError(f"term id {term_id!r} must be a plain name such as '2027-fall'")
    target = term_path(course_dir, term_id)
    if target.exists():
        raise CourseError(f"{target} already exists: pick another term id or delete it first")
    shift = DEFAULT_SHIFT_DAYS if shift_days is None else shift_days
    if shift % 7:
        raise CourseError(f"shift of {shift} days is not whole weeks: use a multiple of 7")
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
    if term.forbidden_calls != FORBIDDEN_FLAG:
        lines.append(f'forbidden_calls = "{term.forbidden_calls}"')
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
