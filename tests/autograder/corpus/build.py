"""Build the corpus course: an nbgrader course directory holding every attack and control.

Layout (see :mod:`autograder.course_layout`)::

    <course>/term.json                     the term seed
    <course>/source/mini/mini.ipynb        the fixture, with canaries in a solution
                                           region and in a hidden-test region
    <course>/source/mini/mini.specs.py     the specs, with a canary comment
    <course>/submitted/gradebook.db        a fake gradebook (sqlite) holding a canary:
                                           ``../../gradebook.db`` seen from a submission
    <course>/submitted/<NN>-<kind>-<id>/mini/...   one folder per student

Students are numbered in queue order: the driver grades them sorted, so a neighbour
(an honest control) placed right after a disruptive attack runs beside it. The grading
process itself carries a canary in ``GRADER_SECRET_TOKEN`` (see :mod:`corpus.grading`).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from corpus.attacks import BASE_SCORE, all_attacks, build_attack
from corpus.controls import CONTROLS, NEIGHBOUR, Control
from corpus.draft import CANARY_PREFIX, Attack, AttackClass, AttackContext, Draft
from corpus.notebooks import ASSIGNMENT, NOTEBOOK_FILE, SOURCE_NOTEBOOK, SPECS_FILE

TERM_SEED = 20240917

CANARY_PLACES = ("hidden_tests", "solution", "specs", "victim", "env", "fake_gradebook")
"""Where a secret is planted; each place gets its own canary string."""

DISRUPTIVE = frozenset(
    {AttackClass.RESOURCE_BOMB, AttackClass.OUTPUT_FLOOD, AttackClass.PERSISTENCE, AttackClass.EXIT}
)
"""Attacks followed by a neighbour control, to catch harm to whoever runs beside them."""


@dataclass(frozen=True)
class Student:
    """One student of the corpus course and what their score may be."""

    id: str
    kind: str
    """``"attack"`` or ``"control"``."""
    name: str
    """The attack or control id."""
    attack_class: str = ""
    expected: float = BASE_SCORE
    """A control's exact score; an attack's ceiling (its base's score)."""
    summary: str = ""


@dataclass(frozen=True)
class CorpusCourse:
    """A built corpus course and everything the audit needs to judge it."""

    root: Path
    marker: str
    term_seed: int
    canaries: dict[str, str]
    students: dict[str, Student] = field(default_factory=dict)
    planted: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    """Canary place -> the files that hold it legitimately."""

    def attacks(self) -> list[Student]:
        return [s for s in self.students.values() if s.kind == "attack"]

    def controls(self) -> list[Student]:
        return [s for s in self.students.values() if s.kind == "control"]


def new_marker() -> str:
    """A per-run marker: names escape files, and is in every sandboxed command line."""
    return f"agcorpus{secrets.token_hex(6)}"


def new_canaries() -> dict[str, str]:
    return {place: f"{CANARY_PREFIX}{place}-{secrets.token_hex(8)}" for place in CANARY_PLACES}


def _plant_in_source(target: Path, canaries: dict[str, str]) -> None:
    """The fixture notebook with a canary in a solution and in a hidden-test region."""
    notebook = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    solution_done = hidden_done = False
    for cell in notebook.cells:
        if not solution_done and "### BEGIN SOLUTION\n" in cell.source:
            cell.source = cell.source.replace(
                "### BEGIN SOLUTION\n", f"### BEGIN SOLUTION\n    # {canaries['solution']}\n", 1
            )
            solution_done = True
        if not hidden_done and "### BEGIN HIDDEN TESTS\n" in cell.source:
            cell.source = cell.source.replace(
                "### BEGIN HIDDEN TESTS\n",
                f"### BEGIN HIDDEN TESTS\n# {canaries['hidden_tests']}\n",
                1,
            )
            hidden_done = True
    assert solution_done and hidden_done, "the fixture lost its solution or hidden tests"
    nbformat.write(notebook, str(target))


def _fake_gradebook(path: Path, canary: str) -> None:
    """A sqlite file shaped like a gradebook, so a successful UPDATE would show."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE grade (id TEXT, auto_score REAL, manual_score REAL, note TEXT)")
        db.execute("INSERT INTO grade VALUES ('x', 0, 0, ?)", (canary,))
    db.close()


def write_source(
    root: Path, canaries: dict[str, str], term_seed: int
) -> dict[str, tuple[Path, ...]]:
    """The course's source side and fake gradebook; returns where each canary lives."""
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    _plant_in_source(source / NOTEBOOK_FILE, canaries)
    specs = source / SPECS_FILE.name
    specs.write_text(
        SPECS_FILE.read_text(encoding="utf-8") + f"\n# {canaries['specs']}\n", encoding="utf-8"
    )
    (root / "term.json").write_text(json.dumps({"seed": term_seed}), encoding="utf-8")
    submitted = root / "submitted"
    submitted.mkdir()
    _fake_gradebook(submitted / "gradebook.db", canaries["fake_gradebook"])
    return {
        "hidden_tests": (source / NOTEBOOK_FILE,),
        "solution": (source / NOTEBOOK_FILE,),
        "specs": (specs,),
        "fake_gradebook": (submitted / "gradebook.db",),
        "env": (),
    }


def _write_control(root: Path, student: str, control: Control, canaries: dict[str, str]) -> None:
    folder = root / "submitted" / student / ASSIGNMENT
    victim = control.id == "victim"
    Draft(control.notebook(canaries["victim"] if victim else None)).write(folder)
    if victim:
        (folder / "notes.txt").write_text(f"my password: {canaries['victim']}\n", encoding="utf-8")


def queue(
    attacks: Sequence[Attack], controls: Sequence[Control], neighbours: bool
) -> list[tuple[str, Attack | Control]]:
    """Students in grading order: controls first, then attacks with their neighbours."""
    order: list[tuple[str, Attack | Control]] = [("ctl", c) for c in controls]
    for attack in attacks:
        order.append(("atk", attack))
        if neighbours and attack.kind in DISRUPTIVE:
            order.append(("nbr", NEIGHBOUR))
    return order


def build_corpus(
    root: Path,
    *,
    loopback_port: int,
    attacks: Sequence[Attack] | None = None,
    controls: Sequence[Control] = CONTROLS,
    neighbours: bool = True,
    marker: str | None = None,
) -> CorpusCourse:
    """Write the corpus course into the empty or missing folder ``root``."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    chosen = all_attacks() if attacks is None else list(attacks)
    course = CorpusCourse(root, marker or new_marker(), TERM_SEED, new_canaries())
    course.planted.update(write_source(root, course.canaries, TERM_SEED))
    for number, (role, item) in enumerate(queue(chosen, controls, neighbours)):
        student = f"{number:03d}-{role}-{item.id}"
        if isinstance(item, Control):
            _write_control(root, student, item, course.canaries)
            course.students[student] = Student(
                student, "control", item.id, "", item.expected, item.summary
            )
            continue
        ctx = AttackContext(root, student, item.id, course.marker, loopback_port)
        build_attack(item, ctx).write(root / "submitted" / student / ASSIGNMENT)
        course.students[student] = Student(
            student, "attack", item.id, item.kind.value, BASE_SCORE, item.summary
        )
    victims = [s for s in course.students.values() if s.name == "victim"]
    course.planted["victim"] = tuple(
        root / "submitted" / v.id / ASSIGNMENT / name
        for v in victims
        for name in (NOTEBOOK_FILE, "notes.txt")
    )
    return course


def build_alone(root: Path, course: CorpusCourse) -> CorpusCourse:
    """A course with the same source and seed holding only the corpus's controls."""
    root = Path(root).resolve()
    shutil.copytree(course.root / "source", root / "source")
    shutil.copy2(course.root / "term.json", root / "term.json")
    alone = CorpusCourse(root, course.marker, course.term_seed, course.canaries)
    for student in course.controls():
        shutil.copytree(
            course.root / "submitted" / student.id, root / "submitted" / student.id, symlinks=True
        )
        alone.students[student.id] = student
    return alone
