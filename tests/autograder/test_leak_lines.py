"""Which lines count as secret: the unit rules of the release leak check."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.instructor.leaks import find_leaks
from autograder.intake import template_from_notebook

SOLUTION_BODY = "    grads = compute_the_gradients(dout, cache)"


def _source_notebook(function: str, returned: str, *, return_inside: bool):
    """A source notebook with one solution cell for ``function``."""
    region = ["    ### BEGIN SOLUTION", SOLUTION_BODY]
    tail = [f"    return {returned}"]
    lines = [f"def {function}(dout, cache):", *(region + tail if return_inside else region)]
    lines += ["    ### END SOLUTION"] + ([] if return_inside else tail)
    cell = new_code_cell("\n".join(lines))
    cell.metadata["nbgrader"] = {
        "grade": False, "solution": True, "locked": False, "schema_version": 3,
        "grade_id": function,
    }  # fmt: skip
    notebook = new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    return notebook


def _release_text(function: str, returned: str) -> str:
    """What nbgrader hands out for a cell whose ``return`` sits after the region."""
    body = ["    # YOUR CODE HERE", "    raise NotImplementedError()", f"    return {returned}"]
    return "\n".join([f"def {function}(dout, cache):", *body])


def _write_release(folder: Path, cells: dict[str, str]) -> None:
    for name, text in cells.items():
        nbformat.write(new_notebook(cells=[new_code_cell(text)]), folder / f"{name}.ipynb")


def _leaks(folder: Path, notebooks):
    templates = [template_from_notebook(notebook) for notebook in notebooks]
    return find_leaks(folder, templates, [], [], 0)


def test_a_line_one_notebook_hands_out_is_no_leak_though_another_hides_it(tmp_path):
    hands_out = _source_notebook("fc_backward", "dx, dw, db", return_inside=False)
    hides = _source_notebook("maxout_backward", "dx, dw, db", return_inside=True)
    _write_release(tmp_path, {"backprop": _release_text("fc_backward", "dx, dw, db")})

    assert _leaks(tmp_path, [hands_out, hides]) == []


def test_a_line_no_notebook_hands_out_is_still_a_leak(tmp_path):
    hides = _source_notebook("maxout_backward", "dx, dw, db", return_inside=True)
    _write_release(tmp_path, {"notes": f"print('hint')\n{SOLUTION_BODY}"})

    leaks = _leaks(tmp_path, [hides])
    assert [leak.file for leak in leaks] == ["notes.ipynb"]
    assert "compute_the_gradients" in leaks[0].reason
