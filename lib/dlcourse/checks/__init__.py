"""The check API that notebook test cells call: ``check`` and ``check_hidden``.

A graded test cell calls ``check("<grade_id>", fn, ...)`` and, in nbgrader's hidden
region, ``check_hidden("<grade_id>", fn, ...)``. What they do depends on the context
(see ``docs/AUTOGRADER.md``):

- in the student's kernel, ``check`` runs the visible cases shipped in
  ``checks/<test_id>.npz`` next to the notebook and raises ``AssertionError`` with a
  teaching message on the first mismatch;
- under the grader (recording mode, :mod:`dlcourse.checks.record`) both only record
  outputs on the grader's inputs and never raise;
- under stock ``nbgrader autograde``, ``check_hidden`` hands over to the hidden checker
  that the grader registers: through :func:`register_hidden_checker`, or as an entry
  point of the group :data:`HIDDEN_CHECKS_GROUP` of an installed package. The library
  itself never imports the grader.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from dlcourse.checks import modules as _modules  # noqa: F401  (adds the PyTorch patterns)
from dlcourse.checks.casefile import CaseFileError, read_case_file, visible_file_name
from dlcourse.checks.record import is_recording, record
from dlcourse.checks.run import run_cases

__all__ = [
    "CHECKS_FOLDER",
    "HIDDEN_CHECKS_GROUP",
    "check",
    "check_hidden",
    "hidden_checker",
    "register_hidden_checker",
]

#: Where the release keeps the visible cases, relative to the notebook's folder.
CHECKS_FOLDER = "checks"
#: The entry-point group where an installed grader offers its hidden checker.
HIDDEN_CHECKS_GROUP = "dlcourse.hidden_checks"

HiddenChecker = Callable[..., None]
"""``checker(test_id, *fns)``: raises AssertionError when a hidden case fails."""

_hidden_checker: HiddenChecker | None = None


def register_hidden_checker(checker: HiddenChecker | None) -> None:
    """Make ``checker`` run the hidden cases outside the grader (None: look it up again)."""
    global _hidden_checker
    _hidden_checker = checker


def hidden_checker() -> HiddenChecker | None:
    """The registered hidden checker, else the first installed entry point's, else None."""
    global _hidden_checker
    if _hidden_checker is None:
        for point in sorted(entry_points(group=HIDDEN_CHECKS_GROUP), key=lambda p: p.name):
            try:
                _hidden_checker = point.load()
            except ImportError:  # the package is gone or half-installed: try the next
                continue
            break
    return _hidden_checker


def check(test_id: str, *fns: Callable[..., Any]) -> None:
    """Run the visible cases of ``test_id`` on ``fns``; raise AssertionError on a mismatch."""
    __tracebackhide__ = True  # the student sees the message and their own frames only
    if is_recording():
        record(test_id, "visible", fns)
        return
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
    try:
        run_cases(
            test_id,
            "visible",
            fns,
            [(case.inputs, case.outputs) for case in cases.cases],
            call=meta.call,
            rtol=meta.rtol,
            atol=meta.atol,
            hint=meta.hint,
            reveal=True,
        )
    except AssertionError as error:
        # Raised afresh from here: the traceback no longer runs through the case loop.
        raise error.with_traceback(None) from error.__cause__


def check_hidden(test_id: str, *fns: Callable[..., Any]) -> None:
    """Hidden cases: recorded under the grader, checked by the grader's checker elsewhere."""
    if is_recording():
        record(test_id, "hidden", fns)
        return
    checker = hidden_checker()
    if checker is None:
        print(f"{test_id}: hidden checks run only under the course's grader.")
        return
    checker(test_id, *fns)
