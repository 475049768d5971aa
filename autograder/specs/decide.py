"""The trusted decision: compare recorded outputs with the reference and assign points.

:func:`decide` reads the outputs the sandbox recorded as hostile data: through
:class:`~dlcourse.checks.casefile.CaseArchive` (size caps, no symlinks, headers checked
before any data is read, ``allow_pickle=False``), loading only the entries it expects,
and only after their dtype and shape have been checked against the reference's. Any
deviation fails that case alone, with a sentence saying what was wrong.

The feedback never quotes hidden inputs, reference outputs or text the sandbox wrote:
an error recorded for a case is reduced to its exception type, and comparisons run
with ``reveal=False`` (see :mod:`dlcourse.checks.compare`).

``inputs_dir`` must be the grader's own copy of the inputs (written by
:func:`~autograder.specs.cases.write_inputs` outside the sandbox), not the copy the
sandboxed notebook could have rewritten.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from autograder.course import FORBIDDEN_FLAG, FORBIDDEN_POLICIES, FORBIDDEN_ZERO
from autograder.job import TestVerdict, VerdictStatus
from autograder.specs.cases import KINDS, case_numbers, reference_outputs
from autograder.specs.spec import CheckSpec, SpecError
from dlcourse.checks.casefile import (
    NUMERIC_KINDS,
    CaseArchive,
    CaseFile,
    CaseFileError,
    EntryError,
    LoadLimits,
    case_file_name,
    error_key,
    forbidden_key,
    output_key,
    read_case_file,
)
from dlcourse.checks.compare import compare_names, compare_outputs, shape_problem
from dlcourse.checks.forbid import TRACING_OFF

_ERROR_TYPE = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,60})(?::|$)")
_NOT_RECORDED = {
    "visible": "not recorded: the test cell stopped before its check() ran",
    "hidden": "not recorded: the test cell stopped before its hidden check ran",
}


@dataclass(frozen=True)
class CaseOutcome:
    """One case's result: ``problem`` is None when it passed."""

    kind: str
    number: int
    """1-based within its kind, as a student counts."""
    problem: str | None
    forbidden: tuple[str, ...] = ()
    """Forbidden modules the case's call used (and :data:`TRACING_OFF`)."""


def decide(
    spec: CheckSpec,
    inputs_dir: str | PathLike[str],
    outputs_dir: str | PathLike[str],
    max_points: float,
    *,
    limits: LoadLimits | None = None,
    forbidden_calls: str = FORBIDDEN_FLAG,
) -> TestVerdict:
    """Judge one test from the recorded outputs; see the module docstring.

    ``forbidden_calls``: what a case whose call used a module of ``spec.forbid`` gets:
    ``"flag"`` (scored as usual, flagged) or ``"zero"`` (the case fails).
    A missing or broken *inputs* file, or a reference that fails, is the grader's own
    problem and raises (:class:`SpecError`, :class:`CaseFileError`, ...).
    """
    if isinstance(max_points, bool) or not math.isfinite(max_points) or max_points < 0:
        raise ValueError(f"max_points must be a finite number >= 0, got {max_points!r}")
    if forbidden_calls not in FORBIDDEN_POLICIES:
        raise ValueError(
            f"forbidden_calls must be one of {FORBIDDEN_POLICIES}, got {forbidden_calls!r}"
        )
    limits = limits or LoadLimits()
    outcomes: list[CaseOutcome] = []
    recorded = False
    for kind in KINDS:
        name = case_file_name(spec.test_id, kind)
        inputs = _trusted_inputs(spec, Path(inputs_dir) / name, kind)
        output_path = Path(outputs_dir) / name
        if not os.path.lexists(output_path):
            outcomes += [
                CaseOutcome(kind, number, _NOT_RECORDED[kind])
                for number in range(1, len(inputs.cases) + 1)
            ]
            continue
        recorded = True
        outcomes += _judge_file(spec, inputs, output_path, kind, limits)
    if forbidden_calls == FORBIDDEN_ZERO:
        outcomes = [
            CaseOutcome(o.kind, o.number, f"it {_used(o.forbidden)}", o.forbidden)
            if o.forbidden and o.problem is None
            else o
            for o in outcomes
        ]
    return _verdict(spec, outcomes, recorded, float(max_points))


def _used(names: tuple[str, ...]) -> str:
    """``"used torch, which this exercise must be written without"``."""
    modules = [name for name in names if name != TRACING_OFF]
    parts = [f"used {', '.join(modules)}"] if modules else []
    if TRACING_OFF in names:
        parts.append("switched off the grader's call tracing")
    return " and ".join(parts) + ", which this exercise must be written without"


def _trusted_inputs(spec: CheckSpec, path: Path, kind: str) -> CaseFile:
    inputs = read_case_file(path)  # the grader's own file: default limits
    expected = len(case_numbers(spec, kind))
    if inputs.meta.test_id != spec.test_id or len(inputs.cases) != expected:
        raise SpecError(
            f"{path} does not match spec {spec.test_id!r} ({expected} {kind} cases); "
            f"write the inputs again"
        )
    return inputs


