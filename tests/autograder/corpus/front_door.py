"""Front-door attacks: what students do through the course's own doors, graded as a course
team grades, with the instructor commands (``collect --exchange``, then ``grade``).

Unlike the rest of the corpus (hostile code in the sandbox, on the fixture notebook),
these need no sandbox escape and run against a real course notebook,
``solutions/a1/losses``, in a temporary course whose term was due yesterday (10% per
started day late) and prices forbidden calls at zero (``forbidden_calls = "zero"``, the
notebook's exercises declaring ``forbid=("torch", "scipy")``):

- ``exchange-forged-timestamp``: late work submitted through nbgrader's exchange, then
  its folder renamed to an early stamp, ``timestamp.txt`` rewritten and every file's
  modification time set before the due date. Honest: the late penalty;
- ``exchange-classmate-name``: after a classmate submitted, another account submits a
  blank notebook under the classmate's name (``--student``). Honest: the classmate keeps
  their score, the impostor's folder is refused;
- ``numpy-exercise-in-torch``: ``mse_loss`` of the NumPy notebook written with torch.
  Honest: its test scores 0 and the run flags it.

Submissions go through nbgrader's own exchange code; each folder is then given to the
account that would have made it (``chown``), so building them needs root. Used by
``tests/autograder/test_front_door.py`` and ``benchmarks/bench_adversarial.py``.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from pathlib import Path

import nbformat

from autograder.driver import GradingSummary
from autograder.files import is_usable_name
from autograder.instructor.collect import ExchangeReport, collect_exchange
from autograder.instructor.grading import export, grade

REPO = Path(__file__).resolve().parents[3]
ASSIGNMENT = "a1"
NOTEBOOK = "losses"
COURSE_ID = "dlcourse-front-door"
PENALTY_PER_DAY = 0.1
TORCH_TEST = "mse_loss_test"
TORCH_ANSWER = """\
import torch

def mse_loss(y_hat, y):
    diff = torch.as_tensor(y_hat) - torch.as_tensor(y)
    return float((diff**2).mean()), (2 * diff / diff.numel()).numpy()
"""
STALE_STAMP = "2000-01-01 00:00:00.000000 UTC"


class FrontDoorClass(str, Enum):
    """The benchmark's classes of front-door attacks (the sandbox attacks' classes are
    :class:`corpus.draft.AttackClass`)."""

    SUBMISSION_TIME = "submission_time"
    IDENTITY = "identity"
    FORBIDDEN_MODULE = "forbidden_module"


@dataclass(frozen=True)
class FrontDoorOutcome:
    """One attack: the score an honest course gives, and the score it obtained."""

    id: str
    kind: FrontDoorClass
    summary: str
    honest: float
    obtained: float

    @property
    def harmful(self) -> bool:
        return abs(self.obtained - self.honest) > 1e-6


@dataclass(frozen=True)
class FrontDoorRun:
    outcomes: list[FrontDoorOutcome]
    collected: ExchangeReport
    summary: GradingSummary
    accounts: dict[str, str]
    """Role (victim, impostor, latecomer, torch) -> the account (= student id) playing it."""


def can_build() -> str | None:
    """Why the front door cannot be built here (None when it can)."""
    if os.geteuid() != 0:
        return "giving exchange folders to their students' accounts needs root"
    if len(_accounts()) < 4:
        return "needs four named accounts on this machine"
    return None


def _accounts() -> list[str]:
    """Existing accounts whose names are usable student ids, root left out."""
    names = sorted((p.pw_uid, p.pw_name) for p in pwd.getpwall() if p.pw_uid != 0)
    return [name for _, name in names if is_usable_name(name)][:4]


def autograded_points(notebook: Path) -> dict[str, float]:
    """Points of each autograded test cell, read from the notebook's nbgrader metadata."""
    cells = nbformat.read(notebook, as_version=4).cells
    points = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            points[meta["grade_id"]] = float(meta["points"])
    return points


