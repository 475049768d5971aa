"""Per-test pass rates for one assignment: which tests the class finds hard.

For every test (one graded test cell, keyed by notebook and test id) the table counts
the students whose verdict was passed, partial, failed, missing or awaiting a GPU, and
those with no verdict at all (their notebook could not be graded), and gives the mean
points over the students whose verdict was scored. A notebook that was not submitted
counts as missing for each of its tests, whatever its blank answers did.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from autograder.files import atomic_write_text
from autograder.intake.status import notebook_missing
from autograder.intake.template import CellRole, NotebookTemplate
from autograder.job import JobResult, VerdictStatus
from autograder.reports.feedback import IN_PROCESS, TRUSTED, tier

_SCORED = (VerdictStatus.PASSED, VerdictStatus.PARTIAL, VerdictStatus.FAILED, VerdictStatus.MISSING)


@dataclass(frozen=True)
class PassRateRow:
    """How the class did on one test."""

    notebook: str
    test_id: str
    passed: int
    partial: int
    failed: int
    missing: int
    awaiting_gpu: int
    not_graded: int
    """Students with a result for the notebook but no verdict for this test."""
    mean_points: float
    """Mean over students with a scored verdict (passed, partial, failed, missing); NaN
    when there are none."""
    max_points: float
    verdict: str = TRUSTED
    """``trusted verdict`` (a ``check()`` test) or ``in-process verdict`` (a plain
    nbgrader test cell, which student code could defeat)."""

    @property
    def scored(self) -> int:
        """Students whose verdict carries points."""
        return self.passed + self.partial + self.failed + self.missing

    @property
    def pass_rate(self) -> float:
        """Fraction of scored students who passed fully; NaN when none were scored."""
        return self.passed / self.scored if self.scored else math.nan


def pass_rates(
    results: Iterable[JobResult],
    assignment: str | None = None,
    templates: Mapping[str, NotebookTemplate] | None = None,
) -> list[PassRateRow]:
    """One row per test of ``assignment``, in notebook order.

    With ``assignment`` None the results must all be of one assignment. ``templates``
    (notebook name → template) fixes the order and the max points and adds tests no
    result mentions; without it tests appear in the order the results first list them.
    """
    chosen = _one_assignment(list(results), assignment)
    tests: dict[tuple[str, str], float] = {}
    for notebook, template in sorted((templates or {}).items()):
        for cell in template.cells:
            if cell.role is CellRole.TESTS and cell.grade_id is not None:
                tests[(notebook, cell.grade_id)] = cell.points
    for result in sorted(chosen, key=lambda r: r.notebook):
        for verdict in result.verdicts:
            tests.setdefault((result.notebook, verdict.test_id), verdict.max_points)
    return [
        _row(notebook, test_id, max_points, chosen)
        for (notebook, test_id), max_points in tests.items()
    ]


def _one_assignment(results: list[JobResult], assignment: str | None) -> list[JobResult]:
    names = sorted({result.assignment for result in results})
    if assignment is None:
        if len(names) > 1:
            raise ValueError(
                f"results span assignments {', '.join(names)}: pass assignment= to pick one"
            )
        return results
    return [result for result in results if result.assignment == assignment]


def _row(notebook: str, test_id: str, max_points: float, results: list[JobResult]) -> PassRateRow:
    counts = dict.fromkeys(VerdictStatus, 0)
    points = []
    not_graded = 0
    tiers = set()
    for result in results:
        if result.notebook != notebook:
            continue
        verdict = next((v for v in result.verdicts if v.test_id == test_id), None)
        if verdict is None:
            not_graded += 1
            continue
        status = verdict.status
        if notebook_missing(result.intake) and status in _SCORED:
            status = VerdictStatus.MISSING
        counts[status] += 1
        tiers.add(tier(verdict))
        if verdict.status in _SCORED:
            points.append(verdict.points)
    return PassRateRow(
        notebook=notebook,
        test_id=test_id,
        passed=counts[VerdictStatus.PASSED],
        partial=counts[VerdictStatus.PARTIAL],
        failed=counts[VerdictStatus.FAILED],
        missing=counts[VerdictStatus.MISSING],
        awaiting_gpu=counts[VerdictStatus.AWAITING_GPU],
        not_graded=not_graded,
        mean_points=math.fsum(points) / len(points) if points else math.nan,
        max_points=max_points,
        verdict=IN_PROCESS if IN_PROCESS in tiers else TRUSTED,
    )


# --- output ---------------------------------------------------------------------------------
TABLE_HEADER = (
    "notebook",
    "test",
    "passed",
    "partial",
    "failed",
    "missing",
    "gpu",
    "ungraded",
    "pass rate",
    "mean / max",
    "verdict",
)


def table_cells(row: PassRateRow) -> tuple[str, ...]:
    """One row of the table as text, in the order of :data:`TABLE_HEADER`."""
    rate = "–" if math.isnan(row.pass_rate) else f"{row.pass_rate:.0%}"
    mean = "–" if math.isnan(row.mean_points) else f"{row.mean_points:.2f}"
    counts = (row.passed, row.partial, row.failed, row.missing, row.awaiting_gpu, row.not_graded)
    points = f"{mean} / {row.max_points:g}"
    return (row.notebook, row.test_id, *map(str, counts), rate, points, row.verdict)


def format_table(rows: Iterable[PassRateRow]) -> str:
    """An aligned text table: names left-aligned, numbers right-aligned, one line per test."""
    lines = [TABLE_HEADER, *map(table_cells, rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEADER))]
    out = []
    for line in lines:
        names = [line[i].ljust(widths[i]) for i in range(2)]
        numbers = [line[i].rjust(widths[i]) for i in range(2, len(line))]
        out.append("  ".join(names + numbers).rstrip())
    return "\n".join(out) + "\n"


def write_csv(rows: Iterable[PassRateRow], path: str | os.PathLike[str]) -> Path:
    """Write the rows as CSV (dataclass field names as the header; NaN as empty), atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in fields(PassRateRow)] + ["pass_rate"])
    for row in rows:
        values = [*astuple(row), row.pass_rate]
        writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in values])
    return atomic_write_text(path, buffer.getvalue())
