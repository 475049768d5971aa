"""Specs (trusted side): seeds, loading, case files, the verdicts and direct checks."""

from __future__ import annotations

import dataclasses
import io
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.job import VerdictStatus
from autograder.specs import (
    CheckSpec,
    SpecError,
    case_rng,
    decide,
    direct_check,
    load_specs,
    write_inputs,
    write_release_checks,
)
from autograder.specs.direct import SPECS_ENV
from dlcourse.checks import check, check_hidden
from dlcourse.checks.casefile import CaseMeta, LoadLimits, read_case_file
from dlcourse.checks.record import start_recording, stop_recording
from dlcourse.functional import activations

MINI_SPECS = Path(__file__).parent / "fixtures" / "mini" / "mini.specs.py"
TEST_ID = "relu_test"
SEED = 2024


def _make_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"x": rng.standard_normal((int(rng.integers(2, 5)), int(rng.integers(3, 6))))}


def _reference(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out, _ = activations.relu_forward(inputs["x"])
    return {"out": out}


SPEC = CheckSpec(TEST_ID, "forward", _make_inputs, _reference, hint="see relu_forward")


def reference_relu(x):
    return activations.relu_forward(x)


def grade(spec: CheckSpec, work: Path, *fns, hidden: bool = True, max_points: float = 3.0):
    """Write inputs, record like the sandbox would (check, then check_hidden), decide."""
    write_inputs(spec, work / "inputs", SEED, "s1")
    start_recording(work / "inputs", work / "outputs")
    try:
        check(spec.test_id, *fns)
        if hidden:
            check_hidden(spec.test_id, *fns)
    finally:
        stop_recording()
    return decide(spec, work / "inputs", work / "outputs", max_points)


def hidden_values(work: Path) -> list[float]:
    inputs = read_case_file(work / "inputs" / f"{TEST_ID}.hidden.npz")
    return [float(v) for case in inputs.cases for v in case.inputs["x"].ravel()]


def assert_reveals_no_inputs(message: str, work: Path) -> None:
    for value in hidden_values(work):
        for text in (repr(value), f"{value:.6g}", f"{value:.4f}"):
            assert text not in message


# ---------------------------------------------------------------------------- seeds


def test_case_rng_differs_across_students_tests_cases_and_seeds():
    draws = {
        case_rng(*key).random()
        for key in [(1, "s1", "t", 0), (1, "s2", "t", 0), (1, "s1", "u", 0), (1, "s1", "t", 1)]
        + [(2, "s1", "t", 0)]
    }
    assert len(draws) == 5


def test_case_rng_repeats_for_the_same_tuple():
    first = case_rng(1, "s1", "t", 0).standard_normal(8)
    np.testing.assert_array_equal(first, case_rng(1, "s1", "t", 0).standard_normal(8))


def test_case_rng_keeps_fields_apart():
    assert case_rng(1, "ab", "c", 0).random() != case_rng(1, "a", "bc", 0).random()


# --------------------------------------------------------------------------- loading


def test_load_specs_reads_the_fixture_specs():
    registry = load_specs(MINI_SPECS)
    assert "relu_forward_test" in registry and len(registry) == 10
    assert registry["relu_forward_test"].call == "forward"


def test_load_specs_refuses_duplicate_ids_naming_the_file(tmp_path):
    path = tmp_path / "dup.specs.py"
    path.write_text(
        "from autograder.specs import CheckSpec\n"
        "f = lambda rng: {'x': rng.random(2)}\n"
        "SPECS = [CheckSpec('a', 'call', f, f), CheckSpec('a', 'call', f, f)]\n"
    )
    with pytest.raises(SpecError, match=rf"{path}.*two specs have test_id 'a'"):
        load_specs(path)


def test_load_specs_names_a_file_without_specs(tmp_path):
    path = tmp_path / "empty.specs.py"
    path.write_text("X = 1\n")
    with pytest.raises(SpecError, match="must define SPECS"):
        load_specs(path)


def test_spec_with_an_unknown_call_pattern_is_refused():
    with pytest.raises(SpecError, match="call 'invoke' is not one of"):
        CheckSpec("t", "invoke", _make_inputs, _reference)


def test_write_release_checks_ships_cases_other_than_the_graded_ones(tmp_path):
    registry = load_specs(MINI_SPECS)
    paths = write_release_checks(registry, tmp_path / "release", SEED)
    assert sorted(p.name for p in paths) == sorted(f"{t}.npz" for t in registry.test_ids)
    assert all(p.parent == tmp_path / "release" / "checks" for p in paths)
    write_inputs(registry["relu_forward_test"], tmp_path / "inputs", SEED, "s1")
    shipped = read_case_file(tmp_path / "release" / "checks" / "relu_forward_test.npz")
    graded = read_case_file(tmp_path / "inputs" / "relu_forward_test.visible.npz")
    assert "out" in shipped.cases[0].outputs
    assert not np.array_equal(shipped.cases[0].inputs["x"], graded.cases[0].inputs["x"])


# -------------------------------------------------------------------------- decide


def test_reference_itself_earns_full_points(tmp_path):
    verdict = grade(SPEC, tmp_path, reference_relu)
    assert verdict.status is VerdictStatus.PASSED
    assert (verdict.points, verdict.passed_cases, verdict.total_cases) == (3.0, 5, 5)
    assert verdict.message == "all 5 cases passed"


def test_wrong_function_earns_zero_without_revealing_inputs(tmp_path):
    verdict = grade(SPEC, tmp_path, lambda x: (x, x))  # echoes its input
    assert verdict.status is VerdictStatus.FAILED and verdict.points == 0
    assert verdict.message.startswith(
        "5 of 5 cases wrong (visible cases 1, 2 and hidden cases 1, 2, 3); visible case 1: "
    )
    assert "max abs error" in verdict.message and "Hint: see relu_forward" in verdict.message
    assert_reveals_no_inputs(verdict.message, tmp_path)


def test_partial_credit_counts_the_cases_passed(tmp_path):
    calls = []

    def right_three_times(x):
        calls.append(1)
        return (np.maximum(x, 0) if len(calls) <= 3 else -x), x

    verdict = grade(SPEC, tmp_path, right_three_times)
    assert verdict.status is VerdictStatus.PARTIAL
    assert (verdict.passed_cases, verdict.total_cases) == (3, 5)
    assert verdict.points == pytest.approx(3.0 * 3 / 5)
    assert verdict.message.startswith("2 of 5 cases wrong (hidden cases 2, 3); hidden case 2: ")


def test_all_or_nothing_spec_gives_zero_for_some_cases_right(tmp_path):
    calls = []

    def right_three_times(x):
        calls.append(1)
        return (np.maximum(x, 0) if len(calls) <= 3 else -x), x

    spec = dataclasses.replace(SPEC, partial=False)
    verdict = grade(spec, tmp_path, right_three_times)
    assert (verdict.status, verdict.points, verdict.passed_cases) == (VerdictStatus.FAILED, 0, 3)


def test_no_outputs_file_is_missing(tmp_path):
    write_inputs(SPEC, tmp_path / "inputs", SEED, "s1")
    (tmp_path / "outputs").mkdir()
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 2)
    assert (verdict.status, verdict.points, verdict.total_cases) == (VerdictStatus.MISSING, 0, 5)
    assert "no outputs were recorded" in verdict.message


