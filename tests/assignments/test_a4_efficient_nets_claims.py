"""Claims of efficient_nets.ipynb, and its synthetic partial students.

The prose states MobileNet v1's totals and shares, the width multiplier's quarter, the
exact costs of the four tiny networks of section 6 and their accuracies after training.
Each number is read from the notebook's text; the tables come from the references, the
costs from the notebook's own model and counting cells (run with the references in
place of the student's classes) and from arithmetic written here, the accuracies from
the notebook's own training cell. The partial students of
``course/synthetic/a4/efficient_nets.toml`` are checked to fail every case of the tests
they name, through the same call patterns as the grader.
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.instructor.synthetic_files import read_partial_file
from autograder.specs.spec import load_specs
from dlcourse.checks.calls import CALLS
from dlcourse.data.datasets import load_shapes
from dlcourse.exercises.a4 import efficient_nets as ex

from .notebook_text import SOLUTIONS, claim, code_cells, number, numbers

NAME = "a4/efficient_nets"
ROOT = SOLUTIONS.parent
CLASSES = ("DepthwiseSeparable", "SqueezeExcitation", "DenseLayer", "DenseBlock")


# --------------------------------------------------------------------------- MobileNet v1


def test_mobilenet_v1_totals_and_shares():
    # "The totals, 4,210,088 parameters and 568.7 million multiply-adds"
    params, macs = numbers(NAME, r"The totals, {num} parameters and {num} million multiply-adds")
    table = ex.mobilenet_v1_table(1.0, 224, 1000)
    assert table[:, 2].sum() == params
    assert round(table[:, 3].sum() / 1e6, 1) == macs
    # "they hold 94.9% of the multiply-adds and 74.6% of the parameters"
    pw_macs, pw_params = numbers(
        NAME, r"they hold {num}% of the multiply-adds and {num}% of the parameters"
    )
    pointwise, depthwise = table[2:27:2], table[1:27:2]
    assert round(100 * pointwise[:, 3].sum() / table[:, 3].sum(), 1) == pw_macs
    assert round(100 * pointwise[:, 2].sum() / table[:, 2].sum(), 1) == pw_params
    # "the depthwise rows only 3.1% of the multiply-adds"
    dw = number(NAME, r"the depthwise rows only {num}% of the multiply-adds")
    assert round(100 * depthwise[:, 3].sum() / table[:, 3].sum(), 1) == dw


def test_width_multiplier_keeps_about_a_quarter():
    # "At alpha = 0.5 the convolutions keep about a quarter of their parameters (25.4%"
    stated = number(NAME, r"keep about a quarter of their parameters \({num}%")
    half = ex.mobilenet_v1_table(0.5, 224, 1000)[:-1, 2].sum()
    full = ex.mobilenet_v1_table(1.0, 224, 1000)[:-1, 2].sum()
    assert round(100 * half / full, 1) == stated


def test_separable_saves_eight_to_nine_times_with_3x3():
    # "With 3x3 kernels and a few hundred output channels that is 8 to 9 times less"
    low, high = numbers(NAME, r"that is {num} to {num} times less")
    for n in (200, 300, 512, 1024):
        _, _, ratio = ex.separable_cost(n, n, 3, 14, 14)
        assert low <= 1 / ratio <= high


# --------------------------------------------------------------------------- section 6


def _models_namespace() -> dict[str, object]:
    """The notebook's model and counting cell, run with the reference classes."""
    (cell,) = [source for source in code_cells(NAME) if "def count_cost" in source]
    namespace: dict[str, object] = {"nn": nn, "torch": torch}
    namespace.update({name: getattr(ex, name) for name in CLASSES})
    exec(cell, namespace)  # noqa: S102
    return namespace


def _conv(c_in: int, c_out: int, k: int, size: int, groups: int = 1) -> int:
    return size * size * c_out * k * k * c_in // groups


