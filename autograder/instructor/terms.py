"""Term files, ``course/terms/<term_id>.toml``: the seed, the dates and the late policy.

Example::

    term_id = "2026-fall"          # must equal the file name
    visible_seed = 8137264019       # public: the visible checks shipped with the release
    timezone = "Europe/Berlin"      # where due dates end (IANA name; default "UTC")

    [late_policy]                   # without this table, late work is not penalized
    late_penalty_per_day = 0.1      # fraction of the score lost per started late day
    max_late_days = 3               # later than this scores zero (default 0)

    [assignments.a1]
    release = 2026-09-07            # TOML dates (or "2026-09-07" strings)
    due = 2026-09-21                # work is due by 23:59:59 of this day, in `timezone`

``course/current_term`` is a one-line file naming the term in use.

The seed of every input a student is graded on is the course team's secret: it lives in
``course/secrets/<term_id>.toml`` (``seed = N``; ``course/secrets/`` is git-ignored and
never released), written by :func:`new_term`. A clone without it (CI, a new machine)
gets a fresh one on first use, with a sentence on stderr: copy the course team's file
there before grading a term that was graded elsewhere. An old term file with ``seed``
and no ``visible_seed`` still reads (one seed for both), but must not be committed.
"""

from __future__ import annotations

import os
import secrets
import sys
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
SECRETS_DIR = Path("course") / "secrets"
"""The course team's hidden seeds, ``<term_id>.toml``; git-ignored, never released."""
DEFAULT_SHIFT_DAYS = 52 * 7
SEED_BITS = 63


def term_path(course_dir: str | os.PathLike[str], term_id: str) -> Path:
    return Path(course_dir) / TERMS_DIR / f"{term_id}.toml"


def secret_path(course_dir: str | os.PathLike[str], term_id: str) -> Path:
    return Path(course_dir) / SECRETS_DIR / f"{term_id}.toml"


def load_term(path: str | os.PathLike[str], *, secret: bool = True) -> Term:
    """Read and check a term file (its ``term_id`` must be the file name), with its secret
    seed from ``course/secrets/`` (created when missing, see the module docstring).

    ``secret=False``: for callers that use no seed (a new term's dates, the sync check);
    the term's ``seed`` is then its public one and must not draw graded inputs.
    """
    path = Path(path)
    data = dict(read_toml(path))
    if "visible_seed" in data:
        if "seed" in data:
            raise CourseError(
                f"terms/{path.name}: 'seed' is the secret of the hidden inputs and must not be "
                f"in a committed term file: move the line `seed = ...` to "
                f"{SECRETS_DIR / path.name} (git-ignored)"
            )
        root = path.parent.parent.parent
        data["seed"] = _secret_seed(root, path.stem) if secret else data["visible_seed"]
    return Term.from_table(Table(f"terms/{path.name}", "", data), term_id=path.stem)


def _secret_seed(course_dir: Path, term_id: str) -> int:
    """The term's secret seed; a fresh one, written and announced, when there is none."""
    path = secret_path(course_dir, term_id)
    if path.is_file():
        return Table(str(path), "", read_toml(path)).get("seed", int, example="<an integer>")
    seed = secrets.randbits(SEED_BITS)
    _write_secret(path, seed)
    print(
        f"note: {path} was missing, so term {term_id!r} got a fresh secret seed there: if this "
        "term was already graded elsewhere, copy the course team's file over it before grading",
        file=sys.stderr,
    )
    return seed


def _write_secret(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():  # ignored even where the repository's .gitignore is not copied
        ignore.write_text("# The course team's secret seeds: never commit or release.\n*\n")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"# The secret seed of term {path.stem}'s graded inputs.\nseed = {seed}\n")


def current_term(
    course_dir: str | os.PathLike[str], *, secret: bool = True, term_id: str | None = None
) -> Term:
    """The term ``term_id``, by default the one named in ``course/current_term``
    (``secret``: as :func:`load_term`)."""
    marker = Path(course_dir) / CURRENT_TERM_FILE
    named_by = "the term id"
    if term_id is None:
        try:
            term_id = marker.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise CourseError(
                f"{marker} does not exist: write the current term id into it "
                "(e.g. `echo 2026-fall > course/current_term`)"
            ) from None
        if not is_usable_name(term_id):
            raise CourseError(f"{marker} must hold one term id on one line, got {term_id!r}")
        named_by = "current_term"
    path = term_path(course_dir, term_id)
    if not path.is_file():
        raise CourseError(
            f"term {term_id!r} has no file {path}: create it with "
            f"`python -m autograder.instructor new-term {term_id}` or fix {named_by}"
        )
    return load_term(path, secret=secret)


def new_term(
    course_dir: str | os.PathLike[str],
    term_id: str,
    from_term: str | None = None,
    shift_days: int | None = None,
    *,
    make_current: bool = False,
) -> Path:
    """Write ``course/terms/<term_id>.toml`` from ``from_term`` (default: the current term).

    Both seeds are fresh (the secret one goes to ``course/secrets/<term_id>.toml``); every
    date moves by ``shift_days`` (default 52 weeks), which
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
        current_term(course_dir, secret=False)
        if from_term is None
        else load_term(term_path(course_dir, from_term), secret=False)
    )
    term = Term(
        term_id=term_id,
        seed=secrets.randbits(SEED_BITS),
        visible_seed=secrets.randbits(SEED_BITS),
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
    _write_secret(secret_path(course_dir, term_id), term.seed)
    if make_current:
        (Path(course_dir) / CURRENT_TERM_FILE).write_text(term_id + "\n", encoding="utf-8")
    return target


def render_term(term: Term) -> str:
    """The term as a TOML file that :func:`load_term` reads back unchanged (its secret
    ``seed`` is left out when the term has a ``visible_seed``)."""
    seed = (
        f"seed = {term.seed}"
        if term.visible_seed is None
        else f"visible_seed = {term.visible_seed}"
    )
    lines = [f'term_id = "{term.term_id}"', seed]
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
