"""The graded notebooks nbgrader keeps in ``autograded/<student>/<assignment>/``.

Formgrader shows these to the person grading by hand, and ``nbgrader generate_feedback``
renders them with the gradebook's scores, so the driver writes one per scored result:
the restored notebook (the instructor's cells with the student's answers, exactly what
ran in the sandbox), with each code cell's outcome from the runner as nbgrader's kernel
would have left it (an ``error`` output naming the exception, a numeric value as an
``execute_result``: see :func:`runner_outputs`), and the submission's ``timestamp.txt`` and
``submission_secret.txt``.

Unlike stock nbgrader's, each test cell holds its released source: the hidden tests are
left out, because ``nbgrader generate_feedback`` renders these notebooks for students
(the source notebook still shows the course team every hidden test).
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_output

from autograder.course_layout import TIMESTAMP_FILE, CourseLayout
from autograder.files import atomic_write_bytes, atomic_write_text
from autograder.intake import NotebookTemplate
from autograder.intake.template import CellRole
from autograder.job import GradingJob, JobResult

AUTOGRADED_DIR = "autograded"
KEPT_FILES = (TIMESTAMP_FILE, "submission_secret.txt")
"""The submission's own files nbgrader's feedback apps read (``release_feedback`` hashes
the secret), copied along as ``nbgrader autograde`` copies them."""
KEPT_BYTES = 4096


def autograded_path(layout: CourseLayout, job: GradingJob) -> Path:
    return layout.root / AUTOGRADED_DIR / job.student_id / job.assignment / f"{job.notebook}.ipynb"


def runner_outputs(record: dict[str, Any]) -> list[Any]:
    """A cell's outputs from its runner record (``results.json``, already validated).

    Only what the student may read back through ``nbgrader generate_feedback``: the
    exception's type (its message and any other value are text the student's code chose,
    which could carry its hidden inputs) and a numeric value (a plain test's partial
    credit, as nbgrader reads it).
    """
    if record["status"] != "ok":
        name = record["error"].partition(": ")[0]
        builtin = getattr(builtins, name, None)
        if not (isinstance(builtin, type) and issubclass(builtin, BaseException)):
            name = "Exception"  # a class the student's code named: its name is its text too
        return [new_output("error", ename=name, evalue="", traceback=[name])]
    try:
        value = float(record["result"])
    except (TypeError, ValueError):
        return []
    return [new_output("execute_result", data={"text/plain": repr(value)})]


def write_autograded(
    layout: CourseLayout, job: GradingJob, result: JobResult, template: NotebookTemplate
) -> Path:
    """Write the graded notebook of ``job`` where nbgrader's apps look for it."""
    from autograder.pipeline import run_intake  # the sandbox's side: only when writing

    notebook, _ = run_intake(job, template)
    for cell in notebook.cells if notebook.nbformat_minor < 5 else ():
        cell.pop("id", None)  # cell ids came with nbformat 4.5; nbgrader validates
    for test in template.cells:
        if test.role is CellRole.TESTS and test.index < len(notebook.cells):
            notebook.cells[test.index].source = test.release_source
    for record in result.execution.get("cells", ()):
        cell = notebook.cells[record["index"]] if record["index"] < len(notebook.cells) else None
        if cell is not None and cell.cell_type == "code":
            cell.outputs = runner_outputs(record)
    path = autograded_path(layout, job)
    for name in KEPT_FILES:
        kept = layout.submission_dir(job.student_id, job.assignment) / name
        if kept.is_file() and not kept.is_symlink():
            atomic_write_bytes(path.parent / name, kept.read_bytes()[:KEPT_BYTES])
    return atomic_write_text(path, nbformat.writes(notebook))
