"""Per-student feedback pages: one self-contained HTML file per graded notebook.

The page shows the score (with the points still to be graded by hand, and the due date,
submission time and late penalty when there are any), what stopped the notebook's code
(one sentence per cause, naming the cell), one row per autograded test (title, points, a
status badge and the verdict's message), the manually graded cells, what the intake had to
repair in the submitted file, and why a run was cut short. It is built from two trusted
records only: the :class:`~autograder.job.JobResult` and the instructor's
:class:`~autograder.intake.NotebookTemplate`.

Secrecy rule: no source of a test cell is ever read here, visible part or hidden part.
From the template this module takes grade ids, points, roles and the *release* text of
markdown cells that are not answers (for section titles); a source notebook's answer
cells hold solutions, so their text is never read either. Runner errors
(``execution["cells"][i]["error"]``) are shown by exception type only, plus the missing
name of a ``NameError`` and the module of a ``ReferenceNotAvailableError`` (identifiers
matched by a pattern): their free text could quote a test cell or smuggle hidden inputs.
Every string is HTML-escaped by jinja2's autoescape.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from autograder.files import atomic_write_text, checked_name
from autograder.intake.status import IntakeStatus, NoteKind, notebook_missing
from autograder.intake.template import CellRole, NotebookTemplate
from autograder.job import WORKER_DIED, JobResult, JobStatus, TestVerdict, VerdictStatus

# --- section titles -----------------------------------------------------------------------
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)[ \t]*#*[ \t]*$", re.MULTILINE)


def section_titles(template: NotebookTemplate) -> dict[int, str]:
    """The nearest markdown heading at or before each cell, by cell index.

    Only markdown cells that are not answers are read, and only their release text: a
    manually graded answer's source is the instructor's solution.
    """
    titles: dict[int, str] = {}
    current = ""
    for cell in template.cells:
        if cell.cell_type == "markdown" and not cell.role.is_answer:
            headings = _HEADING.findall(cell.release_source)
            if headings:
                # Backticks and bold markers are markup; underscores may be identifiers.
                current = headings[-1].replace("`", "").replace("**", "").strip() or current
        if current:
            titles[cell.index] = current
    return titles


# --- the page's view model ------------------------------------------------------------------
@dataclass(frozen=True)
class TestRow:
    """One autograded test as shown to the student."""

    grade_id: str
    title: str
    points: str
    max_points: str
    badge: str
    """CSS class and status key: passed, partial, failed, missing, awaiting_gpu, ungraded."""
    label: str
    cases: str
    message: str
    tier: str = ""
    """:data:`TRUSTED` or :data:`IN_PROCESS`: where the verdict was decided."""


TRUSTED = "trusted verdict"
"""A ``check()`` test: decided outside the student's process."""
IN_PROCESS = "in-process verdict"
"""A plain nbgrader test cell: decided inside the student's process, which could defeat it."""


def tier(verdict: TestVerdict) -> str:
    """The trust tier of a verdict in words (reports and feedback say the same)."""
    return IN_PROCESS if verdict.in_process else TRUSTED


@dataclass(frozen=True)
class ManualRow:
    """A manually graded answer or task: scored later by a person."""

    grade_id: str
    title: str
    max_points: str


@dataclass(frozen=True)
class Lateness:
    """When a notebook was due and came in, and what it cost (naive UTC, as nbgrader)."""

    due: datetime | None
    submitted: datetime | None
    penalty: float


@dataclass(frozen=True)
class FeedbackPage:
    """Everything the HTML template shows, already in words."""

    assignment: str
    notebook: str
    student: str
    score: str
    max_score: str
    score_notes: tuple[str, ...]
    """Under the score: the late penalty and the points still to be graded by hand."""
    headline: str
    causes: tuple[str, ...]
    """One sentence per kind of error that stopped the notebook's code, naming the cell."""
    tests: tuple[TestRow, ...]
    manual: tuple[ManualRow, ...]
    notices: tuple[str, ...]
    intake_notes: tuple[tuple[str, str], ...]
    """(plain words, the intake's own detail) per note."""


