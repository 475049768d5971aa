"""An nbgrader course of honest submissions of the fixture ``mini`` notebook.

Most students answer everything right; every fourth one gets one or two functions wrong.
A wrong function is wrong on every input (see ``tests/autograder/corpus/notebooks.py``),
so a test either passes all of its cases or none of them, and stock nbgrader's
all-or-nothing test cells must agree exactly with our per-case partial credit.

The course holds everything both graders need: ``source/mini/`` with the notebook, its
specs (stock nbgrader copies them next to each autograded notebook, where
``check_hidden`` finds them) and the shipped visible cases in ``checks/``; ``term.json``;
and ``submitted/<student>/mini/mini.ipynb``.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "autograder"))  # the corpus package

from corpus.notebooks import (  # noqa: E402
    ASSIGNMENT,
    NOTEBOOK_FILE,
    SOURCE_NOTEBOOK,
    SPECS_FILE,
    answers_with,
    code_answer_ids,
    expected_score,
    submission,
    write_notebook,
)

TERM_SEED = 4242
PARTIAL_EVERY = 4
"""Every fourth student is partly wrong; the others are right everywhere."""


@dataclass(frozen=True)
class HonestStudent:
    id: str
    wrong: tuple[str, ...]
    """Answer cells this student got wrong."""

    @property
    def expected(self) -> float:
        return expected_score(set(code_answer_ids()) - set(self.wrong))


def honest_mix(count: int) -> list[HonestStudent]:
    """``count`` students, deterministic: mostly right, every fourth partly wrong."""
    answers = code_answer_ids()
    students = []
    for index in range(count):
        wrong: tuple[str, ...] = ()
        if index % PARTIAL_EVERY == PARTIAL_EVERY - 1:
            first = answers[(index // PARTIAL_EVERY) % len(answers)]
            second = answers[(index // PARTIAL_EVERY * 3 + 1) % len(answers)]
            wrong = tuple(dict.fromkeys((first, second) if index % 8 == 7 else (first,)))
        students.append(HonestStudent(f"s{index:03d}", wrong))
    return students


def build_honest_course(root: Path, students: list[HonestStudent]) -> Path:
    """Write the course into the new folder ``root``; returns ``root``."""
    from autograder.specs import load_specs, write_release_checks

    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(SOURCE_NOTEBOOK, source / NOTEBOOK_FILE)
    shutil.copy(SPECS_FILE, source / SPECS_FILE.name)
    write_release_checks(load_specs(SPECS_FILE), source, TERM_SEED)
    (root / "term.json").write_text(json.dumps({"seed": TERM_SEED}), encoding="utf-8")
    right = set(code_answer_ids())
    for student in students:
        notebook = submission(answers_with(right - set(student.wrong)))
        write_notebook(notebook, root / "submitted" / student.id / ASSIGNMENT / NOTEBOOK_FILE)
    return root
