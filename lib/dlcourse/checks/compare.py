"""Teaching comparisons: say what was expected, what came back, and where it differs.

:func:`compare_outputs` compares the outputs of one case with the expected ones and
returns ``None`` when they agree, otherwise one sentence a student can act on: a
missing or extra output, a wrong shape, NaN or infinity where a number was expected,
or the first entry outside the tolerance with the size of the largest error.

Two audiences: with ``reveal=True`` (the visible cases, whose inputs and expected
outputs ship with the notebook) the sentence includes the index and both values; with
``reveal=False`` (hidden cases) it includes neither values nor the student's own shape
(a student could encode hidden inputs in what their function returns), and the largest
error is rounded to two significant digits.

Values are compared as float64 with ``|got - expected| <= atol + rtol * |expected|``
(NumPy's ``isclose``); NaN matches only NaN.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

_SAFE_NAME = re.compile(r"out[0-9]{0,2}")


def describe_shape(shape: tuple[int, ...]) -> str:
    """``(4, 5)``, or ``() (a single number)`` for a scalar."""
    return "() (a single number)" if shape == () else str(tuple(shape))


def compare_outputs(
    got: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    rtol: float,
    atol: float,
    *,
    reveal: bool,
) -> str | None:
    """``None`` when every expected output matches, else a sentence about the first issue."""
    problem = compare_names(list(got), list(expected), reveal=reveal)
    if problem is not None:
        return problem
    for name, want in expected.items():
        problem = compare_array(name, np.asarray(got[name]), np.asarray(want), rtol, atol, reveal)
        if problem is not None:
            return problem
    return None


def compare_names(got: list[str], expected: list[str], *, reveal: bool) -> str | None:
    """``None`` when the output names agree, else what differs.

    Hidden feedback lists the returned names only when they are ``out``/``out<k>`` (a
    single value versus a tuple), which cannot smuggle anything out.
    """
    if set(got) == set(expected):
        return None
    wanted = ", ".join(expected)
    if reveal or all(_SAFE_NAME.fullmatch(name) for name in got):
        return f"returned outputs ({', '.join(got)}), expected ({wanted})"
    return f"returned {len(got)} output(s) named differently from the expected ({wanted})"


def compare_array(
    name: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float, reveal: bool
) -> str | None:
    """Compare one output array; ``None`` when it matches, else the teaching sentence."""
    label = f"output '{name}'"
    if got.dtype.kind not in "biuf":
        return f"{label} has dtype {got.dtype}; expected numbers"
    if got.shape != want.shape:
        return shape_problem(label, got.shape, want.shape, reveal)
    got64 = got.astype(np.float64)
    want64 = want.astype(np.float64)
    close = np.isclose(got64, want64, rtol=rtol, atol=atol, equal_nan=True)
    if bool(np.all(close)):
        return None
    wrong = ~close
    count = int(np.count_nonzero(wrong))
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    bad_nan = wrong & np.isnan(got64)
    bad_inf = wrong & np.isinf(got64)
    if bool(np.any(bad_nan)) or bool(np.any(bad_inf)):
        kind = "NaN" if bool(np.any(bad_nan)) else "infinity"
        where = _index_text(index) if reveal else ""
        return (
            f"{label} contains {kind}{where} where a finite number was expected "
            f"(overflow, 0/0 or log of 0?)"
        )
    finite = wrong & np.isfinite(want64)
    error = float(np.max(np.abs(got64[finite] - want64[finite]))) if np.any(finite) else np.inf
    tolerance = f"the tolerance atol {atol:g} + rtol {rtol:g} * |expected|"
    if got.ndim == 0:
        head = f"{label} is wrong"
        if reveal:
            head += f": got {got64[()]:.6g}, expected {want64[()]:.6g}"
        size = f"abs error {error:.3g}" if reveal else f"abs error {error:.2g}"
        return f"{head}; {size} > {tolerance}{_dtype_note(got, want, reveal)}"
    head = f"{label}: {count} of {got.size} entries wrong"
    if not reveal:
        return f"{head}; max abs error {error:.2g} > {tolerance}"
    return (
        f"{head}; first at{_index_text(index)}: got {got64[index]:.6g}, "
        f"expected {want64[index]:.6g}; max abs error {error:.3g} > {tolerance}"
        f"{_dtype_note(got, want, reveal)}"
    )


def _dtype_note(got: np.ndarray, want: np.ndarray, reveal: bool) -> str:
    """Mention a float precision mismatch, a common cause of small errors."""
    if reveal and got.dtype != want.dtype and got.dtype.kind == want.dtype.kind == "f":
        return f" (your dtype is {got.dtype}, expected {want.dtype})"
    return ""


def _index_text(index: tuple[int, ...]) -> str:
    return f" index {index}" if index else ""


def shape_problem(label: str, got: tuple[int, ...], want: tuple[int, ...], reveal: bool) -> str:
    if reveal:
        text = f"{label} has shape {describe_shape(got)}, expected {describe_shape(want)}"
        if len(got) == len(want) + 1 and 1 in got:
            text += "; remove the extra axis of size 1"
        return text
    text = f"{label} has the wrong shape: expected {describe_shape(want)}"
    if len(got) != len(want):
        text += f" ({len(got)} dimension(s) instead of {len(want)})"
    return text
