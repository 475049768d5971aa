"""Check a result before anything durable is written from it.

A :class:`JobResult` arrives as plain data from a worker (local pool, Dask) or from a
journal file. Neither is trusted blindly: :func:`parse_result` checks its shape and
types, and :func:`check_result` checks it against the instructor's template (known test
ids only, each score within ``0..points`` of its cell) and takes the maximum score from
the template, never from the result. A refused result becomes an ERROR result
(:meth:`JobResult.failed`) so the course team sees it and no score is written from it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from autograder.intake import NotebookTemplate
from autograder.job import JobResult, TestVerdict

#: Rounding slack when comparing points with a cell's maximum.
POINTS_SLACK = 1e-9


class ResultRefused(ValueError):
    """A result is malformed or claims what the template does not allow."""


def parse_result(data: object) -> JobResult:
    """Build a :class:`JobResult` from ``JobResult.to_dict()`` data, checking every type."""
    if not isinstance(data, dict):
        raise ResultRefused(f"a result must be a JSON object, got {type(data).__name__}")
    try:
        result = JobResult.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise ResultRefused(f"malformed result: {error}") from error
    for name in ("assignment", "notebook", "student_id", "fingerprint", "error"):
        _expect(isinstance(getattr(result, name), str), f"{name} must be a string")
    for name in ("score", "max_score", "seconds"):
        _expect(_is_number(getattr(result, name)), f"{name} must be a finite number")
    for name in ("intake", "execution", "layers"):
        _expect(isinstance(getattr(result, name), dict), f"{name} must be an object")
    for name in ("manual_cells", "unchanged_answers"):
        cells = getattr(result, name)
        _expect(
            isinstance(cells, list) and all(isinstance(cell, str) for cell in cells),
            f"{name} must be a list of strings",
        )
    for verdict in result.verdicts:
        _check_verdict_types(verdict)
    return result


def check_result(result: JobResult, template: NotebookTemplate) -> JobResult:
    """The result with its scores checked and its maxima taken from ``template``.

    Raises :class:`ResultRefused` for a test id the template does not grade
    automatically, a test reported twice, or points outside ``0..points``.
    """
    allowed = template.autograded_points
    seen: set[str] = set()
    verdicts = []
    for verdict in result.verdicts:
        if verdict.test_id not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ResultRefused(
                f"verdict for unknown test {verdict.test_id!r} in notebook "
                f"{result.notebook!r} (autograded tests: {known})"
            )
        if verdict.test_id in seen:
            raise ResultRefused(f"test {verdict.test_id!r} has more than one verdict")
        seen.add(verdict.test_id)
        maximum = allowed[verdict.test_id]
        if not -POINTS_SLACK <= verdict.points <= maximum + POINTS_SLACK:
            raise ResultRefused(
                f"test {verdict.test_id!r} scored {verdict.points} points, outside 0..{maximum}"
            )
        points = min(max(verdict.points, 0.0), maximum)  # absorb rounding only
        verdicts.append(replace(verdict, points=points, max_points=maximum))
    return replace(
        result,
        verdicts=verdicts,
        score=math.fsum(verdict.points for verdict in verdicts),
        max_score=template.max_score,
    )


def _check_verdict_types(verdict: TestVerdict) -> None:
    _expect(isinstance(verdict.test_id, str), "a verdict's test_id must be a string")
    where = f"verdict {verdict.test_id!r}"
    for name in ("points", "max_points"):
        _expect(_is_number(getattr(verdict, name)), f"{where}: {name} must be a finite number")
    for name in ("passed_cases", "total_cases"):
        value = getattr(verdict, name)
        _expect(
            isinstance(value, int) and not isinstance(value, bool),
            f"{where}: {name} must be an integer",
        )
    _expect(isinstance(verdict.message, str), f"{where}: message must be a string")
    _expect(isinstance(verdict.in_process, bool), f"{where}: in_process must be a boolean")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise ResultRefused(f"malformed result: {problem}")
