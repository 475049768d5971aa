"""The student-side check API: visible checks in the student's kernel, recording mode."""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tomllib

import dlcourse.checks as checks
from autograder.specs import CheckSpec, decide, direct_check, write_inputs, write_visible_cases
from dlcourse.checks import check, check_hidden
from dlcourse.checks.casefile import (
    CaseArchive,
    CaseData,
    CaseFileError,
    CaseMeta,
    LoadLimits,
    read_case_file,
    write_case_file,
)
from dlcourse.checks.record import is_recording, start_recording, stop_recording
from dlcourse.checks.run import run_cases
from dlcourse.functional import activations

REPO = Path(__file__).resolve().parents[2]
TEST_ID = "relu_test"
HINT = "look at relu_forward in section 1"


def _make_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"x": rng.standard_normal((int(rng.integers(2, 5)), int(rng.integers(3, 6))))}


def _reference(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out, _ = activations.relu_forward(inputs["x"])
    return {"out": out}


SPEC = CheckSpec(TEST_ID, "forward", _make_inputs, _reference, hint=HINT)


def good_relu(x):
    return np.maximum(x, 0), x


def doubled_relu(x):
    return 2 * np.maximum(x, 0) + (x < 0) * 0.5, x


def narrow_relu(x):
    return np.maximum(x, 0)[:, :-1], x


def crashing_relu(x):
    raise ZeroDivisionError("boom")


# ------------------------------------------------------------------------ student mode


@pytest.fixture
def release_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A release folder with checks/relu_test.npz, as the working directory."""
    write_visible_cases(SPEC, tmp_path / "checks", term_seed=7)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_correct_function_passes_and_says_so(release_dir, capsys):
    check(TEST_ID, good_relu)
    assert f"{TEST_ID}: all 2 visible cases passed" in capsys.readouterr().out


def test_wrong_values_name_the_test_case_index_values_and_hint(release_dir):
    cases = read_case_file(release_dir / "checks" / f"{TEST_ID}.npz").cases
    x = cases[0].inputs["x"]
    index = tuple(int(i) for i in np.argwhere(np.maximum(x, 0) != doubled_relu(x)[0])[0])
    with pytest.raises(AssertionError) as caught:
        check(TEST_ID, doubled_relu)
    message = str(caught.value)
    assert f"{TEST_ID}, visible case 1 of 2" in message
    assert f"first at index {index}" in message
    assert f"expected {np.maximum(x, 0)[index]:.6g}" in message
    assert f"got {doubled_relu(x)[0][index]:.6g}" in message
    assert "max abs error" in message and "tolerance" in message
    assert f"Hint: {HINT}" in message


def test_wrong_shape_is_reported_with_both_shapes(release_dir):
    x = read_case_file(release_dir / "checks" / f"{TEST_ID}.npz").cases[0].inputs["x"]
    n, m = x.shape
    with pytest.raises(AssertionError, match=rf"has shape \({n}, {m - 1}\), expected \({n}, {m}\)"):
        check(TEST_ID, narrow_relu)


def test_function_that_raises_is_reported_as_raising_with_its_exception(release_dir):
    with pytest.raises(AssertionError) as caught:
        check(TEST_ID, crashing_relu)
    assert "your function crashing_relu raised ZeroDivisionError: boom" in str(caught.value)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_result_of_the_wrong_form_is_explained(release_dir):
    with pytest.raises(AssertionError, match=r"should return a pair \(out, cache\)"):
        check(TEST_ID, lambda x: np.maximum(x, 0))


def test_missing_case_file_names_the_file_the_folder_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as caught:
        check(TEST_ID, good_relu)
    message = str(caught.value)
    assert f"{TEST_ID}.npz" in message
    assert str(tmp_path / "checks") in message
    assert "Run the notebook from its own folder" in message


# ------------------------------------------------------- hidden checks outside the grader


def test_check_hidden_hands_over_to_the_registered_checker(monkeypatch):
    calls = []
    monkeypatch.setattr(
        checks, "_hidden_checker", lambda test_id, *fns: calls.append((test_id, fns))
    )
    check_hidden(TEST_ID, good_relu)
    assert calls == [(TEST_ID, (good_relu,))]


def test_check_hidden_without_a_grader_says_where_hidden_checks_run(monkeypatch, capsys):
    monkeypatch.setattr(checks, "_hidden_checker", None)
    monkeypatch.setattr(checks, "entry_points", lambda group: [])
    check_hidden(TEST_ID, crashing_relu)
    assert "hidden checks run only under the course's grader" in capsys.readouterr().out


def test_the_grader_registers_its_direct_check_as_an_entry_point():
    """pyproject.toml offers autograder's direct_check under the group check_hidden reads."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"][checks.HIDDEN_CHECKS_GROUP]["direct"]
    module, _, name = declared.partition(":")
    assert getattr(importlib.import_module(module), name) is direct_check


def test_hidden_cases_run_in_the_visible_loop_without_revealing_anything():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    expected = {"out": np.maximum(x, 0)}
    with pytest.raises(AssertionError) as caught:
        run_cases(TEST_ID, "hidden", [doubled_relu], [({"x": x}, expected)], call="forward",
                  rtol=1e-6, atol=1e-8, hint=HINT, reveal=False)  # fmt: skip
    message = str(caught.value)
    assert message.startswith(f"{TEST_ID}, hidden case 1 of 1: output 'out'")
    assert "Inputs:" not in message and "got" not in message and f"Hint: {HINT}" in message
    with pytest.raises(AssertionError) as caught:
        run_cases(TEST_ID, "hidden", [crashing_relu], [({"x": x}, expected)], call="forward",
                  rtol=1e-6, atol=1e-8, reveal=False)  # fmt: skip
    assert str(caught.value).endswith("raised ZeroDivisionError") and caught.value.__cause__ is None


# ---------------------------------------------------------------------- recording mode


@pytest.fixture
def recording(tmp_path: Path):
    """Recording mode over freshly written inputs for one student; outputs folder path."""
    write_inputs(SPEC, tmp_path / "inputs", term_seed=7, student_id="s1")
    start_recording(tmp_path / "inputs", tmp_path / "outputs")
    try:
        yield tmp_path
    finally:
        stop_recording()


def _outputs(work: Path, kind: str = "hidden"):
    return read_case_file(work / "outputs" / f"{TEST_ID}.{kind}.npz")


def _inputs(work: Path, kind: str = "hidden"):
    return read_case_file(work / "inputs" / f"{TEST_ID}.{kind}.npz")


def test_recording_writes_every_case_and_prints_nothing(recording, capsys):
    assert is_recording()
    check(TEST_ID, good_relu)
    check_hidden(TEST_ID, good_relu)
    for kind, count in (("visible", 2), ("hidden", 3)):
        recorded = _outputs(recording, kind)
        assert len(recorded.cases) == count
        for case, given in zip(recorded.cases, _inputs(recording, kind).cases, strict=True):
            assert case.error is None
            np.testing.assert_array_equal(case.outputs["out"], np.maximum(given.inputs["x"], 0))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_exceptions_are_recorded_per_case(recording):
    calls = []

    def flaky_relu(x):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("second case fails")
        return np.maximum(x, 0), x

    check_hidden(TEST_ID, flaky_relu)
    cases = _outputs(recording).cases
    assert [case.error for case in cases] == [None, "ValueError: second case fails", None]
    assert "out" in cases[0].outputs and "out" in cases[2].outputs


class LyingArray:
    """Claims to equal everything, as a cheat that hopes for an ``==`` check."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    ("returned", "expected_error"),
    [
        ({"out": 1.0}, "ResultError: out returned by <lambda> is a dict"),
        (LyingArray(), "ResultError: out returned by <lambda> is a LyingArray"),
        (np.array([object()], dtype=object), "ResultError: out returned by <lambda> has dtype"),
        ("0.5", "ResultError: out returned by <lambda> is a str"),
    ],
)
def test_non_array_results_are_recorded_as_errors_never_pickled(
    recording, returned, expected_error
):
    check_hidden(TEST_ID, lambda x: (returned, x))
    path = recording / "outputs" / f"{TEST_ID}.hidden.npz"
    for case in read_case_file(path).cases:
        assert case.error is not None and case.error.startswith(expected_error)
        assert case.outputs == {}
    with CaseArchive(path) as archive:
        assert all(not archive.header(key)[1].hasobject for key in archive.keys)


def test_a_list_of_numbers_is_converted_strictly_to_float(recording):
    check_hidden(TEST_ID, lambda x: (np.maximum(x, 0).tolist(), x))
    for case, given in zip(_outputs(recording).cases, _inputs(recording).cases, strict=True):
        assert case.outputs["out"].dtype == np.float64
        np.testing.assert_array_equal(case.outputs["out"], np.maximum(given.inputs["x"], 0))


def test_check_never_raises_in_recording_mode(recording):
    def exits(x):
        raise SystemExit(3)

    check(TEST_ID, exits)
    check_hidden(TEST_ID)  # no function at all
    check_hidden(TEST_ID, 42)  # not a function
    check("../../escape", good_relu)  # not a grade id: ignored
    check("no_such_test", good_relu)  # no inputs for it: ignored
    assert _outputs(recording, "visible").cases[0].error == "SystemExit: 3"
    assert _outputs(recording).cases[0].error.startswith("CallError: expected a function")
    assert sorted(p.name for p in (recording / "outputs").iterdir()) == [
        f"{TEST_ID}.hidden.npz",
        f"{TEST_ID}.visible.npz",
    ]
    assert not (recording.parent / "escape.visible.npz").exists()


def test_an_interruption_keeps_the_finished_cases_and_propagates(recording):
    calls = []

    def slow_relu(x):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return np.maximum(x, 0), x

    with pytest.raises(KeyboardInterrupt):
        check_hidden(TEST_ID, slow_relu)
    cases = _outputs(recording).cases
    assert "out" in cases[0].outputs
    assert all(case.error.startswith("Interrupted") for case in cases[1:])


# ----------------------------------------------------------------------- case files


def test_case_files_refuse_to_store_object_arrays(tmp_path):
    meta = CaseMeta(TEST_ID, "forward", 1, 1e-6, 1e-8)
    with pytest.raises(ValueError, match="cannot be stored"):
        write_case_file(tmp_path / "x.npz", meta, [CaseData(outputs={"out": np.array([None])})])
    assert list(tmp_path.iterdir()) == []


def test_reading_refuses_files_over_the_size_cap(tmp_path):
    meta = CaseMeta(TEST_ID, "forward", 1, 1e-6, 1e-8)
    path = write_case_file(tmp_path / "x.npz", meta, [CaseData(inputs={"x": np.zeros(1000)})])
    with pytest.raises(CaseFileError, match="over the limit of 4096 bytes"):
        read_case_file(path, LoadLimits(max_file_bytes=4096))


def test_reading_refuses_a_pickled_array(tmp_path):
    path = tmp_path / "evil.npz"
    meta = np.array(CaseMeta(TEST_ID, "forward", 1, 1e-6, 1e-8).to_json())
    np.savez(path, **{"__meta__": meta, "case0/in/x": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CaseFileError, match="not stored as plain numbers"):
        read_case_file(path)
    with zipfile.ZipFile(path) as archive:  # the attack really was a pickle
        assert len(archive.namelist()) == 2


# ------------------------------------------------- a forgotten return, the student's frames


def _no_return_backward(dout, cache):
    dx = dout * (cache > 0)  # noqa: F841 -- the forgotten `return dx` is the point


def test_a_backward_that_returns_none_is_said_to_return_none():
    x = np.array([[1.0, -2.0]])
    with pytest.raises(checks.calls.ReturnedNoneError, match="dx returned by _no_return_backward"
                       " is None: the function returned None"):  # fmt: skip
        checks.calls.CALLS["forward_backward"](
            [good_relu, _no_return_backward], {"x": x, "dout": np.ones_like(x)}
        )


def test_a_forward_that_returns_none_is_said_to_return_none(release_dir):
    with pytest.raises(AssertionError, match=r"returned None instead of a pair \(out, cache\)"):
        check(TEST_ID, lambda x: None)


def test_the_grader_says_returned_none_from_the_recorded_type_alone(recording):
    check(TEST_ID, lambda x: None)
    check_hidden(TEST_ID, lambda x: None)
    inputs, outputs = recording / "inputs", recording / "outputs"
    verdict = decide(SPEC, inputs, outputs, max_points=2.0)
    assert "the function returned None (a missing `return`?)" in verdict.message


def test_a_failure_in_ipython_shows_the_message_and_the_student_s_frame_only(release_dir):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.colors = "nocolor"
    shell.user_ns.update(check=check, np=np)
    try:
        shell.run_cell("def my_relu(x):\n    return 1 / 0\n")
        with capture_output() as shown:
            shell.run_cell(f"check({TEST_ID!r}, my_relu)")
    finally:
        InteractiveShell.clear_instance()
    text = shown.stdout + shown.stderr
    assert "your function my_relu raised ZeroDivisionError: division by zero" in text
    assert "return 1 / 0" in text  # the student's own frame
    library = str(Path(checks.__file__).parent)
    assert library not in text, text  # no frame of the check library
