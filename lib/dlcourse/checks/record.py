"""Recording mode: run the student's functions on the grader's inputs and save the outputs.

The runner switches it on with :func:`start_recording` before the notebook's first
cell. From then on ``check`` / ``check_hidden`` call :func:`record`, which runs the
test's call pattern on every case of ``inputs/<test_id>.<kind>.npz`` and writes
``outputs/<test_id>.<kind>.npz`` atomically. Whatever the student's code does, a case
ends up either with numeric outputs or with ``case<i>/error``.

``record`` never raises for anything the student's code does and prints nothing about
the inputs: a failure is data for the trusted side to judge. The one exception is an
interruption that is not an ``Exception`` (``KeyboardInterrupt``, the runner's cell
timeout): the cases done so far are saved, the rest are marked interrupted, and the
interruption continues so the runner can stop the cell.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.checks.calls import CALLS, ResultError, StudentCodeError, describe_exception
from dlcourse.checks.casefile import (
    CaseData,
    CaseMeta,
    LoadLimits,
    case_file_name,
    read_case_file,
    write_case_file,
)
from dlcourse.checks.forbid import watch

#: What one case's outputs may add up to; larger results are recorded as an error so
#: the outputs file stays far below the grader's size cap.
MAX_CASE_OUTPUT_BYTES = 8 * 2**20


@dataclass(frozen=True)
class _Session:
    inputs_dir: Path
    outputs_dir: Path
    limits: LoadLimits


_session: _Session | None = None


def start_recording(
    inputs_dir: str | PathLike[str],
    outputs_dir: str | PathLike[str],
    limits: LoadLimits | None = None,
) -> None:
    """Switch recording mode on; ``outputs_dir`` is created when missing."""
    global _session
    inputs = Path(inputs_dir)
    if not inputs.is_dir():
        raise ValueError(f"inputs_dir {inputs} is not a directory; write the inputs first")
    outputs = Path(outputs_dir)
    outputs.mkdir(parents=True, exist_ok=True)
    _session = _Session(inputs.absolute(), outputs.absolute(), limits or LoadLimits())


def stop_recording() -> None:
    """Switch recording mode off (back to the student's behaviour)."""
    global _session
    _session = None


def is_recording() -> bool:
    """Whether ``check`` / ``check_hidden`` record instead of checking."""
    return _session is not None


def record(test_id: str, kind: str, fns: Sequence[Callable[..., Any]]) -> None:
    """Record the outputs of ``fns`` on every case of one inputs file. Never raises."""
    session = _session
    if session is None:
        return
    try:
        name = case_file_name(test_id, kind)
        inputs = read_case_file(session.inputs_dir / name, session.limits)
    except Exception as error:  # unknown test id, no inputs: nothing to record
        # The message names the file only; it never shows what the inputs hold.
        print(
            f"[grader] no inputs to record for {test_id!r} ({type(error).__name__})",
            file=sys.stderr,
        )
        return
    cases: list[CaseData] = []
    try:
        for case in inputs.cases:
            cases.append(_run_case(inputs.meta.call, fns, case.inputs, inputs.meta.forbid))
    finally:
        # Runs after an interruption too, so the finished cases count.
        cases.extend(
            CaseData(error="Interrupted: the cell stopped before this case ran")
            for _ in range(len(inputs.cases) - len(cases))
        )
        _save(session, name, inputs.meta, cases)


def _run_case(
    pattern: str,
    fns: Sequence[Callable[..., Any]],
    inputs: dict[str, np.ndarray],
    forbid: Sequence[str] = (),
) -> CaseData:
    """Outputs of one case, or its error; every Exception (and SystemExit) is caught.

    ``forbid``: modules the call must not use; those it used are noted in the case.
    """
    with watch(forbid) as used:
        case = _call_case(pattern, fns, inputs)
    if used:
        case.forbidden = ",".join(sorted(used))
    return case


def _call_case(
    pattern: str, fns: Sequence[Callable[..., Any]], inputs: dict[str, np.ndarray]
) -> CaseData:
    try:
        outputs = CALLS[pattern](fns, inputs)
        size = sum(array.nbytes for array in outputs.values())
        if size > MAX_CASE_OUTPUT_BYTES:
            raise ResultError(f"the outputs take {size} bytes, far more than expected")
        return CaseData(outputs=outputs)
    except StudentCodeError as error:
        return CaseData(error=describe_exception(error.error))
    except (Exception, SystemExit) as error:  # ResultError, CallError, sys.exit() inside
        return CaseData(error=describe_exception(error))


def _save(session: _Session, name: str, meta: CaseMeta, cases: list[CaseData]) -> None:
    try:
        write_case_file(session.outputs_dir / name, meta, cases)
    except Exception as error:  # a full disk or a removed folder: the trusted side sees
        # no file and reports the test as missing
        print(f"[grader] could not write {name} ({type(error).__name__})", file=sys.stderr)