def _course(root: Path, today: date) -> Path:
    source = root / "solutions" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(REPO / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", source)
    specs = (REPO / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.specs.py").read_text()
    specs += (
        "\nimport dataclasses as _dataclasses\n\n"
        'SPECS = [_dataclasses.replace(s, forbid=("torch", "scipy")) for s in SPECS]\n'
    )
    (source / f"{NOTEBOOK}.specs.py").write_text(specs)
    points = sum(autograded_points(source / f"{NOTEBOOK}.ipynb").values())
    manual = _manual_points(source / f"{NOTEBOOK}.ipynb")
    (root / "course" / "terms").mkdir(parents=True)
    (root / "course" / "course.toml").write_text(
        f'course_id = "{COURSE_ID}"\n\n[[assignments]]\nname = "{ASSIGNMENT}"\n\n'
        f'[[assignments.notebooks]]\nname = "{NOTEBOOK}"\npoints = {points + manual:g}\n'
    )
    (root / "course" / "terms" / "front.toml").write_text(
        'term_id = "front"\nseed = 20261207\nforbidden_calls = "zero"\n\n'
        f"[late_policy]\nlate_penalty_per_day = {PENALTY_PER_DAY}\nmax_late_days = 3\n\n"
        f"[assignments.{ASSIGNMENT}]\nrelease = {today - timedelta(days=14)}\n"
        f"due = {today - timedelta(days=1)}\n"
    )
    (root / "course" / "current_term").write_text("front\n")
    return root


def _manual_points(notebook: Path) -> float:
    cells = nbformat.read(notebook, as_version=4).cells
    return sum(
        float(cell.metadata["nbgrader"].get("points", 0))
        for cell in cells
        if cell.metadata.get("nbgrader", {}).get("solution")
        and cell.metadata["nbgrader"].get("grade")
    )


def submit(
    exchange: Path, home: Path, claimed: str, owner: str, notebook: nbformat.NotebookNode
) -> Path:
    """``nbgrader submit`` of ``notebook`` under the name ``claimed``, made by ``owner``."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeSubmit

    work = home / owner
    (work / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, work / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    inbound = exchange / COURSE_ID / "inbound"
    before = set(os.listdir(inbound))
    coursedir = CourseDirectory(course_id=COURSE_ID, assignment_id=ASSIGNMENT, student_id=claimed)
    ExchangeSubmit(
        coursedir=coursedir,
        authenticator=Authenticator(),
        root=str(exchange),
        cache=str(home / ".cache" / owner),
        assignment_dir=str(work),
    ).start()
    (made,) = set(os.listdir(inbound)) - before
    folder = inbound / made
    account = pwd.getpwnam(owner)
    for path in [folder, *folder.iterdir()]:
        os.chown(path, account.pw_uid, account.pw_gid)
    return folder


def forge_time(folder: Path) -> Path:
    """What the owner of a late submission can do to it: an early name, timestamp.txt and
    modification times. Returns the renamed folder."""
    student, assignment, _, *rest = folder.name.split("+")
    renamed = folder.with_name("+".join([student, assignment, STALE_STAMP, *rest]))
    folder.rename(renamed)
    (renamed / "timestamp.txt").write_text(STALE_STAMP)
    early = 946_684_800  # 2000-01-01 UTC
    for path in [*renamed.iterdir(), renamed]:
        os.utime(path, (early, early))
    return renamed


def run_front_door(workdir: Path, *, workers: int = 1) -> FrontDoorRun:
    """Build the three attacks in ``workdir`` (empty), collect, grade, and measure."""
    reason = can_build()
    if reason is not None:
        raise RuntimeError(f"the front-door attacks cannot be built here: {reason}")
    today = date.today()
    root = _course(workdir / "repo", today)
    exchange = workdir / "exchange"
    (exchange / COURSE_ID / "inbound").mkdir(parents=True)
    (exchange / COURSE_ID / "outbound" / ASSIGNMENT).mkdir(parents=True)
    os.chmod(exchange, 0o777)
    os.chmod(exchange / COURSE_ID / "inbound", 0o733)  # as nbgrader's docs set it up
    home = workdir / "home"
    roles = dict(zip(("victim", "impostor", "latecomer", "torch"), _accounts(), strict=True))
    solution = nbformat.read(root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    torch_answer = nbformat.from_dict(json.loads(json.dumps(solution)))
    for cell in torch_answer.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "mse_loss":
            cell.source = TORCH_ANSWER
    submit(exchange, home, roles["victim"], roles["victim"], solution)
    submit(exchange, home, roles["victim"], roles["impostor"], nbformat.v4.new_notebook())
    forge_time(submit(exchange, home, roles["latecomer"], roles["latecomer"], solution))
    submit(exchange, home, roles["torch"], roles["torch"], torch_answer)

    collected = collect_exchange(ASSIGNMENT, exchange, root)
    summary = grade(ASSIGNMENT, root, workers=workers, progress=False)
    rows = _grades(export(root, out_dir=workdir / "export").grades_csv)
    points = autograded_points(root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    full = sum(points.values())
    outcomes = [
        FrontDoorOutcome(
            "exchange-forged-timestamp",
            FrontDoorClass.SUBMISSION_TIME,
            "late work through the exchange with an early folder name, timestamp.txt and mtimes",
            honest=round(full * (1 - PENALTY_PER_DAY), 6),
            obtained=float(rows[roles["latecomer"]]["score"]),
        ),
        FrontDoorOutcome(
            "exchange-classmate-name",
            FrontDoorClass.IDENTITY,
            "a blank submitted under a classmate's name after the classmate (the classmate's "
            "score before the late penalty)",
            honest=full,
            obtained=float(rows[roles["victim"]]["raw_score"]),
        ),
        FrontDoorOutcome(
            "numpy-exercise-in-torch",
            FrontDoorClass.FORBIDDEN_MODULE,
            f"{TORCH_TEST.removesuffix('_test')} of a NumPy notebook written with torch "
            "(forbidden_calls = zero; score before the late penalty)",
            honest=full - points[TORCH_TEST],
            obtained=float(rows[roles["torch"]]["raw_score"]),
        ),
    ]
    return FrontDoorRun(outcomes, collected, summary, roles)


def _grades(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}