def _judge_file(
    spec: CheckSpec, inputs: CaseFile, path: Path, kind: str, limits: LoadLimits
) -> list[CaseOutcome]:
    count = len(inputs.cases)
    try:
        archive = CaseArchive(path, limits)
    except Exception as error:  # hostile bytes: whatever the readers raise fails these cases
        unreadable = f"the recorded outputs could not be read ({_own_text(error)})"
        return [CaseOutcome(kind, number, unreadable) for number in range(1, count + 1)]
    with archive:
        names: dict[int, list[str]] = {}
        errors: set[int] = set()
        flagged: set[int] = set()
        for _, entry in archive.entries():
            if entry.section == "out":
                names.setdefault(entry.case, []).append(entry.name)
            elif entry.section == "error":
                errors.add(entry.case)
            elif entry.section == "forbidden":
                flagged.add(entry.case)
        outcomes = []
        problem: str | None
        for index, case in enumerate(inputs.cases):
            # The reference runs outside the guard: its failure is the grader's own fault.
            expected = reference_outputs(spec, case.inputs)
            try:
                problem = _judge_case(spec, archive, index, expected, names.get(index, []), errors)
            except Exception as error:  # any reader or comparison fault on recorded bytes
                problem = f"the recorded outputs could not be read ({_own_text(error)})"
            forbidden = _forbidden(spec, archive, index) if index in flagged else ()
            outcomes.append(CaseOutcome(kind, index + 1, problem, forbidden))
        return outcomes


def _forbidden(spec: CheckSpec, archive: CaseArchive, index: int) -> tuple[str, ...]:
    """The forbidden modules recorded for a case: only names the spec declared (the
    text came from the sandbox, so nothing else of it is repeated)."""
    try:
        text = archive.text(forbidden_key(index))
    except CaseFileError:
        return ()
    known = set(spec.forbid) | {TRACING_OFF}
    return tuple(sorted(known & set(text.split(","))))


def _own_text(error: Exception) -> str:
    """Our own messages are safe to show; an OS error is reduced to its description."""
    if isinstance(error, CaseFileError):
        return str(error)
    return getattr(error, "strerror", None) or type(error).__name__


def _judge_case(
    spec: CheckSpec,
    archive: CaseArchive,
    index: int,
    expected: dict[str, np.ndarray],
    got_names: list[str],
    errors: set[int],
) -> str | None:
    """The problem with one recorded case, or None when its outputs match ``expected``."""
    if index in errors:
        return _error_problem(archive, error_key(index))
    if not got_names:
        return "nothing was recorded for this case"
    problem = compare_names(got_names, list(expected), reveal=False)
    if problem is not None:
        return problem
    got: dict[str, np.ndarray] = {}
    for name, want in expected.items():
        key = output_key(index, name)
        try:
            shape, dtype = archive.header(key)
            if dtype.kind not in NUMERIC_KINDS:
                return f"output '{name}' is not stored as numbers"
            if shape != want.shape:
                return shape_problem(f"output '{name}'", shape, want.shape, reveal=False)
            got[name] = archive.array(key)
        except EntryError as error:
            return f"output '{name}' {error.reason}"
    return compare_outputs(got, expected, spec.rtol, spec.atol, reveal=False)


def _error_problem(archive: CaseArchive, key: str) -> str:
    """Describe a recorded error by its exception type only (its message could carry
    hidden inputs the student's code put there)."""
    try:
        text = archive.text(key)
    except CaseFileError:
        return "the function failed (its error could not be read)"
    match = _ERROR_TYPE.match(text)
    kind = match.group(1) if match else None
    if kind == "ReturnedNoneError":
        return "the function returned None (a missing `return`?)"
    if kind == "ResultError":
        return (
            "the function's result was not the expected arrays of numbers (wrong type or "
            "number of values; the visible test's message says which)"
        )
    if kind == "Interrupted":
        return "not run: the cell was stopped (time limit?) before this case"
    return f"the function raised {kind}" if kind else "the function raised an exception"


def _verdict(
    spec: CheckSpec, outcomes: list[CaseOutcome], recorded: bool, max_points: float
) -> TestVerdict:
    total = len(outcomes)
    passed = sum(outcome.problem is None for outcome in outcomes)
    if not recorded:
        return TestVerdict(
            test_id=spec.test_id,
            status=VerdictStatus.MISSING,
            points=0.0,
            max_points=max_points,
            passed_cases=0,
            total_cases=total,
            message=(
                "no outputs were recorded: the test cell did not reach its checks "
                "(an error earlier in the notebook, a time limit, or the notebook stopped)"
            ),
        )
    forbidden = sorted({name for outcome in outcomes for name in outcome.forbidden})
    message = feedback(outcomes, spec.hint)
    if forbidden:
        message += f". Your code {_used(tuple(forbidden))}; the course team is told"
    if passed == total:
        status, points = VerdictStatus.PASSED, max_points
    elif spec.partial and passed:
        status, points = VerdictStatus.PARTIAL, round(max_points * passed / total, 6)
    else:
        status, points = VerdictStatus.FAILED, 0.0
    return TestVerdict(
        test_id=spec.test_id,
        status=status,
        points=points,
        max_points=max_points,
        passed_cases=passed,
        total_cases=total,
        message=message,
        forbidden=forbidden,
    )


def feedback(outcomes: list[CaseOutcome], hint: str = "") -> str:
    """E.g. ``"2 of 5 cases wrong (hidden cases 1, 3); hidden case 1: output 'out' has the
    wrong shape: expected (4, 5). Hint: ..."``: which cases, then the first problem."""
    wrong = [outcome for outcome in outcomes if outcome.problem is not None]
    if not wrong:
        return f"all {len(outcomes)} cases passed"
    first = wrong[0]
    text = (
        f"{len(wrong)} of {len(outcomes)} cases wrong ({_labels(wrong)}); "
        f"{_labels([first])}: {first.problem}"
    )
    return f"{text}. Hint: {hint}" if hint else text


def _labels(outcomes: list[CaseOutcome]) -> str:
    parts = []
    for kind in KINDS:
        numbers = [str(outcome.number) for outcome in outcomes if outcome.kind == kind]
        if numbers:
            plural = "s" if len(numbers) > 1 else ""
            parts.append(f"{kind} case{plural} {', '.join(numbers)}")
    return " and ".join(parts)
