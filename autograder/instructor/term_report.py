"""The term report: one self-contained HTML page on how the class did, assignment by assignment.

Per assignment: the score histogram (a PNG embedded as base64, drawn by
:func:`autograder.api.report`), the mean and median total score, the per-test pass-rate
table, and how grading ended (graded, errors, timeouts, awaiting a GPU runner). The page
needs no other file, so it can be mailed or attached to the course's records as is.
"""

from __future__ import annotations

import base64
import html
import math
import os
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder import api
from autograder.api import REPORTS_DIR
from autograder.course_layout import CourseLayout
from autograder.driver import RESULTS_DIR, WORKSPACE_DIR, load_templates
from autograder.files import atomic_write_text
from autograder.instructor.grading import graded_assignments
from autograder.instructor.workspace import TermWorkspace, open_workspace
from autograder.job import JobResult, JobStatus
from autograder.journal import Journal, JournalError
from autograder.reports.passrate import TABLE_HEADER, PassRateRow, pass_rates, table_cells

REPORT_FILE = "term_report.html"
_SCORED = (JobStatus.GRADED, JobStatus.TIMEOUT)


@dataclass
class AssignmentSummary:
    """Everything the page shows about one assignment."""

    name: str
    max_score: float
    by_hand: float = 0.0
    """Points of written answers and tasks, graded by a person: never in ``totals``."""
    totals: dict[str, float] = field(default_factory=dict)
    """Student → total score over the assignment's notebooks (graded and timed-out jobs)."""
    counts: dict[JobStatus, int] = field(default_factory=dict)
    """Notebooks per final status."""
    rows: list[PassRateRow] = field(default_factory=list)
    histogram_png: bytes = b""
    attention: list[tuple[str, str, str]] = field(default_factory=list)
    """(student, notebook, reason) of each notebook whose latest grading ended in ERROR:
    it has no score (an earlier one does not stand) until the course team looks at it."""

    @property
    def mean(self) -> float:
        return statistics.fmean(self.totals.values()) if self.totals else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.totals.values()) if self.totals else math.nan


def term_report(
    course_dir: str | os.PathLike[str] = ".",
    *,
    term_id: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the term report (default ``<workspace>/term_report.html``); returns its path.

    Covers every assignment of the course that has results; the histograms and pass-rate
    files are (re)written under ``<workspace>/reports/<a>/`` on the way.
    """
    space = open_workspace(course_dir, term_id=term_id, workspace=workspace)
    space.course.require_assignments()
    summaries = [summarize(space, name) for name in graded_assignments(space)]
    page = render(space.course.course_id, space.term.term_id, summaries, datetime.now(timezone.utc))
    target = Path(out) if out is not None else space.root / REPORT_FILE
    return atomic_write_text(target, page)


def summarize(space: TermWorkspace, assignment: str) -> AssignmentSummary:
    """Read one assignment's journal and draw its histogram."""
    layout = CourseLayout.open(space.root)
    templates = load_templates(layout, assignment)
    summary = AssignmentSummary(
        assignment,
        math.fsum(t.max_score for t in templates.values()),
        math.fsum(
            t.max_score - math.fsum(t.autograded_points.values()) for t in templates.values()
        ),
    )
    scored: list[JobResult] = []
    journal = Journal(space.root / WORKSPACE_DIR / RESULTS_DIR)
    for _, entry in journal.entries(assignment):
        if isinstance(entry, JournalError) or entry.notebook not in templates:
            continue
        summary.counts[entry.status] = summary.counts.get(entry.status, 0) + 1
        if entry.status is JobStatus.ERROR:
            reason = (entry.error.strip().splitlines() or ["no reason recorded"])[0][:300]
            summary.attention.append((entry.student_id, entry.notebook, reason))
        if entry.status in _SCORED:
            scored.append(entry)
            summary.totals[entry.student_id] = summary.totals.get(entry.student_id, 0.0) + (
                entry.score
            )
    summary.rows = pass_rates(scored, assignment, templates)
    files = api.report(assignment, space.root, out_dir=space.root / REPORTS_DIR / assignment)
    summary.histogram_png = files.histogram_png.read_bytes()
    return summary


# --- HTML -------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
section { border-top: 1px solid #ddd; margin-top: 2rem; padding-top: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.counts td, .counts th { text-align: left; } img { max-width: 100%; }
"""


def render(
    course_id: str, term_id: str, summaries: list[AssignmentSummary], generated: datetime
) -> str:
    """The whole page; every name and number is escaped."""
    title = f"{course_id} · term {term_id}"
    stamp = generated.strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}: term report</title><style>{_STYLE}</style></head><body>",
        f"<h1>Term report: {_e(term_id)}</h1>",
        f'<p class="meta">course {_e(course_id)} · generated {_e(stamp)}</p>',
    ]
    if not summaries:
        parts.append("<p>No assignment has been graded yet this term.</p>")
    parts += [_section(summary) for summary in summaries]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _section(summary: AssignmentSummary) -> str:
    image = base64.b64encode(summary.histogram_png).decode("ascii")
    counts = [
        ("students", len(summary.totals)),
        ("graded", summary.counts.get(JobStatus.GRADED, 0)),
        ("errors", summary.counts.get(JobStatus.ERROR, 0)),
        ("timeouts", summary.counts.get(JobStatus.TIMEOUT, 0)),
        ("awaiting GPU", summary.counts.get(JobStatus.AWAITING_GPU, 0)),
    ]
    header = "".join(f"<th>{_e(name)}</th>" for name in TABLE_HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in table_cells(row)) + "</tr>"
        for row in summary.rows
    )
    attention = "".join(
        f"<li>{_e(student)} · {_e(notebook)}: {_e(reason)}</li>"
        for student, notebook, reason in summary.attention
    )
    return "\n".join(
        [
            f'<section id="{_e(summary.name)}"><h2>{_e(summary.name)}</h2>',
            f"<p>mean {_number(summary.mean)} · median {_number(summary.median)} · "
            f"out of {summary.max_score:g}{_by_hand(summary)}</p>",
            '<table class="counts"><tr>'
            + "".join(f"<th>{_e(name)}</th>" for name, _ in counts)
            + "</tr><tr>"
            + "".join(f"<td>{value}</td>" for _, value in counts)
            + "</tr></table>",
            f'<img alt="{_e(summary.name)}: histogram of total scores" '
            f'src="data:image/png;base64,{image}">',
            f"<h3>Pass rate per test</h3><table><tr>{header}</tr>{body}</table>",
            f"<h3>Needs the course team's attention (no score stands)</h3><ul>{attention}</ul>"
            if attention
            else "",
            "</section>",
        ]
    )


def _by_hand(summary: AssignmentSummary) -> str:
    """The scores are the autograder's: say how many of the points a person still grades."""
    if summary.by_hand <= 0:
        return ""
    return (
        f", of which {summary.by_hand:g} are graded by hand and are not in these scores "
        f"(the autograded maximum is {summary.max_score - summary.by_hand:g})"
    )


def _number(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
