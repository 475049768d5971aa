"""Attacks from what students are given, against a real course notebook (issue 11, rows 1-3).

Unlike the rest of the corpus (hostile code against the fixture ``mini`` notebook in the
sandbox), these students attack through information: the shipped visible checks, the
course's public seed, the installed library. Each is built from ``a1/losses`` of the
real course, collected and graded through the instructor commands in a temporary copy
of the course (its secret seed created fresh there), and must score no more than the
honest wrong answer (``honest-wrong``: garbage for every input).

Used by ``tests/autograder/test_course_attacks.py`` and ``benchmarks/bench_adversarial.py``.
"""

from __future__ import annotations

import ast
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.instructor.collect import collect_lms
from autograder.instructor.grading import grade
from autograder.instructor.terms import current_term
from autograder.specs import load_specs, make_case_inputs, reference_outputs
from dlcourse.checks.casefile import read_case_file

REPO = Path(__file__).resolve().parents[3]
ASSIGNMENT, NOTEBOOK = "a1", "losses"
AUTOGRADED_POINTS = 11.0
HONEST = "honest-wrong"
"""The honest wrong answer every attack is measured against (it earns nothing)."""
Table = dict[str, list[tuple[dict[str, list], list]]]

COURSE_TOML = f"""\
course_id = "dlcourse"

[[assignments]]
name = "{ASSIGNMENT}"

[[assignments.notebooks]]
name = "{NOTEBOOK}"
points = 13
"""

HELPER = '''
import json as _json
import numpy as _np
_TABLE = _json.loads({table})

def _answer(test_id, inputs):
    """The stored outputs where the inputs are a case we know, garbage otherwise."""
    for known, outputs in _TABLE.get(test_id, []):
        if all(_np.shape(known[k]) == _np.shape(v) and _np.allclose(known[k], v)
               for k, v in inputs.items()):
            return tuple(_np.asarray(o) for o in outputs)
    first = _np.asarray(next(iter(inputs.values())), dtype=float)
    return _np.float64(0.0), _np.zeros_like(first)
'''


@dataclass(frozen=True)
class CourseAttack:
    student_id: str
    row: str
    """The row of issue 11's table it plays."""
    summary: str
    build: Callable[[Path], NotebookNode]
    """Course root -> the submitted notebook."""


def _release() -> NotebookNode:
    return nbformat.read(REPO / "assignments" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


def _answer_cells(notebook: NotebookNode) -> list[NotebookNode]:
    return [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
    ]


def _signature(cell: NotebookNode) -> tuple[str, list[str]]:
    node = next(n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef))
    return node.name, [arg.arg for arg in node.args.args]


def _rewrite(body: Callable[[str, list[str]], str], helper: str = "") -> NotebookNode:
    """The release with every answer cell's function replaced by ``body(name, params)``."""
    notebook = _release()
    for number, cell in enumerate(_answer_cells(notebook)):
        name, params = _signature(cell)
        code = f"def {name}({', '.join(params)}):\n    {body(name, params)}\n"
        cell.source = (helper + "\n" + code) if number == 0 else code
    return notebook


def _table_answer(table: Table) -> NotebookNode:
    helper = HELPER.format(table=repr(json.dumps(table)))
    return _rewrite(
        lambda name, params: (
            f"return _answer({name + '_test'!r}, dict("
            + ", ".join(f"{p}={p}" for p in params)
            + "))"
        ),
        helper,
    )


def _lists(arrays: dict) -> dict[str, list]:
    return {name: value.tolist() for name, value in arrays.items()}


def _shipped_checks(root: Path) -> Table:
    """What a student copies from the release's ``checks/``: inputs and expected outputs."""
    table: Table = {}
    for path in sorted((root / "assignments" / ASSIGNMENT / "checks").glob("*.npz")):
        cases = read_case_file(path).cases
        table[path.stem] = [(_lists(c.inputs), list(_lists(c.outputs).values())) for c in cases]
    return table