def test_section6_costs_are_exact():
    run = _models_namespace()
    costs = {
        name: run["count_cost"](make(8), (3, 32, 32)) for name, make in run["VARIANTS"].items()
    }
    # The plain and separable networks counted by hand: stem 3->16 at 16x16, 16->32 at
    # 8x8, 32->32, 32->64 at 4x4, 64->64, fc 64->8.
    stem, fc = _conv(3, 16, 3, 16), 64 * 8
    plain = stem + _conv(16, 32, 3, 8) + _conv(32, 32, 3, 8) + _conv(32, 64, 3, 4)
    plain += _conv(64, 64, 3, 4) + fc
    separable = stem + fc
    for c_in, c_out, size in [(16, 32, 8), (32, 32, 8), (32, 64, 4), (64, 64, 4)]:
        separable += _conv(c_in, c_in, 3, size, groups=c_in) + _conv(c_in, c_out, 1, size)
    assert costs["plain"][1] == plain
    assert costs["separable"][1] == separable
    # "needs 5.4 times fewer multiply-adds than the plain one (349,184 against 1,880,576"
    factor, sep_macs, plain_macs = numbers(
        NAME,
        r"needs \*\*{num} times fewer\*\* multiply-adds than the plain one \({num} "
        r"against {num} per image\) and {num} times fewer parameters",
    )[:3]
    assert (sep_macs, plain_macs) == (separable, plain)
    assert round(plain / separable, 1) == factor
    params_factor = numbers(NAME, r"per image\) and {num} times fewer parameters")[0]
    assert round(costs["plain"][0] / costs["separable"][0], 1) == params_factor
    # "squeeze-and-excitation adds 2,680 parameters to it and less than 1% to its mult-adds"
    se_params, se_share = numbers(
        NAME, r"squeeze-and-excitation adds {num} parameters to it and less than {num}%"
    )
    se = costs["separable + SE"]
    # fc1 C -> C/4 and fc2 C/4 -> C, with biases, after the 32- and the 64-channel stage.
    by_hand = sum(c * (c // 4) + c // 4 + (c // 4) * c + c for c in (32, 64))
    assert se[0] - costs["separable"][0] == se_params == by_hand
    assert 0 < se[1] - separable < se_share / 100 * separable
    # The dense network: fewer parameters than the plain one, more mult-adds than separable.
    assert costs["dense"][0] < costs["plain"][0] and costs["dense"][1] > separable


def test_section6_accuracies():  # about 8 s on an idle core: not marked slow
    # "Every variant reaches a test accuracy **above 50%**", "stays **within 30 points**"
    floor = number(NAME, r"Every variant reaches a test accuracy \*\*above {num}%\*\*") / 100
    gap = number(NAME, r"separable network stays \*\*within {num} points\*\* of the plain") / 100
    claim(NAME, r"2,000 for training and 1,000 for testing")
    run = _models_namespace()
    (data_cell,) = [s for s in code_cells(NAME) if "data = load_shapes(" in s]
    (train_cell,) = [s for s in code_cells(NAME) if "def train(" in s]
    run.update({"load_shapes": load_shapes, "F": F, "print": lambda *args, **kwargs: None})
    exec(data_cell.replace("from dlcourse.data.datasets import load_shapes", ""), run)  # noqa: S102
    assert len(run["X_train"]) == 2000 and len(run["X_test"]) == 1000
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the notebook's setup cell
    try:
        exec(train_cell, run)  # noqa: S102
    finally:
        torch.set_num_threads(threads)
    accuracy = {name: result[2] for name, result in run["results"].items()}
    assert set(accuracy) == {"plain", "separable", "separable + SE", "dense"}
    assert min(accuracy.values()) > floor, accuracy
    assert accuracy["separable"] > accuracy["plain"] - gap, accuracy


# --------------------------------------------------------------------------- partials

MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _answer_cells() -> dict[str, str]:
    """Answer cells by grade id, their marker lines removed (the reference student)."""
    nb = nbformat.read(SOLUTIONS / f"{NAME}.ipynb", as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if not MARKER.match(line)]
            cells[meta["grade_id"]] = "\n".join(lines)
    return cells


def _checked_names() -> dict[str, str]:
    """The name each test cell passes to check(): test id -> function or class name."""
    found = {}
    for source in code_cells(NAME):
        for test_id, name in re.findall(r'^check\("([\w-]+)", (\w+)\)', source, re.M):
            found[test_id] = name
    return found


def _run_cells(cells: dict[str, str]) -> dict[str, object]:
    namespace: dict[str, object] = {"np": np, "torch": torch, "nn": nn, "F": F}
    for source in cells.values():
        exec(source, namespace)  # noqa: S102
    return namespace


def _cases_passed(namespace: dict[str, object], test_id: str) -> list[bool]:
    spec = load_specs(ROOT / "solutions" / f"{NAME}.specs.py")[test_id]
    fn = namespace[_checked_names()[test_id]]
    passed = []
    for case in range(5):
        inputs = spec.make_inputs(np.random.default_rng([17, case]))
        expected = spec.reference(inputs)
        try:
            got = CALLS[spec.call]((fn,), inputs)
        except Exception:  # noqa: BLE001 - any error fails the case, as in grading
            passed.append(False)
            continue
        passed.append(
            set(got) == set(expected)
            and all(
                np.shape(got[key]) == np.shape(expected[key])
                and np.allclose(got[key], expected[key], rtol=spec.rtol, atol=spec.atol)
                for key in expected
            )
        )
    return passed


PARTIALS = read_partial_file(
    ROOT / "course" / "synthetic" / "a4" / "efficient_nets.toml", "efficient_nets.toml"
)


def test_the_solution_passes_what_the_partials_fail():
    namespace = _run_cells(_answer_cells())
    for test_id in sorted({t for student in PARTIALS for t in student.failing}):
        assert all(_cases_passed(namespace, test_id)), test_id


@pytest.mark.parametrize("student", PARTIALS, ids=lambda s: s.student_id)
def test_partial_student_fails_every_case_of_its_tests(student):
    cells = _answer_cells()
    for edit in student.edits:
        assert cells[edit.cell].count(edit.old) == 1, edit.where
        cells[edit.cell] = cells[edit.cell].replace(edit.old, edit.new)
    namespace = _run_cells(cells)
    for test_id in student.failing:
        assert not any(_cases_passed(namespace, test_id)), (student.student_id, test_id)


def test_the_required_partial_is_there():
    # Issue 14 names "SE without the sigmoid" among the partial solutions.
    (se,) = [s for s in PARTIALS if s.failing == ("squeeze_excitation_test",)]
    assert "sigmoid" in se.summary and all("sigmoid" not in e.new for e in se.edits)


def test_the_notebook_is_listed_without_gpu():
    text = (ROOT / "course" / "course.toml").read_text()
    entry = re.search(r'name = "efficient_nets"\n(.*?)(?:\n\n|\Z)', text, re.S)
    assert entry is not None
    assert "needs_gpu = false" in entry.group(1) and "runtime_budget = 120" in entry.group(1)
