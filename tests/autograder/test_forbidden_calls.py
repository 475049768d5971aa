"""The forbidden-shortcuts policy: an exercise declares modules it must be written without;
the recording notes calls into them, and the term's ``forbidden_calls`` prices them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.course import CourseError, Table, Term
from autograder.instructor.terms import load_term, render_term
from autograder.job import VerdictStatus
from autograder.specs import CheckSpec, decide, write_inputs
from autograder.specs.spec import SpecError
from dlcourse.checks.casefile import case_file_name, read_case_file
from dlcourse.checks.record import record, start_recording, stop_recording

SPEC = CheckSpec(
    "relu_test",
    "call",
    lambda rng: {"x": rng.standard_normal((3, 4))},
    lambda inputs: {"out": np.maximum(inputs["x"], 0.0)},
    forbid=("torch", "scipy"),
)


def _numpy_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _recorded(tmp_path: Path, function) -> tuple[Path, Path]:
    """Record ``function`` on the spec's inputs as the runner would; (inputs, outputs)."""
    inputs, outputs = tmp_path / "inputs", tmp_path / "outputs"
    write_inputs(SPEC, inputs, term_seed=3, student_id="s1")
    start_recording(inputs, outputs)
    try:
        for kind in ("visible", "hidden"):
            record(SPEC.test_id, kind, [function])
    finally:
        stop_recording()
    return inputs, outputs


def test_the_inputs_tell_the_recording_what_is_forbidden(tmp_path):
    inputs, _ = _recorded(tmp_path, _numpy_relu)
    meta = read_case_file(inputs / case_file_name(SPEC.test_id, "hidden")).meta
    assert meta.forbid == ("torch", "scipy")


def test_an_honest_numpy_answer_is_not_flagged(tmp_path):
    inputs, outputs = _recorded(tmp_path, _numpy_relu)
    verdict = decide(SPEC, inputs, outputs, 2.0, forbidden_calls="zero")
    assert (verdict.status, verdict.points, verdict.forbidden) == (VerdictStatus.PASSED, 2.0, [])


def _torch_relu(device: str):
    def relu(x: np.ndarray) -> np.ndarray:
        return torch.relu(torch.as_tensor(x, device=device)).cpu().numpy()

    return relu


def test_a_torch_answer_is_flagged_and_scores_under_the_default_policy(tmp_path, device):
    inputs, outputs = _recorded(tmp_path, _torch_relu(device))
    verdict = decide(SPEC, inputs, outputs, 2.0)
    assert verdict.status is VerdictStatus.PASSED and verdict.points == 2.0
    assert verdict.forbidden == ["torch"]
    assert "used torch, which this exercise must be written without" in verdict.message
    assert "the course team is told" in verdict.message


def test_with_the_zero_policy_every_case_that_used_torch_fails(tmp_path, device):
    inputs, outputs = _recorded(tmp_path, _torch_relu(device))
    verdict = decide(SPEC, inputs, outputs, 2.0, forbidden_calls="zero")
    assert (verdict.status, verdict.points, verdict.passed_cases) == (
        VerdictStatus.FAILED,
        0.0,
        0,
    )
    assert verdict.forbidden == ["torch"]


def test_a_forged_flag_names_only_declared_modules(tmp_path):
    """The flag text comes from the sandbox: nothing but declared names is repeated."""
    inputs, outputs = _recorded(tmp_path, _numpy_relu)
    from dlcourse.checks.casefile import write_case_file

    path = outputs / case_file_name(SPEC.test_id, "hidden")
    data = read_case_file(path)
    data.cases[0].forbidden = "torch,<script>hidden input 0.123</script>"
    write_case_file(path, data.meta, data.cases)
    verdict = decide(SPEC, inputs, outputs, 2.0)
    assert verdict.forbidden == ["torch"] and "0.123" not in verdict.message


def test_an_unknown_policy_and_a_bare_string_are_refused():
    with pytest.raises(ValueError, match="forbidden_calls must be one of"):
        decide(SPEC, ".", ".", 1.0, forbidden_calls="warn")
    with pytest.raises(SpecError, match="forbid must be a tuple of module names"):
        CheckSpec("t", "call", SPEC.make_inputs, SPEC.reference, forbid="torch")


def test_the_term_file_holds_the_policy(tmp_path):
    path = tmp_path / "t1.toml"
    path.write_text('term_id = "t1"\nseed = 5\nforbidden_calls = "zero"\n')
    term = load_term(path)
    assert term.forbidden_calls == "zero"
    path.write_text(render_term(term))
    assert load_term(path) == term
    assert Term.from_table(Table("x", "", {"seed": 1})).forbidden_calls == "flag"
    with pytest.raises(CourseError, match="forbidden_calls must be 'flag' or 'zero'"):
        Term.from_table(Table("x", "", {"seed": 1, "forbidden_calls": "warn"}))