_LABELS = {
    VerdictStatus.PASSED: "passed",
    VerdictStatus.PARTIAL: "partly passed",
    VerdictStatus.FAILED: "failed",
    VerdictStatus.MISSING: "no output",
    VerdictStatus.AWAITING_GPU: "awaiting GPU",
}
_MISSING_DEFAULT = (
    "No output was recorded for this test: your code raised an error, or the notebook "
    "stopped before it got here."
)

#: Intake notes in plain words; ``{what}`` names the cell the note is about.
_NOTE_WORDS: Mapping[NoteKind, str] = {
    NoteKind.NOT_REGULAR_FILE: "Your submission is not a regular notebook file.",
    NoteKind.NOT_UTF8: "Your notebook contained characters that are not valid text; "
    "they were replaced.",
    NoteKind.JSON_INVALID: "Your notebook file is damaged and could not be read normally.",
    NoteKind.JSON_REPAIRED: "Your notebook file had a small formatting error that was "
    "repaired automatically.",
    NoteKind.NOT_A_NOTEBOOK: "Your file is not a Jupyter notebook.",
    NoteKind.SCHEMA_INVALID: "Your notebook file does not follow the notebook format "
    "exactly; it was read anyway.",
    NoteKind.SALVAGED: "Your notebook could not be read completely; your answer to "
    "{what} was recovered.",
    NoteKind.LOST: "Your notebook could not be read completely; your answer to {what} "
    "could not be recovered and was graded as blank.",
    NoteKind.EXTRA_CELLS: "Cells you added outside the answer cells were ignored; put "
    "all your code inside the answer cells.",
    NoteKind.UNKNOWN_ID: "A cell that is not part of the assignment was ignored.",
    NoteKind.DUPLICATE_ID: "A duplicated cell was ignored ({what}).",
    NoteKind.MISSING_ANSWER: "The answer cell for {what} was missing from your notebook; "
    "it was graded as blank.",
    NoteKind.MISSING_CELL: "The cell {what} was missing from your notebook; the original "
    "was put back.",
    NoteKind.UNUSABLE_SOURCE: "Your answer to {what} could not be read; it was graded as blank.",
    NoteKind.TYPE_CHANGED: "The type of the cell {what} was changed; the original type was used.",
    NoteKind.METADATA_EDITED: "The grading settings of the cell {what} were edited; the "
    "original settings were used.",
    NoteKind.SOURCE_EDITED: "The read-only cell {what} was edited; the original was used.",
    NoteKind.REORDERED: "Cells were moved around; the original order was used.",
    NoteKind.KERNEL_CHANGED: "The notebook's kernel was changed; the course kernel was used.",
    NoteKind.RENAMED_FILE: "Your notebook had a different file name than expected; it was "
    "graded anyway.",
    NoteKind.IGNORED_FILE: "An extra file in your submission was ignored.",
    NoteKind.MISSING_FILE: "This notebook was not in your submission.",
}
_STATUS_WORDS: Mapping[IntakeStatus, str] = {
    IntakeStatus.TOO_LARGE: "Your notebook file is too large to grade, so every answer "
    "was graded as blank. Clear large outputs (Kernel > Restart & Clear Output) and "
    "submit again.",
    IntakeStatus.UNREADABLE: "Your notebook file could not be read at all, so every "
    "answer was graded as blank. Open it in Jupyter to check it, then submit again.",
}


