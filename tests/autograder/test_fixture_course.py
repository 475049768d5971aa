"""The fixture course ``fixtures/mini``: nbgrader accepts it and its solution earns full marks.

A temporary nbgrader course is built once per module: ``source/mini`` holds the source
notebook, its specs and the shipped visible cases, and the real ``nbgrader
generate_assignment`` writes the release. The grading checks run in-process: the
notebook's code cells are executed in recording mode (no sandbox) and every test is
judged with :func:`autograder.specs.decide`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.intake import CellRole, TemplateKind, load_template
from autograder.job import VerdictStatus
from autograder.specs import SpecRegistry, decide, load_specs, write_inputs, write_release_checks
from dlcourse.checks.record import start_recording, stop_recording

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
TERM_SEED = 11
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Course:
    source: Path
    """``source/mini/mini.ipynb``"""
    release: Path
    """``release/mini/mini.ipynb`` as written by nbgrader"""
    registry: SpecRegistry


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    root = tmp_path_factory.mktemp("course")
    source = root / "source" / "mini"
    source.mkdir(parents=True)
    shutil.copy(FIXTURE / "mini.ipynb", source)
    shutil.copy(FIXTURE / "mini.specs.py", source)
    registry = load_specs(source / "mini.specs.py")
    write_release_checks(registry, source, TERM_SEED)
    # The specs stay out of the release: students must not get the input generators.
    ignore = json.dumps(["*.specs.py", ".ipynb_checkpoints", "__pycache__", "*.pyc"])
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(VENV_BIN / "nbgrader"), "generate_assignment", "mini", "--force",
         f"--CourseDirectory.ignore={ignore}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return Course(source / "mini.ipynb", root / "release" / "mini" / "mini.ipynb", registry)


def _code_cells(path: Path) -> list[Any]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def _run_cells(sources: list[str], namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute cell sources in order in one namespace, as a kernel would."""
    namespace = {} if namespace is None else namespace
    for index, source in enumerate(sources):
        exec(compile(source, f"<cell {index}>", "exec"), namespace)  # noqa: S102
    return namespace


def _grade(sources: list[str], registry: SpecRegistry, work: Path) -> dict[str, Any]:
    """Record the cells' checks for one student and decide every test (no sandbox)."""
    for spec in registry:
        write_inputs(spec, work / "inputs", TERM_SEED, "student1")
    start_recording(work / "inputs", work / "outputs")
    try:
        _run_cells(sources)
    finally:
        stop_recording()
    points = load_template(FIXTURE / "mini.ipynb").points_by_id
    return {
        spec.test_id: decide(spec, work / "inputs", work / "outputs", points[spec.test_id])
        for spec in registry
    }


# --------------------------------------------------------------------------- the files


def test_committed_notebook_matches_its_generator():
    loader = importlib.util.spec_from_file_location("make_mini", FIXTURE / "make_mini.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    assert (FIXTURE / "mini.ipynb").read_text(encoding="utf-8") == module.render()


def test_committed_notebook_has_no_outputs():
    assert all(
        not c.outputs and c.execution_count is None for c in _code_cells(FIXTURE / "mini.ipynb")
    )


def test_intake_accepts_the_source_and_every_test_has_a_spec():
    template = load_template(FIXTURE / "mini.ipynb")
    registry = load_specs(FIXTURE / "mini.specs.py")
    assert template.kind is TemplateKind.SOURCE
    tests = [cell.grade_id for cell in template.cells if cell.role is CellRole.TESTS]
    assert sorted(tests) == sorted(registry.test_ids) and len(tests) == 10
    manual = [cell for cell in template.cells if cell.role is CellRole.MANUAL_ANSWER]
    assert [(cell.grade_id, cell.points) for cell in manual] == [("dead_relu_answer", 2.0)]
    assert all(1 <= template.points_by_id[test] <= 3 for test in tests)
    assert template.max_score == 19


def test_setup_cell_imports_numpy_torch_and_the_check_api():
    setup = _code_cells(FIXTURE / "mini.ipynb")[0]
    assert setup.metadata.nbgrader["locked"] is True
    for line in ("import numpy as np", "import torch", "from dlcourse.checks import check"):
        assert line in setup.source


# ---------------------------------------------------------------------------- nbgrader


@pytest.mark.slow
def test_release_has_no_solutions_no_hidden_tests_and_no_specs(course):
    text = course.release.read_text(encoding="utf-8")
    for secret in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", 'check_hidden("', "Rubric"):
        assert secret not in text
    assert "np.maximum(x, 0)" not in text and "raise NotImplementedError()" in text
    folder = course.release.parent
    assert not list(folder.glob("*.specs.py"))
    shipped = sorted(path.name for path in (folder / "checks").iterdir())
    assert shipped == sorted(f"{test_id}.npz" for test_id in course.registry.test_ids)
    assert load_template(course.release).kind is TemplateKind.RELEASE


@pytest.mark.slow
def test_nbgraders_release_is_what_intake_expects_the_student_to_get(course):
    """The blanks below are intake's model of the release; nbgrader must agree with it."""
    template = load_template(course.source)
    released = nbformat.read(course.release, as_version=4).cells
    assert [cell.source for cell in released] == [cell.release_source for cell in template.cells]


# ------------------------------------------------------------------------------ grading


def test_release_visible_checks_pass_with_the_solutions(tmp_path, monkeypatch, capsys):
    """In the student's kernel (the release folder as cwd) the solution passes check()."""
    template = load_template(FIXTURE / "mini.ipynb")
    write_release_checks(load_specs(FIXTURE / "mini.specs.py"), tmp_path, TERM_SEED)
    sources = [
        cell.source if cell.role.is_answer else cell.release_source
        for cell in template.cells
        if cell.cell_type == "code"
    ]
    monkeypatch.chdir(tmp_path)
    _run_cells(sources)
    assert capsys.readouterr().out.count("visible cases passed") == 10


def test_the_solution_earns_full_marks(tmp_path):
    registry = load_specs(FIXTURE / "mini.specs.py")
    verdicts = _grade(
        [cell.source for cell in _code_cells(FIXTURE / "mini.ipynb")], registry, tmp_path
    )
    failures = {
        test: v.message for test, v in verdicts.items() if v.status is not VerdictStatus.PASSED
    }
    assert failures == {}
    assert all(v.points == v.max_points and v.total_cases == 5 for v in verdicts.values())
    assert sum(v.points for v in verdicts.values()) == 17  # 19 minus the written answer


def test_the_blank_release_earns_zero(tmp_path):
    """The release's blank answers in the source's test cells, as intake restores them."""
    template = load_template(FIXTURE / "mini.ipynb")
    sources = [
        cell.release_source if cell.role.is_answer else cell.source
        for cell in template.cells
        if cell.cell_type == "code"
    ]
    verdicts = _grade(sources, load_specs(FIXTURE / "mini.specs.py"), tmp_path)
    assert {v.status for v in verdicts.values()} == {VerdictStatus.FAILED}
    assert sum(v.points for v in verdicts.values()) == 0
    assert all("raised NotImplementedError" in v.message for v in verdicts.values())
