"""Making the case files: per-student inputs, and the visible cases shipped with a release.

Case numbering: a student's visible cases are cases ``0 .. num_visible-1`` of
:func:`~autograder.specs.seeds.case_rng`, the hidden ones follow. The shipped visible
cases are drawn for the pseudo student ``VISIBLE_STUDENT``, so the inputs a student is
graded on differ from the ones in the release (copying expected outputs from the
shipped file earns nothing).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np

from autograder.specs.seeds import VISIBLE_STUDENT, case_rng
from autograder.specs.spec import CheckSpec, Inputs, Outputs, SpecError, SpecRegistry
from dlcourse.checks import CHECKS_FOLDER
from dlcourse.checks.calls import expected_output_names
from dlcourse.checks.casefile import (
    NAME_PATTERN,
    NUMERIC_KINDS,
    CaseData,
    CaseMeta,
    case_file_name,
    visible_file_name,
    write_case_file,
)

KINDS = ("visible", "hidden")


def case_numbers(spec: CheckSpec, kind: str) -> range:
    """The case numbers (for :func:`case_rng`) of a kind of case."""
    if kind == "visible":
        return range(spec.num_visible)
    if kind == "hidden":
        return range(spec.num_visible, spec.num_cases)
    raise ValueError(f"kind must be 'visible' or 'hidden', got {kind!r}")


def make_case_inputs(spec: CheckSpec, term_seed: int, student_id: str, case: int) -> Inputs:
    """One case's inputs, checked: a non-empty dict of numeric arrays named like parameters."""
    inputs = spec.make_inputs(case_rng(term_seed, student_id, spec.test_id, case))
    if not isinstance(inputs, dict) or not inputs:
        raise SpecError(f"spec {spec.test_id!r}: make_inputs must return a non-empty dict")
    checked = {}
    for name, value in inputs.items():
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise SpecError(f"spec {spec.test_id!r}: input name {name!r} is not an identifier")
        array = np.asarray(value)
        if array.dtype.kind not in NUMERIC_KINDS:
            raise SpecError(
                f"spec {spec.test_id!r}: input {name!r} has dtype {array.dtype}; use numbers"
            )
        checked[name] = array
    if spec.call == "forward_backward" and "dout" not in checked:
        raise SpecError(f"spec {spec.test_id!r}: a forward_backward spec needs a 'dout' input")
    return checked


def reference_outputs(spec: CheckSpec, inputs: Inputs) -> Outputs:
    """The reference's outputs for one case, as float-comparable numeric arrays.

    The reference gets copies, so a reference that modifies its inputs cannot change
    what the student is compared on.
    """
    outputs = spec.reference({name: value.copy() for name, value in inputs.items()})
    if not isinstance(outputs, dict) or not outputs:
        raise SpecError(f"spec {spec.test_id!r}: reference must return a non-empty dict")
    checked = {}
    for name, value in outputs.items():
        array = np.asarray(value)
        if not isinstance(name, str) or array.dtype.kind not in NUMERIC_KINDS:
            raise SpecError(
                f"spec {spec.test_id!r}: reference output {name!r} must be numbers named by a str"
            )
        checked[name] = array
    names = expected_output_names(spec.call, list(inputs))
    if names is not None and list(checked) != list(names):
        raise SpecError(
            f"spec {spec.test_id!r}: reference returns {list(checked)}, but the "
            f"{spec.call!r} pattern produces {list(names)}"
        )
    return checked


def _meta(spec: CheckSpec, num_cases: int, forbid: tuple[str, ...] = ()) -> CaseMeta:
    return CaseMeta(
        test_id=spec.test_id,
        call=spec.call,
        num_cases=num_cases,
        rtol=float(spec.rtol),
        atol=float(spec.atol),
        hint=spec.hint,
        forbid=forbid,
    )


def write_inputs(
    spec: CheckSpec, directory: str | PathLike[str], term_seed: int, student_id: str
) -> tuple[Path, Path]:
    """Write ``<test_id>.visible.npz`` and ``<test_id>.hidden.npz`` (inputs only)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        numbers = case_numbers(spec, kind)
        cases = [
            CaseData(inputs=make_case_inputs(spec, term_seed, student_id, case)) for case in numbers
        ]
        path = directory / case_file_name(spec.test_id, kind)
        # Only the grader's inputs carry ``forbid``: the shipped files stay as they were.
        paths.append(write_case_file(path, _meta(spec, len(cases), spec.forbid), cases))
    return paths[0], paths[1]


def write_visible_cases(spec: CheckSpec, directory: str | PathLike[str], term_seed: int) -> Path:
    """Write the shipped ``<test_id>.npz``: visible inputs and the reference's outputs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cases = []
    for case in case_numbers(spec, "visible"):
        inputs = make_case_inputs(spec, term_seed, VISIBLE_STUDENT, case)
        cases.append(CaseData(inputs=inputs, outputs=reference_outputs(spec, inputs)))
    path = directory / visible_file_name(spec.test_id)
    return write_case_file(path, _meta(spec, len(cases)), cases)


def write_release_checks(
    registry: SpecRegistry, dest_dir: str | PathLike[str], term_seed: int
) -> list[Path]:
    """Write ``<dest_dir>/checks/<test_id>.npz`` for every spec (next to the notebook)."""
    folder = Path(dest_dir) / CHECKS_FOLDER
    return [write_visible_cases(spec, folder, term_seed) for spec in registry]