def fmt_points(value: float) -> str:
    """Points without noise: ``2``, ``1.5``, ``0.67``."""
    if not math.isfinite(value):
        return "?"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _when(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def _score_notes(
    result: JobResult, template: NotebookTemplate, scored: bool, late: Lateness | None
) -> tuple[str, ...]:
    """The late penalty (due, submitted, before and after) and the points awaiting a person."""
    notes = []
    if late is not None and late.due is not None:
        words = f"Due {_when(late.due)}; "
        if late.submitted is None:
            words += "no submission time was recorded, so no late penalty applies."
        elif late.submitted <= late.due:
            words += f"submitted {_when(late.submitted)}, on time."
        else:
            words += f"submitted {_when(late.submitted)}, late"
            if scored:
                after = max(0.0, result.score - late.penalty)
                words += (
                    f": late penalty {fmt_points(late.penalty)} points, score "
                    f"{fmt_points(result.score)} before the penalty and {fmt_points(after)} after."
                )
            else:
                words += "."
        notes.append(words)
    manual = template.max_score - math.fsum(template.autograded_points.values())
    if manual > 0:
        notes.append(
            f"{fmt_points(manual)} of the {fmt_points(result.max_score)} points are graded by "
            "hand and are not in this score yet."
        )
    return tuple(notes)


# ``NameError: name 'x' is not defined`` and the student build's stub message
# ``dlcourse.a.b.name: ...``: only these identifiers are taken from a runner error.
_UNDEFINED_NAME = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]{0,80})' is not defined")
_STUB_MODULE = re.compile(r"(dlcourse(?:\.[A-Za-z_][A-Za-z0-9_]{0,80}){1,8})[:.]")
_CAUSE_WORDS: Mapping[str, str] = {
    "ReferenceNotAvailableError": "imports {detail}, a course reference that is not "
    "available while grading: write the code yourself instead of importing it",
    "NameError": "uses {detail} without a definition: usually because the cell that "
    "defines it failed or was not run",
    "ImportError": "imports something that is not available while grading",
    "ModuleNotFoundError": "imports a module that is not installed where grading runs",
    "NotImplementedError": "still raises NotImplementedError: replace that line with your code",
}


def _known_identifier(kind: str, text: str, template: NotebookTemplate) -> str:
    """The name a runner error is about, when it is one the student may be told: a function
    of the notebook (an answer cell's grade id) or a real module of the course library.
    Anything else could be text the student's code chose, such as hidden inputs."""
    if kind == "NameError":
        match = _UNDEFINED_NAME.search(text)
        return match.group(1) if match and match.group(1) in template.answer_ids else ""
    match = _STUB_MODULE.search(text)
    if match is None:
        return ""
    parts = match.group(1).split(".")
    for end in range(len(parts), 1, -1):
        module = ".".join(parts[:end])
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            rest = parts[end:]
            named = len(rest) == 1 and rest[0] in template.answer_ids
            return f"{module}.{rest[0]}" if named else module
    return ""


