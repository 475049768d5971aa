"""Plain nbgrader test cells: what the runner records and how it is scored.

The scoring rule is checked against nbgrader's own ``determine_grade`` on the cell
outputs a Jupyter kernel would have produced for the same run; the recording is checked
by running a small notebook through the in-process runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade

from autograder.job import VerdictStatus
from autograder.runner.execute import run_workdir
from autograder.specs.plain import calls_check, decide_plain

POINTS = 2.0


def record(status: str = "ok", *, stderr: bool = False, result: str | None = None) -> dict:
    error = "AssertionError: wrong" if status == "error" else ""
    return {"index": 3, "grade_id": "t", "status": status, "error": error, "stderr": stderr,
            "result": result}  # fmt: skip


def kernel_cell(outputs: list[Any]) -> nbformat.NotebookNode:
    """The test cell as stock nbgrader sees it after a kernel ran it."""
    cell = new_code_cell(
        "", metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": POINTS}}
    )
    cell.outputs = outputs
    return cell


def result_output(text: str) -> Any:
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


ERROR = new_output("error", ename="AssertionError", evalue="wrong", traceback=[])
STDERR = new_output("stream", name="stderr", text="careful\n")
STDOUT = new_output("stream", name="stdout", text="fine\n")

#: (runner record, the kernel outputs of the same run)
CASES = {
    "silent": (record(), []),
    "prints": (record(), [STDOUT]),
    "raises": (record("error"), [ERROR]),
    "stderr": (record(stderr=True), [STDERR]),
    "stderr_then_value": (record(stderr=True, result="1.5"), [STDERR, result_output("1.5")]),
    "partial": (record(result="0.5"), [result_output("0.5")]),
    "zero": (record(result="0"), [result_output("0")]),
    "full_as_number": (record(result="2.0"), [result_output("2.0")]),
    "text": (record(result="'done'"), [result_output("'done'")]),
    "negative": (record(result="-1"), [result_output("-1")]),
    "nan": (record(result="nan"), [result_output("nan")]),
    "list": (record(result="[1, 2]"), [result_output("[1, 2]")]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_points_are_nbgraders_for_the_same_run(name: str) -> None:
    runner_record, outputs = CASES[name]
    stock, maximum = determine_grade(kernel_cell(outputs))
    verdict = decide_plain("t", POINTS, runner_record)
    assert (verdict.points, verdict.max_points) == (stock, maximum)
    assert verdict.in_process
    expected = {0.0: VerdictStatus.FAILED, POINTS: VerdictStatus.PASSED}
    assert verdict.status is expected.get(verdict.points, VerdictStatus.PARTIAL)


def test_a_value_above_the_points_scores_zero_where_nbgrader_stops() -> None:
    with pytest.raises(ValueError, match="greater than maximum"):
        determine_grade(kernel_cell([result_output("3")]))
    verdict = decide_plain("t", POINTS, record(result="3"))
    assert (verdict.points, verdict.status) == (0.0, VerdictStatus.FAILED)
    assert "above" in verdict.message


def test_a_cell_that_never_ran_or_timed_out_scores_zero() -> None:
    assert decide_plain("t", POINTS, None).status is VerdictStatus.MISSING
    timed_out = decide_plain("t", POINTS, record("timeout"))
    assert (timed_out.points, timed_out.status) == (0.0, VerdictStatus.FAILED)


def test_the_failure_message_quotes_the_assertion_capped() -> None:
    long = {**record("error"), "error": "AssertionError: " + "x" * 1000}
    message = decide_plain("t", POINTS, long).message
    assert message.startswith("the test failed: AssertionError: xxx") and len(message) < 400


@pytest.mark.parametrize(
    ("source", "is_check"),
    [
        ('check("t", f)', True),
        ("check_hidden( 't', f, g)", True),
        ('check("other", f)', False),
        ("assert f(1) == 1", False),
        ('mycheck("t", f)', False),
    ],
)
def test_check_tests_are_told_from_plain_ones_by_their_own_id(source: str, is_check: bool) -> None:
    assert calls_check(source, "t") is is_check


# --- the runner records what the rule needs -------------------------------------------------
def test_cell(source: str, grade_id: str) -> nbformat.NotebookNode:
    meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id, "points": 1}}
    return new_code_cell(source, metadata=meta)


test_cell.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_the_runner_records_stderr_and_the_value_of_test_cells_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_meta = {"nbgrader": {"solution": True, "grade": False, "grade_id": "answer"}}
    cells = [
        new_code_cell("import os, sys\nsys.stderr.write('noise\\n')", metadata=answer_meta),
        test_cell("print('to stdout')", "quiet"),
        test_cell("print('oops', file=sys.stderr)", "python_stderr"),
        test_cell("_ = os.write(2, b'from C\\n')", "fd_stderr"),
        test_cell("0.5", "partial"),
        test_cell("0.5;", "silenced"),
        test_cell("x = 'not a number'\nx", "text"),
        test_cell("assert False, 'no'", "fails"),
    ]  # fmt: skip
    workdir = tmp_path / "work"
    for name in ("inputs", "outputs"):
        (workdir / name).mkdir(parents=True)
    nbformat.write(new_notebook(cells=cells), str(workdir / "notebook.ipynb"))
    with capsys.disabled():  # pytest's capture replaces sys.stderr, which a sandbox has not
        assert run_workdir(workdir, cell_timeout=30) == 0
    report = json.loads((workdir / "results.json").read_text())["cells"]
    got = {cell["grade_id"]: (cell["status"], cell["stderr"], cell["result"]) for cell in report}
    assert got == {
        "answer": ("ok", False, None),
        "quiet": ("ok", False, None),
        "python_stderr": ("ok", True, None),
        "fd_stderr": ("ok", True, None),
        "partial": ("ok", False, "0.5"),
        "silenced": ("ok", False, None),
        "text": ("ok", False, "'not a number'"),
        "fails": ("error", False, None),
    }
