"""One loop over a test's cases: the visible checks, and the hidden ones under stock nbgrader.

:func:`run_cases` calls the student's functions through the test's call pattern on every
case, compares with the expected outputs and raises ``AssertionError`` on the first
mismatch, else prints one "passed" line. ``reveal`` picks the audience (see
:mod:`dlcourse.checks.compare`): visible cases ship with the notebook, so their message
shows the input shapes, the exception's own text and the values; for hidden cases it
names the exception type only and compares without values, because student code can
put hidden inputs into what it raises or returns.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.checks.calls import CALLS, ResultError, StudentCodeError, describe_exception
from dlcourse.checks.compare import compare_outputs, describe_shape

Arrays = Mapping[str, np.ndarray]
Case = tuple[Arrays, Arrays]
"""``(inputs, expected outputs)`` of one case."""


_CHECKS_DIR = str(Path(__file__).resolve().parent)


class CheckFailure(AssertionError):
    """A visible or hidden case failed. In Jupyter it shows as the teaching message after
    the student's own frames (when their code raised), never the check library's frames."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting the traceback itself.
        lines: list[str] = []
        cause = self.__cause__
        if cause is not None and cause.__traceback__ is not None:
            lines += "".join(traceback.format_exception(cause)).rstrip("\n").splitlines()
            lines.append("")
        return [*lines, f"AssertionError: {self}"]


def _own_frames(error: BaseException) -> BaseException:
    """``error`` with the check library's frames cut from the front of its traceback, so
    what remains starts in the student's own function."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_CHECKS_DIR):
        tb = tb.tb_next
    return error.with_traceback(tb)


def input_shapes(inputs: Arrays) -> str:
    """``"x (4, 5) float64, alpha () (a single number) float64"``."""
    return ", ".join(
        f"{name} {describe_shape(value.shape)} {value.dtype}" for name, value in inputs.items()
    )


def run_cases(
    test_id: str,
    kind: str,
    fns: Sequence[Callable[..., Any]],
    cases: Sequence[Case],
    *,
    call: str,
    rtol: float,
    atol: float,
    hint: str = "",
    reveal: bool,
) -> None:
    """Check ``fns`` on every case of one kind (``"visible"`` or ``"hidden"``).

    A failure (:class:`CheckFailure`) shows the teaching message and, when the student's
    code raised, its own frames: the library's are cut from the student's exception, and
    marked hidden (``__tracebackhide__``) for pytest.
    """
    __tracebackhide__ = True
    total = len(cases)
    for number, (inputs, expected) in enumerate(cases, start=1):
        where = f"{test_id}, {kind} case {number} of {total}"
        tail = (f"\nInputs: {input_shapes(inputs)}" if reveal else "") + (
            f"\nHint: {hint}" if hint else ""
        )
        # Copies: a function that modifies its inputs must not change the next comparison.
        copies = {name: np.array(value, copy=True) for name, value in inputs.items()}
        try:
            got = CALLS[call](fns, copies)
        except StudentCodeError as error:
            what = describe_exception(error.error) if reveal else type(error.error).__name__
            raise CheckFailure(
                f"{where}: your function {error.function_name} raised {what}{tail}"
            ) from (_own_frames(error.error) if reveal else None)
        except ResultError as error:
            raise CheckFailure(f"{where}: {error}{tail}") from None
        problem = compare_outputs(got, expected, rtol, atol, reveal=reveal)
        if problem is not None:
            raise CheckFailure(f"{where}: {problem}{tail}")
    print(f"{test_id}: all {total} {kind} cases passed.")
