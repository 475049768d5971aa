"""The check API that notebook test cells call: ``check`` and ``check_hidden``.

A graded test cell calls ``check("<grade_id>", fn, ...)`` and, in nbgrader's hidden
region, ``check_hidden("<grade_id>", fn, ...)``. What they do depends on the context
(see ``docs/AUTOGRADER.md``):

- in the student's kernel, ``check`` runs the visible cases shipped in
  ``checks/<test_id>.npz`` next to the notebook and raises ``AssertionError`` with a
  teaching message on the first mismatch;
- under the grader (recording mode, :mod:`dlcourse.checks.record`) both only record
  outputs on the grader's inputs and never raise;
- under stock ``nbgrader autograde``, ``check_hidden`` compares with the reference via
  ``autograder.specs.direct_check``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlcourse.checks.calls import CALLS, ResultError, StudentCodeError, describe_exception
from dlcourse.checks.casefile import CaseFileError, read_case_file, visible_file_name
from dlcourse.checks.compare import compare_outputs, describe_shape
from dlcourse.checks.record import is_recording, record

__all__ = ["CHECKS_FOLDER", "check", "check_hidden"]

#: Where the release keeps the visible cases, relative to the notebook's folder.
CHECKS_FOLDER = "checks"


def check(test_id: str, *fns: Callable[..., Any]) -> None:
    """Run the visible cases of ``test_id`` on ``fns``; raise AssertionError on a mismatch."""
    if is_recording():
        record(test_id, "visible", fns)
        return
    _run_visible(test_id, fns)


def check_hidden(test_id: str, *fns: Callable[..., Any]) -> None:
    """Hidden cases: recorded under the grader, compared directly under stock nbgrader."""
    if is_recording():
        record(test_id, "hidden", fns)
        return
    try:
        from autograder.specs.direct import direct_check
    except ImportError:
        print(f"{test_id}: hidden checks run only under the course's grader.")
        return
    direct_check(test_id, *fns)


def _run_visible(test_id: str, fns: tuple[Callable[..., Any], ...]) -> None:
    path = Path(CHECKS_FOLDER) / visible_file_name(test_id)
    if not path.is_file():
        raise FileNotFoundError(
            f"{test_id}: the visible test cases {path.name} are not in the folder "
            f"{path.absolute().parent}. Run the notebook from its own folder (the one that "
            f"holds the '{CHECKS_FOLDER}' folder shipped with the assignment)."
        )
    try:
        cases = read_case_file(path)
    except CaseFileError as error:
        raise RuntimeError(
            f"{test_id}: the visible test file {path} is damaged ({error}); "
            f"download the assignment again"
        ) from None
    meta = cases.meta
    total = len(cases.cases)
    for number, case in enumerate(cases.cases, start=1):
        where = f"{test_id}, visible case {number} of {total}"
        shapes = ", ".join(
            f"{name} {describe_shape(value.shape)} {value.dtype}"
            for name, value in case.inputs.items()
        )
        hint = f"\nHint: {meta.hint}" if meta.hint else ""
        try:
            got = CALLS[meta.call](fns, case.inputs)
        except StudentCodeError as error:
            raise AssertionError(
                f"{where}: your function {error.function_name} raised "
                f"{describe_exception(error.error)}\nInputs: {shapes}{hint}"
            ) from error.error
        except ResultError as error:
            raise AssertionError(f"{where}: {error}\nInputs: {shapes}{hint}") from None
        problem = compare_outputs(got, case.outputs, meta.rtol, meta.atol, reveal=True)
        if problem is not None:
            raise AssertionError(f"{where}: {problem}\nInputs: {shapes}{hint}")
    print(f"{test_id}: all {total} visible cases passed.")
