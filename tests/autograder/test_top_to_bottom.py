"""Proof (d) in a real kernel: the solution runs top to bottom within its budget."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.instructor.top_to_bottom import run_top_to_bottom


def _folder(tmp_path: Path, *cells: str) -> Path:
    folder = tmp_path / "staged"
    folder.mkdir()
    (folder / "data.txt").write_text("41")
    notebook = new_notebook(cells=[new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(notebook, folder / "nb.ipynb")
    return folder


def test_a_notebook_that_reads_its_folder_and_imports_the_library_is_proved(tmp_path):
    folder = _folder(
        tmp_path,
        "import dlcourse.functional.activations as act",
        "value = int(open('data.txt').read()) + 1\nassert value == 42",
        "open('written.txt', 'w').write('a file the notebook makes')",
    )
    run = run_top_to_bottom(folder, "nb", budget_s=120)
    assert run.failure is None
    assert run.seconds > 0
    assert not (folder / "written.txt").exists(), "the run must work on a private copy"


def test_the_kernel_computes_on_one_thread_as_a_grading_job_does(tmp_path):
    folder = _folder(
        tmp_path,
        "import os, torch\nassert os.environ['OMP_NUM_THREADS'] == '1'",
        "assert torch.get_num_threads() == 1, torch.get_num_threads()",
    )
    assert run_top_to_bottom(folder, "nb", budget_s=120).failure is None


def test_a_cell_that_raises_fails_the_proof_with_the_error(tmp_path):
    folder = _folder(tmp_path, "x = 1", "raise ValueError('the demo plot needs fc_forward')")
    run = run_top_to_bottom(folder, "nb", budget_s=120)
    assert run.failure is not None
    assert "ValueError" in run.failure
    assert "the demo plot needs fc_forward" in run.failure


def test_a_notebook_slower_than_its_budget_fails_the_proof(tmp_path):
    folder = _folder(tmp_path, "import time", "time.sleep(30)")
    run = run_top_to_bottom(folder, "nb", budget_s=2)
    assert run.failure is not None
    assert "runtime budget of 2 s" in run.failure
    assert "runtime_budget in course.toml" in run.failure
    assert run.seconds < 30


def test_a_kernel_that_dies_fails_the_proof(tmp_path):
    folder = _folder(tmp_path, "import os", "os._exit(1)")
    run = run_top_to_bottom(folder, "nb", budget_s=60)
    assert run.failure is not None
    assert "kernel died" in run.failure
