"""Notebook-building fixtures for the autograder tests.

One small assignment, written out cell by cell in both its nbgrader forms: the
instructor's *source* (solutions and hidden tests inside markers) and the *release* the
student downloads (stubs, no hidden tests, checksums in the metadata). Submissions are
releases with the student's answers filled in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "version": "3.11.0"}

#: The student's answers in an honest submission.
STUDENT_ANSWERS = {
    "square": "def square(x):\n    return x ** 2",
    "cube": "def cube(x):\n    return x * x * x",
    "explain": "Cubing needs one more multiplication.",
}
#: What nbgrader's release shows in each answer cell.
RELEASE_BLANKS = {
    "square": "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
    "cube": "def cube(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
    "explain": "YOUR ANSWER HERE",
}
#: Sum of the points of the test, manually graded and task cells below.
MAX_SCORE = 2 + 3 + 4 + 5


def nbgrader(grade_id: str, *, points: float | None = None, **flags: bool) -> dict[str, Any]:
    """nbgrader schema-3 cell metadata with the given flags set."""
    meta: dict[str, Any] = {
        "grade": False,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    meta.update(flags)
    if points is not None:
        meta["points"] = points
    return meta


def _cells(release: bool) -> list[NotebookNode]:
    """The assignment's eight cells, in source or release form."""
    square = (
        RELEASE_BLANKS["square"]
        if release
        else "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
    )
    cube = (
        RELEASE_BLANKS["cube"]
        if release
        else "def cube(x):\n    ### BEGIN SOLUTION\n    return x ** 3\n    ### END SOLUTION"
    )
    hidden = (
        "" if release else "\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n### END HIDDEN TESTS"
    )
    explain = RELEASE_BLANKS["explain"] if release else "Squaring takes one multiplication."
    cells = [
        new_markdown_cell("# Homework 1\n\nImplement `square` and `cube`."),
        new_code_cell(
            "import math\n\nTOLERANCE = 1e-9", metadata={"nbgrader": nbgrader("setup", locked=True)}
        ),
        new_code_cell(square, metadata={"nbgrader": nbgrader("square", solution=True)}),
        new_code_cell(
            "assert square(3) == 9" + hidden,
            metadata={"nbgrader": nbgrader("test_square", grade=True, locked=True, points=2)},
        ),
        new_code_cell(cube, metadata={"nbgrader": nbgrader("cube", solution=True)}),
        new_code_cell(
            "assert cube(2) == 8",
            metadata={"nbgrader": nbgrader("test_cube", grade=True, locked=True, points=3)},
        ),
        new_markdown_cell(
            explain,
            metadata={"nbgrader": nbgrader("explain", solution=True, grade=True, points=4)},
        ),
        new_markdown_cell(
            "Plot `square` and `cube` on [-2, 2].",
            metadata={"nbgrader": nbgrader("task_plot", task=True, locked=True, points=5)},
        ),
    ]
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index}"
        meta = cell.metadata.get("nbgrader")
        if release and meta is not None:
            # generate_assignment records a checksum and the original type
            meta["checksum"] = f"{index:032x}"
            meta["cell_type"] = cell.cell_type
    return cells


class NotebookFactory:
    """Builds fresh notebooks of the test assignment and writes them to disk."""

    answers = STUDENT_ANSWERS
    blanks = RELEASE_BLANKS
    max_score = MAX_SCORE
    kernelspec = KERNELSPEC

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def source(self) -> NotebookNode:
        """The instructor's nbgrader source notebook."""
        return new_notebook(
            cells=_cells(release=False),
            metadata={"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)},
        )

    def release(self) -> NotebookNode:
        """The release notebook handed to students."""
        notebook = self.source()
        notebook.cells = _cells(release=True)
        return notebook

    def submission(self, answers: dict[str, str] | None = None) -> NotebookNode:
        """A release with answers filled in and run, as a student would hand it in."""
        notebook = self.release()
        for grade_id, text in (STUDENT_ANSWERS if answers is None else answers).items():
            self.cell(notebook, grade_id).source = text
        for count, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
            cell.execution_count = count + 1
            cell.outputs = [new_output("stream", name="stdout", text="ran\n")]
        return notebook

    @staticmethod
    def cell(notebook: NotebookNode, grade_id: str) -> NotebookNode:
        """The first cell with this grade id."""
        return next(
            c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
        )

    @staticmethod
    def index(notebook: NotebookNode, grade_id: str) -> int:
        """The position of the first cell with this grade id."""
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]
        return ids.index(grade_id)

    @staticmethod
    def text(notebook: NotebookNode | dict[str, Any]) -> str:
        """The notebook serialized as Jupyter writes it (sorted keys, indent 1)."""
        return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"

    def write(
        self, content: NotebookNode | dict[str, Any] | str | bytes, name: str = "hw1.ipynb"
    ) -> Path:
        """Write a notebook, text or raw bytes to ``name`` in the test's directory."""
        path = self.directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(self.text(content), encoding="utf-8")
        return path


@pytest.fixture
def notebooks(tmp_path: Path) -> NotebookFactory:
    """A factory for the test assignment's notebooks, writing under ``tmp_path``."""
    return NotebookFactory(tmp_path)


@pytest.fixture
def template(notebooks: NotebookFactory):
    """The intake template built from the instructor's source notebook."""
    from autograder.intake import template_from_notebook

    return template_from_notebook(notebooks.source())