def _cell_causes(
    result: JobResult, template: NotebookTemplate, titles: Mapping[int, str]
) -> tuple[str, ...]:
    """One sentence per exception type that stopped a cell, naming the first cell it hit."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for cell in result.execution.get("cells", ()) or ():
        if not isinstance(cell, Mapping) or cell.get("status") != "error":
            continue
        text = str(cell.get("error", ""))
        kind = text.split(":", 1)[0].strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,80}", kind):
            kind = "an error"
        detail = _known_identifier(kind, text, template)
        grade_id = cell.get("grade_id")
        index = cell.get("index")
        where = titles.get(index, "") if isinstance(index, int) else ""
        name = f"“{where}”" if where else "a cell"
        if isinstance(grade_id, str) and template.cell_for(grade_id) is not None:
            name += f" ({grade_id})"
        cells, details = found.setdefault(kind, ([], []))
        cells.append(name)
        if detail and detail not in details:
            details.append(detail)
    sentences = []
    for kind, (cells, details) in found.items():
        detail = ", ".join(details[:5]) or "a name"
        what = _CAUSE_WORDS.get(kind, f"raised {kind}").format(detail=detail)
        more = f" (and {len(cells) - 1} more cell(s) after it)" if len(cells) > 1 else ""
        sentences.append(f"{kind} in {cells[0]}{more}: your code {what}.")
    return tuple(sentences)


def _title(template: NotebookTemplate, titles: Mapping[int, str], grade_id: str) -> str:
    cell = template.cell_for(grade_id)
    return titles.get(cell.index, grade_id) if cell is not None else grade_id


def _test_row(
    grade_id: str,
    title: str,
    max_points: float,
    verdict: TestVerdict | None,
    submitted: bool = True,
) -> TestRow:
    """A table row; a test with no verdict (the notebook was not graded) says so."""
    if not submitted:
        points = "0" if verdict is not None else "–"
        return TestRow(grade_id, title, points, fmt_points(max_points), "missing", "not submitted",
                       "", "")  # fmt: skip
    if verdict is None:
        return TestRow(
            grade_id, title, "–", fmt_points(max_points), "ungraded", "not graded", "", ""
        )
    message = verdict.message
    if verdict.status is VerdictStatus.MISSING and not message:
        message = _MISSING_DEFAULT
    cases = f"{verdict.passed_cases}/{verdict.total_cases} cases" if verdict.total_cases else ""
    scored = verdict.status is not VerdictStatus.AWAITING_GPU
    return TestRow(
        grade_id=grade_id,
        title=title,
        points=fmt_points(verdict.points) if scored else "–",
        max_points=fmt_points(verdict.max_points),
        badge=verdict.status.value,
        label=_LABELS[verdict.status],
        cases=cases,
        message=message,
        tier=tier(verdict),
    )


def _test_rows(
    result: JobResult, template: NotebookTemplate, titles: Mapping[int, str]
) -> tuple[TestRow, ...]:
    """Every test cell of the template in notebook order, then any verdict it lacks."""
    verdicts = {verdict.test_id: verdict for verdict in result.verdicts}
    submitted = not notebook_missing(result.intake)
    rows = []
    for cell in template.cells:
        if cell.role is CellRole.TESTS and cell.grade_id is not None:
            title = titles.get(cell.index, cell.grade_id)
            verdict = verdicts.pop(cell.grade_id, None)
            rows.append(_test_row(cell.grade_id, title, cell.points, verdict, submitted))
    # The driver refuses unknown test ids; should one slip through, show it, not hide it.
    rows += [_test_row(v.test_id, v.test_id, v.max_points, v) for v in verdicts.values()]
    return tuple(rows)


def _manual_rows(
    result: JobResult, template: NotebookTemplate, titles: Mapping[int, str]
) -> tuple[ManualRow, ...]:
    """Manually graded answers and tasks, from the result and the template, in order."""
    ids = list(result.manual_cells)
    ids += [
        cell.grade_id
        for cell in template.cells
        if cell.role in (CellRole.MANUAL_ANSWER, CellRole.TASK)
        and cell.grade_id
        and cell.grade_id not in ids
    ]
    points = template.points_by_id
    return tuple(
        ManualRow(grade_id, _title(template, titles, grade_id), fmt_points(points.get(grade_id, 0)))
        for grade_id in ids
    )


def _intake_notes(
    intake: Mapping[str, Any], template: NotebookTemplate, titles: Mapping[int, str]
) -> tuple[tuple[str, str], ...]:
    """The intake report's notes in plain words.

    ``intake`` is the serialized :class:`~autograder.intake.IntakeReport`: ``status``,
    ``message`` and ``notes`` as a list of ``{"kind", "message", "grade_id"}``.
    """
    lines: list[tuple[str, str]] = []
    try:
        status = IntakeStatus(intake.get("status", IntakeStatus.OK))
    except ValueError:
        status = IntakeStatus.OK
    if status in _STATUS_WORDS:
        lines.append((_STATUS_WORDS[status], str(intake.get("message", ""))))
    for note in intake.get("notes", ()) or ():
        if not isinstance(note, Mapping):
            continue
        grade_id = note.get("grade_id")
        what = f"“{_title(template, titles, grade_id)}”" if grade_id else "one cell"
        try:
            words = _NOTE_WORDS[NoteKind(note.get("kind"))].format(what=what)
        except (KeyError, ValueError):
            words = "Note from reading your notebook:"
        lines.append((words, str(note.get("message", ""))))
    return tuple(lines)


def _timeout_notice(
    result: JobResult, template: NotebookTemplate, titles: Mapping[int, str]
) -> str | None:
    """Why the run stopped early, naming the section of the cell that was running."""
    execution = result.execution
    if result.status is not JobStatus.TIMEOUT and not execution.get("timed_out"):
        return None
    seconds = execution.get("wall_seconds")
    after = f" after about {round(seconds)} seconds" if isinstance(seconds, int | float) else ""
    where = ""
    for cell in execution.get("cells", ()) or ():
        if isinstance(cell, Mapping) and cell.get("status") == "timeout":
            index = cell.get("index")
            if isinstance(index, int) and index in titles:
                where = f" while running a cell in “{titles[index]}”"
            break
    return (
        f"Your notebook ran past its time limit and was stopped{after}{where}. Tests that "
        "had already run were scored; tests after that point count as missing. Look for "
        "loops or training runs that take much longer than they need to."
    )


def _headline(result: JobResult) -> str:
    if notebook_missing(result.intake):
        return (
            "This notebook was not in your submission, so none of its tests could be run. "
            "If you did the work, check the file's name and that it was uploaded."
        )
    if result.status is JobStatus.AWAITING_GPU:
        return (
            "This notebook needs a GPU and none was free when it was graded. It will be "
            "graded as soon as one is; this is not a zero."
        )
    if result.status is JobStatus.ERROR and result.error.startswith(WORKER_DIED):
        return (
            "Your notebook was not graded: running it crashed the grading process twice, "
            "for example by using too much memory, so it has no score yet. Run it top to "
            "bottom in a fresh kernel, fix what fails and submit again; the course team "
            "has been told."
        )
    if result.status is JobStatus.ERROR:
        # result.error is for the course team (grader internals); the student gets this.
        return (
            "We could not grade your latest submission of this notebook automatically, so "
            "no earlier score of it stands until the course team has looked at it. The "
            "problem is on our side, not in your work."
        )
    return ""


def build_page(
    result: JobResult, template: NotebookTemplate, late: Lateness | None = None
) -> FeedbackPage:
    """The feedback page's content for one result, before it becomes HTML.

    ``late``: the due date, submission time and penalty (None: the page shows none).
    """
    titles = section_titles(template)
    scored = result.status in (JobStatus.GRADED, JobStatus.TIMEOUT)
    missing = notebook_missing(result.intake)
    notices = [text for text in (_timeout_notice(result, template, titles),) if text]
    if result.execution.get("ended_by") == "memory_limit":
        notices.append(
            "Your notebook's processes together used more memory than a grading job may, "
            "so it was stopped; tests after that point count as missing."
        )
    penalty = late.penalty if late is not None and scored else 0.0
    # The missing-file note is the headline already; the rest of the intake's notes stay.
    intake = _intake_notes(result.intake, template, titles)
    if missing:
        intake = tuple(note for note in intake if note[0] != _NOTE_WORDS[NoteKind.MISSING_FILE])
    return FeedbackPage(
        assignment=result.assignment,
        notebook=result.notebook,
        student=result.student_id,
        score=fmt_points(max(0.0, result.score - penalty)) if scored else "–",
        max_score=fmt_points(result.max_score),
        score_notes=_score_notes(result, template, scored, late),
        headline=_headline(result),
        causes=() if missing else _cell_causes(result, template, titles),
        tests=_test_rows(result, template, titles),
        manual=_manual_rows(result, template, titles),
        notices=tuple(notices),
        intake_notes=intake,
    )


# --- HTML -----------------------------------------------------------------------------------
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Feedback: {{ p.assignment }} / {{ p.notebook }} ({{ p.student }})</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left;
         vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
.badge { border-radius: .8rem; padding: .1rem .6rem; color: #fff; white-space: nowrap; }
.passed { background: #2e7d32; } .partial { background: #ef6c00; }
.failed { background: #c62828; } .missing { background: #616161; }
.awaiting_gpu { background: #1565c0; } .ungraded { background: #9e9e9e; }
.score { font-size: 1.6rem; } .detail { color: #666; font-size: .9em; }
.message { white-space: pre-wrap; }
.notice { background: #fff8e1; border-left: 4px solid #ffb300; padding: .6rem 1rem; }
</style>
</head>
<body>
<h1>{{ p.assignment }}: {{ p.notebook }}</h1>
<p>Student: <strong>{{ p.student }}</strong></p>
{% if p.headline %}<p class="notice">{{ p.headline }}</p>{% endif %}
<p class="score">Score: <strong>{{ p.score }}</strong> / {{ p.max_score }}</p>
{% for text in p.score_notes %}<p class="detail">{{ text }}</p>
{% endfor %}
{% if p.causes %}
<div class="notice"><p>Your code stopped with an error, so the tests after it had nothing
to check:</p>
<ul>
{% for text in p.causes %}<li>{{ text }}</li>
{% endfor %}
</ul></div>
{% endif %}
{% for text in p.notices %}<p class="notice">{{ text }}</p>
{% endfor %}
<h2>Autograded tests</h2>
{% if p.tests %}
<table>
<tr><th>Test</th><th>Points</th><th>Result</th><th>Details</th><th>Verdict</th></tr>
{% for t in p.tests %}
<tr id="test-{{ t.grade_id }}">
<td>{{ t.title }}<br><code class="detail">{{ t.grade_id }}</code></td>
<td class="num">{{ t.points }} / {{ t.max_points }}</td>
<td><span class="badge {{ t.badge }}">{{ t.label }}</span>
{% if t.cases %}<br><span class="detail">{{ t.cases }}</span>{% endif %}</td>
<td class="message">{{ t.message }}</td>
<td class="detail">{{ t.tier }}</td>
</tr>
{% endfor %}
</table>
{% else %}<p>This notebook has no autograded tests.</p>{% endif %}
{% if p.manual %}
<h2>Graded by your instructor</h2>
<table>
<tr><th>Answer</th><th>Points</th></tr>
{% for m in p.manual %}
<tr><td>{{ m.title }}<br><code class="detail">{{ m.grade_id }}</code></td>
<td class="num">– / {{ m.max_points }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if p.intake_notes %}
<h2>About your notebook file</h2>
<ul>
{% for words, detail in p.intake_notes %}
<li>{{ words }}{% if detail %} <span class="detail">({{ detail }})</span>{% endif %}</li>
{% endfor %}
</ul>
{% endif %}
</body>
</html>
"""

