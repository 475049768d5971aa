"""Plain nbgrader test cells (no ``check()``): scored as stock ``nbgrader autograde``.

Such a cell decides inside the student's process: it runs, after restoration, in the
same sandbox as the rest of the notebook, and the runner records how it ended
(``results.json``). :func:`decide_plain` turns that record into points with nbgrader's
rule (``nbgrader.utils.determine_grade``): zero when the cell raised, timed out or wrote
to standard error; the displayed value when it is a number in ``0..points`` (partial
credit); full points otherwise. The verdict is marked ``in_process``: student code ran
in the same process as the test and could have defeated it, which a ``check()`` test's
trusted verdict rules out (see docs/AUTOGRADER.md, "Plain nbgrader test cells").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from autograder.job import TestVerdict, VerdictStatus

MESSAGE_CHARS = 300
"""Longest error text a plain test's verdict quotes (the cell's own assertion message)."""


def calls_check(source: str, grade_id: str) -> bool:
    """Whether a test cell is a ``check()`` test: it names its own id in a check call.

    Such a cell never raises while recording, so without its spec it must fail as the
    course team's error, never pass as a plain test.
    """
    pattern = rf"\bcheck(?:_hidden)?\(\s*['\"]{re.escape(grade_id)}['\"]"
    return re.search(pattern, source) is not None


def decide_plain(test_id: str, max_points: float, record: Mapping[str, Any] | None) -> TestVerdict:
    """The in-process verdict of one plain test cell from its runner record (None: the
    cell never ran, e.g. the notebook's time ran out before it)."""

    def verdict(points: float, message: str) -> TestVerdict:
        if points >= max_points:
            status = VerdictStatus.PASSED
        else:
            status = VerdictStatus.PARTIAL if points > 0 else VerdictStatus.FAILED
        return TestVerdict(test_id, status, points, max_points, message=message, in_process=True)

    if record is None:
        return TestVerdict(
            test_id,
            VerdictStatus.MISSING,
            0.0,
            max_points,
            message="the test cell did not run (the notebook stopped before it)",
            in_process=True,
        )
    if record["status"] == "timeout":
        return verdict(0.0, "the test cell ran past its time limit")
    if record["status"] != "ok":
        error = record["error"]
        quoted = error if len(error) <= MESSAGE_CHARS else error[:MESSAGE_CHARS] + " ..."
        return verdict(0.0, f"the test failed: {quoted}")
    if record["stderr"]:
        return verdict(0.0, "the test cell wrote to standard error, which nbgrader scores zero")
    partial = _partial_points(record["result"], max_points)
    if partial is None:
        return verdict(max_points, "the test passed")
    if partial > max_points:
        return verdict(0.0, f"the test cell's value {partial:g} is above its {max_points:g} points")
    return verdict(partial, f"the test gave {partial:g} of {max_points:g} points")


def _partial_points(shown: str | None, max_points: float) -> float | None:
    """nbgrader's ``get_partial_grade``: a displayed number >= 0 is the score; anything
    else (no value, not a number, negative, NaN) leaves the full points."""
    if not shown:
        return None
    try:
        value = float(shown)
    except ValueError:
        return None
    if math.isnan(value) or value < 0:
        return None
    return value