def _recomputed(root: Path, student_id: str) -> Table:
    """Row 3: the student's own cases recomputed from the seed students can read (the term
    file's public ``visible_seed``), with the reference's outputs computed offline."""
    seed = current_term(root).public_seed
    specs = load_specs(root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.specs.py")
    table: Table = {}
    for spec in specs:
        rows = []
        for case in range(spec.num_cases):
            inputs = make_case_inputs(spec, seed, student_id, case)
            outputs = reference_outputs(spec, inputs)
            rows.append((_lists(inputs), list(_lists(outputs).values())))
        table[spec.test_id] = rows
    return table


def _library(name: str, params: list[str]) -> str:
    """Row 2: the function taken from the installed dlcourse."""
    return (
        "from dlcourse.functional import losses as _lib\n"
        f"    return _lib.{name}({', '.join(params)})"
    )


ATTACKS = (
    CourseAttack(HONEST, "-", "garbage for every input (the honest wrong answer)",
                 lambda root: _table_answer({})),
    CourseAttack("edition-notebook", "1", "submit the student edition's notebook: it holds "
                 "no solution to copy", lambda root: _release()),
    CourseAttack("library-reference", "2", "call the reference of the installed dlcourse",
                 lambda root: _rewrite(_library)),
    CourseAttack("seed-recompute", "3", "own cases recomputed from the public seed, "
                 "reference outputs hard-coded", lambda root: _table_answer(
                     _recomputed(root, "seed-recompute"))),
    CourseAttack("visible-lookup", "visible", "shipped expected outputs for the shipped "
                 "inputs, garbage otherwise", lambda root: _table_answer(_shipped_checks(root))),
)  # fmt: skip


def make_course(root: Path) -> Path:
    """A copy of the real course holding ``a1/losses`` only, with no secret seed yet."""
    (root / "course" / "terms").mkdir(parents=True)
    (root / "course" / "course.toml").write_text(COURSE_TOML)
    for name in ("current_term", "terms/2026-fall.toml"):
        shutil.copyfile(REPO / "course" / name, root / "course" / name)
    for folder in ("solutions", "assignments"):
        (root / folder / ASSIGNMENT).mkdir(parents=True)
    for suffix in (".ipynb", ".specs.py"):
        name = f"{NOTEBOOK}{suffix}"
        shutil.copyfile(
            REPO / "solutions" / ASSIGNMENT / name, root / "solutions" / ASSIGNMENT / name
        )
    shutil.copytree(REPO / "assignments" / ASSIGNMENT / "checks",
                    root / "assignments" / ASSIGNMENT / "checks")  # fmt: skip
    shutil.copyfile(REPO / "assignments" / ASSIGNMENT / f"{NOTEBOOK}.ipynb",
                    root / "assignments" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")  # fmt: skip
    return root


def run_course_attacks(root: Path, workers: int = 2) -> dict[str, float]:
    """Build the course under ``root``, collect every attack (and the solution, as
    ``reference``) from an LMS zip, grade through the instructor commands; the scores."""
    make_course(root)
    submissions = {attack.student_id: attack.build(root) for attack in ATTACKS}
    submissions["reference"] = nbformat.read(
        root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4
    )
    archive, roster = root / "lms.zip", root / "roster.csv"
    rows = ["lms_id,student_id"]
    with zipfile.ZipFile(archive, "w") as handle:
        for number, (student, notebook) in enumerate(submissions.items(), start=100):
            rows.append(f"{number},{student}")
            handle.writestr(f"s{number}_{number}_{number + 5000}_{NOTEBOOK}.ipynb",
                            nbformat.writes(notebook))  # fmt: skip
    roster.write_text("\n".join(rows) + "\n")
    collect_lms(ASSIGNMENT, archive, roster, root)
    summary = grade(ASSIGNMENT, root, workers=workers, progress=False)
    return {result.student_id: result.score for result in summary.results}


def inflations(scores: dict[str, float]) -> list[str]:
    """Every attack that scored more than the honest wrong answer, as a sentence."""
    return [
        f"{attack.student_id} (row {attack.row}) scored {scores.get(attack.student_id)} > "
        f"{scores.get(HONEST)}"
        for attack in ATTACKS
        if scores.get(attack.student_id, 0.0) > scores.get(HONEST, 0.0)
    ]
