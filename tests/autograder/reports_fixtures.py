"""Builders for the report tests: one instructor notebook and results graded against it.

The template has sections with markdown headings, two autograded tests with hidden
regions, a GPU test, a manually graded written answer and a task. Canary strings sit in
every place whose text must never reach a student's feedback page: hidden tests, visible
test code, and the solutions.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.intake import NotebookTemplate, template_from_notebook
from autograder.job import JobResult, JobStatus, TestVerdict, VerdictStatus

HIDDEN_CANARY = "HIDDEN-CANARY-7f3a91"
VISIBLE_TEST_CANARY = "VISIBLE-TEST-CANARY-22b0"
SOLUTION_CANARY = "SOLUTION-CANARY-e41d"
WRITTEN_SOLUTION_CANARY = "WRITTEN-SOLUTION-CANARY-9c07"

ASSIGNMENT = "a1"
NOTEBOOK = "a1_activations"
POINTS = {
    "relu_forward_test": 2.0,
    "softmax_loss_test": 3.0,
    "gpu_speed_test": 1.0,
    "why_relu": 4.0,
    "plot_losses": 2.0,
}
TEST_IDS = ("relu_forward_test", "softmax_loss_test", "gpu_speed_test")
MAX_SCORE = sum(POINTS.values())


def nbgrader_meta(grade_id: str, points: float | None = None, **flags: bool) -> dict[str, Any]:
    """nbgrader schema-3 metadata with the given flags set."""
    meta: dict[str, Any] = {"grade_id": grade_id, "schema_version": 3}
    meta.update({name: flags.get(name, False) for name in ("grade", "locked", "solution", "task")})
    if points is not None:
        meta["points"] = points
    return meta


def _test_cell(grade_id: str) -> NotebookNode:
    source = (
        f'check("{grade_id}", fn)  # {VISIBLE_TEST_CANARY}\n'
        "### BEGIN HIDDEN TESTS\n"
        f'check_hidden("{grade_id}", fn)  # {HIDDEN_CANARY}\n'
        "### END HIDDEN TESTS"
    )
    meta = nbgrader_meta(grade_id, POINTS[grade_id], grade=True, locked=True)
    return new_code_cell(source, metadata={"nbgrader": meta})


def _solution_cell(grade_id: str) -> NotebookNode:
    source = (
        f"def {grade_id}(x):\n    ### BEGIN SOLUTION\n    return x  # {SOLUTION_CANARY}\n"
        "    ### END SOLUTION"
    )
    return new_code_cell(source, metadata={"nbgrader": nbgrader_meta(grade_id, solution=True)})


def source_notebook() -> NotebookNode:
    """The instructor's source notebook (solutions and hidden tests in their markers)."""
    written = f"# A heading inside the solution\n{WRITTEN_SOLUTION_CANARY}"
    cells = [
        new_markdown_cell("# Assignment 1: activations\n\nRead everything first."),
        new_markdown_cell("## ReLU `forward`\n\nImplement it."),
        _solution_cell("relu_forward"),
        _test_cell("relu_forward_test"),
        new_markdown_cell("## Softmax <loss> & friends"),
        _solution_cell("softmax_loss"),
        _test_cell("softmax_loss_test"),
        new_markdown_cell("## Written: why ReLU?"),
        new_markdown_cell(
            written,
            metadata={"nbgrader": nbgrader_meta("why_relu", 4.0, solution=True, grade=True)},
        ),
        _test_cell("gpu_speed_test"),
        new_markdown_cell(
            "### Plot the losses\n\nMake a plot.",
            metadata={"nbgrader": nbgrader_meta("plot_losses", 2.0, task=True, locked=True)},
        ),
    ]
    return new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def make_template() -> NotebookTemplate:
    """The template of :func:`source_notebook`."""
    return template_from_notebook(source_notebook())


def verdict(
    test_id: str, status: VerdictStatus, points: float | None = None, message: str = ""
) -> TestVerdict:
    """A verdict worth ``POINTS[test_id]``; points default to all or nothing by status."""
    max_points = POINTS[test_id]
    if points is None:
        points = max_points if status is VerdictStatus.PASSED else 0.0
    cases = 5 if status is not VerdictStatus.AWAITING_GPU else 0
    passed = {VerdictStatus.PASSED: 5, VerdictStatus.PARTIAL: 3}.get(status, 0)
    return TestVerdict(test_id, status, points, max_points, passed, cases, message)


def make_result(
    student: str,
    statuses: dict[str, VerdictStatus],
    *,
    status: JobStatus = JobStatus.GRADED,
    points: dict[str, float] | None = None,
    assignment: str = ASSIGNMENT,
    notebook: str = NOTEBOOK,
    **extra: Any,
) -> JobResult:
    """A result with one verdict per entry of ``statuses``; the score is their sum."""
    points = points or {}
    verdicts = [verdict(t, s, points.get(t)) for t, s in statuses.items()]
    return JobResult(
        assignment=assignment,
        notebook=notebook,
        student_id=student,
        status=status,
        score=sum(v.points for v in verdicts),
        max_score=MAX_SCORE,
        verdicts=verdicts,
        manual_cells=["why_relu", "plot_losses"],
        **extra,
    )
