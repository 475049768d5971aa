"""What the demo prints: the grade table (expected against got) and the isolation layers.

Kept apart from :mod:`.demo` so the judging and the formatting can be read (and tested)
without running anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from autograder.instructor.synthetic import SyntheticStudent
from autograder.job import JobResult, JobStatus
from autograder.sandbox.layers import Layer

TOLERANCE = 1e-6
HIDING_LAYERS = (Layer.BUBBLEWRAP.value, Layer.UNPRIVILEGED_UID.value)
"""Either keeps a submission from reading the graded sources and the gradebook."""
SNOOPER = "adv-snoop"


@dataclass(frozen=True)
class Outcome:
    """One synthetic student's result on one assignment."""

    assignment: str
    student: SyntheticStudent
    got: float | None
    """Total score over the notebooks graded here; None when one could not be graded."""
    results: tuple[JobResult, ...]
    awaiting_gpu: tuple[str, ...] = ()
    """Notebooks left to a GPU runner (this grader has none): in neither total."""

    @property
    def expected(self) -> float:
        """What the notebooks graded here must add up to."""
        by_notebook = self.student.expected_by_notebook
        return self.student.expected - math.fsum(by_notebook.get(n, 0.0) for n in self.awaiting_gpu)

    @property
    def ok(self) -> bool:
        return self.got is not None and math.isclose(self.got, self.expected, abs_tol=TOLERANCE)

    @property
    def exposed(self) -> bool:
        """The snooper beat the grader on a machine with no layer that hides files: a
        finding about the machine (reported loudly), not about the grader's verdicts."""
        return (
            not self.ok
            and self.student.student_id == SNOOPER
            and not any(_active(result, name) for result in self.results for name in HIDING_LAYERS)
        )

    @property
    def mark(self) -> str:
        return "✓" if self.ok else ("⚠" if self.exposed else "✗")


def outcome(assignment: str, student: SyntheticStudent, results: Sequence[JobResult]) -> Outcome:
    """Judge one student: the sum of its notebooks' scores against the expected score."""
    mine = tuple(r for r in results if r.student_id == student.student_id)
    awaiting = tuple(sorted(r.notebook for r in mine if r.status is JobStatus.AWAITING_GPU))
    here = [r for r in mine if r.notebook not in awaiting]
    scored = all(r.status in (JobStatus.GRADED, JobStatus.TIMEOUT) for r in here)
    got = math.fsum(r.score for r in here) if mine and scored else None
    return Outcome(assignment, student, got, mine, awaiting)


def grade_table(outcomes: Sequence[Outcome], assignments: Sequence[str]) -> str:
    """Students down, assignments across; each cell ``got / expected ✓``."""
    students: dict[str, str] = {}
    cells: dict[tuple[str, str], str] = {}
    for item in outcomes:
        students.setdefault(item.student.student_id, item.student.kind)
        got = "ERROR" if item.got is None else f"{item.got:g}"
        gpu = f" (+{len(item.awaiting_gpu)} awaiting GPU)" if item.awaiting_gpu else ""
        cells[(item.student.student_id, item.assignment)] = (
            f"{got} / {item.expected:g} {item.mark}{gpu}"
        )
    header = ["student", "kind", *assignments]
    rows = [
        [student, kind, *(cells.get((student, a), "–") for a in assignments)]
        for student, kind in students.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))
             for row in [header, *rows]]  # fmt: skip
    lines.insert(1, "  ".join("-" * width for width in widths))
    legend = (
        "autograded score per assignment: obtained / expected for that student "
        "(✓ when they agree); written answers are left to the graders; a notebook that "
        "needs a GPU runner is left out of both where this grader has none"
    )
    return "\n".join([legend, *(line.rstrip() for line in lines)])


def layer_lines(results: Sequence[JobResult]) -> list[str]:
    """Which isolation layers were active, over every job that ran (a notebook awaiting a
    GPU runner ran nowhere, so it has no layers to report)."""
    results = [result for result in results if result.status is not JobStatus.AWAITING_GPU]
    total = len(results)
    if not total:
        return ["isolation layers: no job ran"]
    lines = []
    for layer in Layer:
        active = sum(_active(result, layer.value) for result in results)
        if active == total:
            lines.append(f"  ✓ {layer.value}")
            continue
        reasons = sorted(
            {
                str(result.layers.get(layer.value, {}).get("detail", "not reported"))
                for result in results
                if not _active(result, layer.value)
            }
        )
        where = "in every job" if active == 0 else f"in {total - active} of {total} jobs"
        lines.append(f"  ✗ {layer.value}: missing {where} ({'; '.join(reasons)})")
    return [f"isolation layers over {total} graded notebooks:", *lines]


def _active(result: JobResult, layer: str) -> bool:
    status = result.layers.get(layer, {})
    return bool(isinstance(status, dict) and status.get("active"))
