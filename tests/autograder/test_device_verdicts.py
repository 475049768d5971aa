"""CPU and GPU verdicts agree: every module test of the course, decided on both devices.

For each spec of ``solutions/`` that grades a PyTorch module, the reference class runs
the student's cases once on the CPU (the expected outputs the grader stores) and once on
CUDA, as a GPU runner's sandbox runs a submission; the outputs from CUDA must pass the
comparison the grader makes, within the spec's own tolerance. Where no GPU exists the
test is skipped by its ``gpu`` marker, saying so; the CPU side of every case is exercised
by the release proof on every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.specs import load_specs, make_case_inputs, reference_outputs
from dlcourse.checks.compare import compare_outputs
from dlcourse.checks.modules import DEVICE_VARIABLE, PATTERNS

REPO = Path(__file__).resolve().parents[2]
MODULE_SPECS = [
    (path, spec.test_id)
    for path in sorted((REPO / "solutions").glob("*/*.specs.py"))
    for spec in load_specs(path)
    if spec.call in PATTERNS
]


def test_the_course_has_module_tests_to_compare():
    assert MODULE_SPECS, "no spec of solutions/ uses a module call pattern"


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("specs_path", "test_id"),
    MODULE_SPECS,
    ids=[
        f"{path.parent.name}/{path.name.split('.')[0]}:{test_id}" for path, test_id in MODULE_SPECS
    ],
)
def test_a_module_test_decides_the_same_on_cuda(specs_path, test_id, monkeypatch):
    spec = load_specs(specs_path)[test_id]
    for case in range(spec.num_cases):
        inputs = make_case_inputs(spec, 20261207, "device-student", case)
        monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
        expected = reference_outputs(spec, inputs)
        monkeypatch.setenv(DEVICE_VARIABLE, "cuda")
        on_gpu = reference_outputs(spec, inputs)
        problem = compare_outputs(on_gpu, expected, spec.rtol, spec.atol, reveal=True)
        assert problem is None, f"{test_id}, case {case}: {problem}"