def test_hidden_cases_not_recorded_fail_but_the_test_is_not_missing(tmp_path):
    verdict = grade(SPEC, tmp_path, reference_relu, hidden=False)
    assert verdict.status is VerdictStatus.PARTIAL and verdict.passed_cases == 2
    assert "(hidden cases 1, 2, 3); hidden case 1: not recorded" in verdict.message


def test_raised_errors_are_reported_by_type_only(tmp_path):
    def leaky(x):
        raise ValueError(f"the input was {x.tolist()}")

    verdict = grade(SPEC, tmp_path, leaky)
    assert "the function raised ValueError" in verdict.message
    assert "the input was" not in verdict.message
    assert_reveals_no_inputs(verdict.message, tmp_path)


def test_wrong_shape_and_nan_are_named(tmp_path):
    shape = grade(SPEC, tmp_path / "a", lambda x: (x[:, :1], x))
    assert "output 'out' has the wrong shape: expected (" in shape.message
    nan = grade(SPEC, tmp_path / "b", lambda x: (np.full_like(x, np.nan), x))
    assert "output 'out' contains NaN" in nan.message
    assert shape.points == nan.points == 0


class _Trap:
    """Unpickling this would create the file named in the test: it must never happen."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _hidden_output(work: Path) -> Path:
    return work / "outputs" / f"{TEST_ID}.hidden.npz"


def _meta_array() -> np.ndarray:
    return np.array(CaseMeta(TEST_ID, "forward", 3, 1e-6, 1e-8).to_json())


def test_pickled_outputs_fail_the_case_and_are_never_unpickled(tmp_path):
    sentinel = tmp_path / "unpickled"
    grade(SPEC, tmp_path, reference_relu)
    trap = np.array([_Trap(str(sentinel))], dtype=object)
    arrays = {f"case{i}/out/out": trap for i in range(3)}
    np.savez(_hidden_output(tmp_path), __meta__=_meta_array(), **arrays)  # pickles
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert not sentinel.exists()
    assert verdict.passed_cases == 2 and verdict.points == 2.0
    assert "(hidden cases 1, 2, 3); hidden case 1: output 'out' is not stored as plain numbers" in (
        verdict.message
    )


def test_a_half_gigabyte_size_claim_is_refused(tmp_path):
    grade(SPEC, tmp_path, reference_relu)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("case0/out/out.npy", b"x" * 64)
    data = bytearray(buffer.getvalue())
    # Patch the central directory's "uncompressed size" to claim 500 MB.
    start = data.index(b"PK\x01\x02")
    data[start + 24 : start + 28] = struct.pack("<I", 500_000_000)
    _hidden_output(tmp_path).write_bytes(bytes(data))
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 2
    assert "claims 500000000 bytes of arrays, over the limit" in verdict.message


def test_an_array_header_claiming_half_a_gigabyte_is_refused_before_reading(tmp_path):
    grade(SPEC, tmp_path, reference_relu)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (62_500_000,)}
    )
    with zipfile.ZipFile(_hidden_output(tmp_path), "w") as archive:
        for i in range(3):
            archive.writestr(f"case{i}/out/out.npy", header.getvalue() + b"\0" * 80)
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 2
    assert "declares 500000000 bytes of data" in verdict.message


def test_an_outputs_file_over_the_size_cap_fails_its_cases(tmp_path):
    grade(SPEC, tmp_path, reference_relu)
    limits = LoadLimits(max_file_bytes=600)
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5, limits=limits)
    assert verdict.passed_cases == 0
    assert "over the limit of 600 bytes" in verdict.message


def test_wrong_output_names_fail_the_case(tmp_path):
    grade(SPEC, tmp_path, reference_relu)
    arrays = {f"case{i}/out/result_{i}": np.zeros((2, 3)) for i in range(3)}
    np.savez(_hidden_output(tmp_path), __meta__=_meta_array(), **arrays)
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 2
    assert "returned 1 output(s) named differently from the expected (out)" in verdict.message


def test_a_symlinked_outputs_file_is_not_followed(tmp_path):
    grade(SPEC, tmp_path, reference_relu)
    real = tmp_path / "elsewhere.npz"
    shutil.move(_hidden_output(tmp_path), real)
    _hidden_output(tmp_path).symlink_to(real)
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 2 and "could not be read" in verdict.message


# ---------------------------------------------------------------------- direct check


def good_relu_forward(x):
    return np.maximum(x, 0), x


def test_direct_check_passes_a_correct_function(tmp_path, monkeypatch, capsys):
    shutil.copy(MINI_SPECS, tmp_path / "mini.specs.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SPECS_ENV, raising=False)
    direct_check("relu_forward_test", good_relu_forward)
    assert "relu_forward_test: all 3 hidden cases passed" in capsys.readouterr().out


def test_direct_check_raises_for_a_wrong_function(tmp_path, monkeypatch):
    shutil.copy(MINI_SPECS, tmp_path / "mini.specs.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SPECS_ENV, raising=False)
    with pytest.raises(AssertionError, match=r"relu_forward_test, hidden case 1 of 3: output"):
        direct_check("relu_forward_test", lambda x: (x, x))


def test_direct_check_finds_specs_through_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(SPECS_ENV, str(MINI_SPECS))
    with pytest.raises(AssertionError, match="raised NotImplementedError"):
        direct_check("mse_loss_test", lambda y_hat, y: (_ for _ in ()).throw(NotImplementedError))
    monkeypatch.setenv(SPECS_ENV, str(tmp_path))
    with pytest.raises(SpecError, match="no specs define test 'mse_loss_test'"):
        direct_check("mse_loss_test", lambda y_hat, y: None)


def test_junk_before_the_zip_header_fails_the_cases_with_a_sentence(tmp_path):
    grade(SPEC, tmp_path, reference_relu)
    honest = _hidden_output(tmp_path).read_bytes()
    _hidden_output(tmp_path).write_bytes(b"junk" * 64 + honest)
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 2
    assert "is not a valid .npz archive" in verdict.message


@pytest.mark.parametrize("polyglot", [False, True], ids=["bare", "with-a-zip-inside"])
def test_a_bare_npy_renamed_npz_fails_the_cases_with_a_sentence(tmp_path, polyglot):
    grade(SPEC, tmp_path, reference_relu)
    honest = _hidden_output(tmp_path).read_bytes()
    buffer = io.BytesIO()
    # A .npy whose data bytes end in a whole zip: zipfile finds the zip, np.load an array.
    payload = np.frombuffer(honest, dtype=np.uint8) if polyglot else np.zeros(3)
    np.save(buffer, payload)
    _hidden_output(tmp_path).write_bytes(buffer.getvalue())
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 2
    assert "is not a valid .npz archive" in verdict.message


def test_any_exception_reading_one_case_fails_that_case_not_the_job(tmp_path, monkeypatch):
    deciding = sys.modules["autograder.specs.decide"]

    grade(SPEC, tmp_path, reference_relu)

    def broken(*args, **kwargs):
        raise AttributeError("'numpy.ndarray' object has no attribute 'close'")

    monkeypatch.setattr(deciding, "compare_outputs", broken)
    verdict = decide(SPEC, tmp_path / "inputs", tmp_path / "outputs", 5)
    assert verdict.passed_cases == 0 and verdict.status is VerdictStatus.FAILED
    assert "could not be read (AttributeError)" in verdict.message