_ENVIRONMENT = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
)
_TEMPLATE = _ENVIRONMENT.from_string(_PAGE)


def render_feedback(
    result: JobResult, template: NotebookTemplate, late: Lateness | None = None
) -> str:
    """The feedback page for one result as a self-contained HTML document."""
    return _TEMPLATE.render(p=build_page(result, template, late))


def write_feedback(
    results: Iterable[JobResult],
    templates: Mapping[tuple[str, str], NotebookTemplate],
    out_dir: str | os.PathLike[str],
    skipped: list[str] | None = None,
    lateness: Mapping[tuple[str, str, str], Lateness] | None = None,
) -> list[Path]:
    """Write ``<out_dir>/<student>/<assignment>/<notebook>.html`` for every result.

    ``lateness`` maps a result's key (assignment, student, notebook) to its due date,
    submission time and penalty.
    ``templates`` maps ``(assignment, notebook)`` to the notebook's template; a missing
    one is checked before the first file is written, so such a batch writes nothing. A
    result whose names are not usable in a file name (:func:`autograder.files.checked_name`)
    gets no page, and the reason goes to ``skipped``: one odd id never stops the class.
    Each file is written atomically.
    """
    out = Path(out_dir)
    planned: list[tuple[Path, JobResult, NotebookTemplate]] = []
    for result in results:
        template = templates.get((result.assignment, result.notebook))
        if template is None:
            raise ValueError(
                f"no template for assignment {result.assignment!r}, notebook "
                f"{result.notebook!r} (student {result.student_id!r}): add it to `templates` "
                "under the key (assignment, notebook)"
            )
        try:
            path = (
                out
                / checked_name(result.student_id, "student id")
                / checked_name(result.assignment, "assignment")
                / f"{checked_name(result.notebook, 'notebook name')}.html"
            )
        except ValueError as error:
            if skipped is not None:
                skipped.append(f"no feedback page for {'/'.join(result.key)}: {error}")
            continue
        planned.append((path, result, template))
    late = lateness or {}
    return [
        atomic_write_text(path, render_feedback(r, t, late.get(r.key))) for path, r, t in planned
    ]
