"""Submissions of the fixture ``mini`` notebook: the release, right and wrong answers.

A submission is what a student hands in: nbgrader's release (answers blank, hidden tests
gone, checksums in the metadata) with the answer cells filled in and run. The release is
built here from the intake template's model of it (``release_source``), which
``test_fixture_course.py`` checks against the real ``nbgrader generate_assignment``.

The *wrong* answers are wrong on every input (each adds 1 to what it returns), so a test
that depends on a wrong function fails all of its cases, under our grader and under
stock nbgrader alike: partial credit cannot tell the two graders apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_output

from autograder.intake import CellRole, NotebookTemplate, load_template

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mini"
SOURCE_NOTEBOOK = FIXTURE / "mini.ipynb"
SPECS_FILE = FIXTURE / "mini.specs.py"
ASSIGNMENT = "mini"
NOTEBOOK_FILE = "mini.ipynb"

TEMPLATE: NotebookTemplate = load_template(SOURCE_NOTEBOOK)
_MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
_CHECK_CALL = re.compile(r'^check\("(?P<test>[^"]+)",\s*(?P<fns>[^)]*)\)', re.M)
_DEF = re.compile(r"^def (\w+)\(", re.M)

WRONG_ANSWERS: dict[str, str] = {
    "relu_forward": "def relu_forward(x):\n    return np.maximum(x, 0) + 1.0, x",
    "relu_backward": (
        "def relu_backward(dout, cache):\n"
        "    x = cache\n"
        "    return np.where(x > 0, dout, 0.0) + 1.0"
    ),
    "sigmoid_forward": (
        "def sigmoid_forward(x):\n    out = 1.0 / (1.0 + np.exp(-x)) + 1.0\n    return out, out"
    ),
    "leaky_relu_forward": (
        "def leaky_relu_forward(x, alpha):\n"
        "    return np.where(x > 0, x, alpha * x) + 1.0, (x, alpha)"
    ),
    "linear_forward": (
        "def linear_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b + 1.0, (x, w)"
    ),
    "linear_backward": (
        "def linear_backward(dout, cache):\n"
        "    x, w = cache\n"
        "    dx = (dout @ w.T).reshape(x.shape) + 1.0\n"
        "    dw = x.reshape(x.shape[0], -1).T @ dout + 1.0\n"
        "    return dx, dw, dout.sum(axis=0) + 1.0"
    ),
    "softmax_loss": (
        "def softmax_cross_entropy_loss(scores, y):\n"
        "    n = scores.shape[0]\n"
        "    shifted = scores - scores.max(axis=1, keepdims=True)\n"
        "    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)\n"
        "    loss = -np.log(probs[np.arange(n), y]).mean() + 1.0\n"
        "    return loss, probs + 1.0"
    ),
    "mse_loss": (
        "def mse_loss(y_hat, y):\n"
        "    diff = y_hat - y\n"
        "    return np.mean(diff**2) + 1.0, 2 * diff / diff.size + 1.0"
    ),
    "conv_output_size": (
        "def conv_output_size(size, kernel, stride, pad):\n"
        "    return (size + 2 * pad - kernel) // stride + 2"
    ),
    "torch_linear": (
        "def torch_linear(x, w, b):\n"
        "    xt = torch.from_numpy(x)\n"
        "    out = xt.reshape(xt.shape[0], -1) @ torch.from_numpy(w) + torch.from_numpy(b)\n"
        "    return out.numpy() + 1.0"
    ),
}
"""Honest but wrong: every function returns its correct result plus one."""

WRITTEN_ANSWER = "ReLU's gradient is zero for negative inputs; use a leaky ReLU."


def code_answer_ids() -> list[str]:
    """Grade ids of the autograded (code) answer cells, in notebook order."""
    return [
        cell.grade_id
        for cell in TEMPLATE.cells
        if cell.role is CellRole.AUTOGRADED_ANSWER and cell.grade_id
    ]


def correct_answers() -> dict[str, str]:
    """The instructor's solutions without their ``BEGIN/END SOLUTION`` marker lines."""
    return {
        cell.grade_id: _MARKER_LINE.sub("", cell.source)
        for cell in TEMPLATE.cells
        if cell.role is CellRole.AUTOGRADED_ANSWER and cell.grade_id
    }


def function_owner() -> dict[str, str]:
    """Which answer cell defines each function name."""
    owners = {}
    for grade_id, source in correct_answers().items():
        for name in _DEF.findall(source):
            owners[name] = grade_id
    return owners


def test_dependencies() -> dict[str, frozenset[str]]:
    """For each graded test, the answer cells whose functions it calls."""
    owners = function_owner()
    needs = {}
    for cell in TEMPLATE.cells:
        if cell.role is not CellRole.TESTS or not cell.grade_id:
            continue
        match = _CHECK_CALL.search(cell.source)
        assert match is not None, f"test cell {cell.grade_id} has no check() call"
        names = [name.strip() for name in match["fns"].split(",") if name.strip()]
        needs[cell.grade_id] = frozenset(owners[name] for name in names)
    return needs


def test_points() -> dict[str, float]:
    """Points of each autograded test cell."""
    return {
        cell.grade_id: cell.points
        for cell in TEMPLATE.cells
        if cell.role is CellRole.TESTS and cell.grade_id
    }


AUTOGRADED_MAX: float = sum(test_points().values())


def expected_score(correct: Iterable[str]) -> float:
    """The autograded score when exactly the answers ``correct`` are right."""
    right = set(correct)
    points = test_points()
    return sum(points[test] for test, needs in test_dependencies().items() if needs <= right)


def answers_with(correct: Iterable[str]) -> dict[str, str]:
    """Answers with the given cells correct and every other code answer wrong."""
    right = set(correct)
    solutions = correct_answers()
    unknown = right - set(solutions)
    assert not unknown, f"not answer cells: {sorted(unknown)}"
    return {gid: solutions[gid] if gid in right else WRONG_ANSWERS[gid] for gid in solutions}


def release_notebook() -> NotebookNode:
    """The student's release, as nbgrader's ``generate_assignment`` writes it."""
    notebook = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    for index, cell in enumerate(notebook.cells):
        model = TEMPLATE.cells[index]
        cell.source = model.release_source
        meta = cell.metadata.get("nbgrader")
        if meta is not None:
            meta["checksum"] = f"{index:032x}"  # nbgrader's checksum marks a release
            meta["cell_type"] = cell.cell_type
    return notebook


def submission(answers: Mapping[str, str], written: str = WRITTEN_ANSWER) -> NotebookNode:
    """The release with ``answers`` (code answers by grade id) filled in and "run"."""
    notebook = release_notebook()
    filled = {**answers, "dead_relu_answer": written}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in filled:
            cell.source = filled[grade_id]
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [new_output("stream", name="stdout", text="")]
    return notebook


def cell_by_id(notebook: NotebookNode, grade_id: str) -> NotebookNode:
    """The first cell with this grade id."""
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def write_notebook(notebook: NotebookNode, path: Path) -> Path:
    """Write ``notebook`` as Jupyter's JSON, creating the folder.

    Not through ``nbformat.write``: it validates and "corrects" what it writes, and a
    hostile submission (duplicate cell ids, say) must reach the grader as written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
