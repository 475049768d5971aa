"""Judge a graded corpus course: the harm figures, and the evidence behind each.

Harm figures (each must be zero):

- ``score_inflations``: an attack scored above its base (the honest-but-wrong score);
- ``control_mismatches``: an honest control did not get its known score;
- ``others_changed``: a control scored differently in the cohort than graded alone;
- ``batch_aborts``: the driver raised, or a student has no result;
- ``canary_leaks``: a secret left the place it was planted (see :func:`_classify`);
- ``network_reached``: connections or datagrams that reached the loopback server;
- ``escapes``: files an attack dropped outside its sandbox;
- ``leftover_processes``: processes of the run still alive after the grace period;
- ``tampering``: a protected file changed, or the gradebook or journal disagree with
  what the driver decided.

Also reported: attacks tried by class, grader errors, the worst time-limit overshoot and
the isolation layers the jobs had.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry

from autograder.job import JobResult, JobStatus
from autograder.journal import Journal, JournalError
from corpus.build import CorpusCourse
from corpus.grading import CORPUS_LIMITS, GradingRun
from corpus.loopback import Received
from corpus.notebooks import ASSIGNMENT
from corpus.scan import canaries_in_text, canary_hits, escape_files, processes_with

DAEMON_GRACE_SECONDS = 8.0
"""Wait after grading before looking: the persistence attacks act a few seconds late."""

SCORE_TOLERANCE = 1e-9
HARMS = (
    "score_inflations",
    "control_mismatches",
    "others_changed",
    "batch_aborts",
    "canary_leaks",
    "network_reached",
    "escapes",
    "leftover_processes",
    "tampering",
    "ipc_shared",
)
JOURNAL_DIR = "autograder/results"
GRADEBOOK_STORES = frozenset({"hidden_tests"})
"""Canaries the real gradebook holds by design: like ``nbgrader generate_assignment``,
the writer stores the instructor's test cells (hidden part included) as source cells."""
"""The driver's journal under the course (its default workspace)."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<missing>"


def protected_files(course: CorpusCourse) -> list[Path]:
    """Files no attack may change: the source side, the fake gradebook, the victim's."""
    files = [path for paths in course.planted.values() for path in paths]
    return sorted(set(files))


@dataclass
class Report:
    """The audit of one corpus run (JSON-ready through :meth:`to_dict`)."""

    attacks_by_class: dict[str, int] = field(default_factory=dict)
    students: int = 0
    score_inflations: list[str] = field(default_factory=list)
    control_mismatches: list[str] = field(default_factory=list)
    others_changed: list[str] = field(default_factory=list)
    batch_aborts: list[str] = field(default_factory=list)
    canary_leaks: list[str] = field(default_factory=list)
    canaries_contained: list[str] = field(default_factory=list)
    """Hidden-test text an attack copied into its *own* journal entry (course team only)."""
    network_reached: list[str] = field(default_factory=list)
    escapes: list[str] = field(default_factory=list)
    leftover_processes: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    ipc_shared: list[str] = field(default_factory=list)
    """IPC objects one job saw of another's (``IPC-SEEN`` lines of the IPC attacks)."""
    grader_errors: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    worst_overshoot_seconds: float = 0.0
    """How far past its deadline the slowest timed-out job ended."""
    layers_active: list[str] = field(default_factory=list)
    layers_missing: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float | None] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per student: what it is, what it tried, how its job ended and what it scored."""
    grading_seconds: float = 0.0

    def harm_counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in HARMS}

    @property
    def harmless(self) -> bool:
        return not any(self.harm_counts().values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["harm_counts"] = self.harm_counts()
        data["attacks_tried"] = sum(self.attacks_by_class.values())
        return data


def gradebook_scores(course: CorpusCourse) -> dict[str, float | None]:
    """Each student's notebook score in the real gradebook (None: no submission there)."""
    scores: dict[str, float | None] = {}
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        for student in course.students:
            try:
                notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            except MissingEntry:
                scores[student] = None
                continue
            scores[student] = float(notebook.score)
    return scores


def journal_scores(course: CorpusCourse) -> tuple[dict[str, float], list[str]]:
    """Scores in the journal, and entries it cannot read."""
    scores, problems = {}, []
    for path, entry in Journal(course.root / JOURNAL_DIR).entries(ASSIGNMENT):
        if isinstance(entry, JournalError):
            problems.append(f"{path}: {entry}")
        else:
            scores[entry.student_id] = entry.score
    return scores, problems


def _check_scores(course: CorpusCourse, results: dict[str, JobResult], report: Report) -> None:
    for student in course.students.values():
        result = results.get(student.id)
        if result is None:
            report.batch_aborts.append(f"{student.id}: no result")
            continue
        score = result.score if result.status is not JobStatus.ERROR else None
        report.scores[student.id] = score
        report.outcomes[student.id] = {
            "kind": student.kind,
            "name": student.name,
            "class": student.attack_class,
            "summary": student.summary,
            "status": result.status.value,
            "score": score,
            "ceiling" if student.kind == "attack" else "expected": student.expected,
            "intake": result.intake.get("status", ""),
            "ended_by": (result.execution or {}).get("ended_by", ""),
        }
        if result.status is JobStatus.ERROR:
            report.grader_errors.append(f"{student.id}: {result.error.strip()[-300:]}")
        if student.kind == "attack" and score is not None:
            if score > student.expected + SCORE_TOLERANCE:
                report.score_inflations.append(f"{student.id}: {score} > {student.expected}")
        elif student.kind == "control" and (
            score is None or abs(score - student.expected) > SCORE_TOLERANCE
        ):
            report.control_mismatches.append(
                f"{student.id}: {score} ({result.status.value}), expected {student.expected}"
            )


def _check_books(course: CorpusCourse, results: dict[str, JobResult], report: Report) -> None:
    """The gradebook and the journal must say what the driver decided, nothing else."""
    journal, problems = journal_scores(course)
    report.tampering.extend(problems)
    book = gradebook_scores(course)
    for student, result in results.items():
        if result.status is JobStatus.ERROR:
            continue
        for where, scores in (("journal", journal), ("gradebook", book)):
            value = scores.get(student)
            if value is None or abs(value - result.score) > SCORE_TOLERANCE:
                report.tampering.append(f"{student}: {where} says {value}, driver {result.score}")
    extra = set(journal) - set(course.students)
    report.tampering.extend(f"journal entry for unknown student {name}" for name in sorted(extra))


def _classify(course: CorpusCourse, place: str, path: Path) -> str:
    """``"planted"``, ``"contained"`` or ``"leak"`` for one canary found in one file.

    The real gradebook stores the test cells' source (:data:`GRADEBOOK_STORES`). The
    hidden tests run inside every job, as in nbgrader, so their text is readable
    there by design: copied into the attacker's own journal entry (read by the course
    team only) it is contained. Every other canary must never be read by a job at all,
    and no canary may reach a student-visible file or anywhere else.
    """
    if path in course.planted.get(place, ()):
        return "planted"
    if place in GRADEBOOK_STORES and path == course.root / "gradebook.db":
        return "planted"
    # The victim's own graded notebook (autograded/, nbgrader's) holds their answers.
    if place == "victim" and any(
        path == course.root / "autograded" / planted.relative_to(course.root / "submitted")
        for planted in course.planted.get(place, ())
        if course.root / "submitted" in planted.parents
    ):
        return "planted"
    journal = course.root / JOURNAL_DIR
    if place == "hidden_tests" and journal in path.parents:
        return "contained"
    return "leak"


def _check_canaries(
    course: CorpusCourse, extra_roots: list[Path], received: Received, report: Report
) -> None:
    for place, path in canary_hits(course.canaries, [course.root, *extra_roots]):
        verdict = _classify(course, place, path)
        if verdict == "leak":
            report.canary_leaks.append(f"{place} -> {path}")
        elif verdict == "contained":
            report.canaries_contained.append(f"{place} -> {path}")
    for place in canaries_in_text(course.canaries, received.text()):
        report.canary_leaks.append(f"{place} -> loopback server")


def _write_reports(course: CorpusCourse, report: Report) -> None:
    """Feedback pages and the grades CSV, as the course team would make them next."""
    from autograder import api

    for name, make in (("feedback", api.feedback), ("export", api.export)):
        try:
            make(ASSIGNMENT, course.root)
        except Exception as error:  # an attack that breaks the reports is worth knowing
            report.grader_errors.append(f"{name}: {type(error).__name__}: {error}")


def _check_runs(results: list[JobResult], report: Report) -> None:
    """Timeouts, the worst overshoot, and the layers every job had."""
    active: set[str] | None = None
    for result in results:
        execution = result.execution or {}
        if execution.get("timed_out"):
            overshoot = float(execution.get("wall_seconds", 0.0)) - CORPUS_LIMITS.wall_seconds
            report.timeouts.append(f"{result.student_id}: {overshoot:+.2f} s past the deadline")
            report.worst_overshoot_seconds = max(report.worst_overshoot_seconds, overshoot)
        if result.layers:
            mine = {name for name, status in result.layers.items() if status.get("active")}
            active = mine if active is None else active & mine
            for name, status in result.layers.items():
                if not status.get("active"):
                    report.layers_missing[name] = str(status.get("detail", ""))
    report.layers_active = sorted(active or ())


def audit(
    course: CorpusCourse,
    run: GradingRun,
    *,
    fingerprints: dict[Path, str],
    received: Received,
    scratch: Path,
    alone: dict[str, float | None] | None = None,
    grace_seconds: float = DAEMON_GRACE_SECONDS,
) -> Report:
    """Every figure for one graded corpus; ``fingerprints`` are the protected files'
    hashes before grading, ``alone`` the controls' scores graded without the attacks."""
    time.sleep(grace_seconds)
    report = Report(grading_seconds=run.seconds, students=len(course.students))
    report.attacks_by_class = dict(Counter(s.attack_class for s in course.attacks()))
    if run.summary is None:
        report.batch_aborts.append(f"grade_assignment raised {run.error}")
        results: dict[str, JobResult] = {}
    else:
        results = {result.student_id: result for result in run.summary.results}
    _check_scores(course, results, report)
    if run.summary is not None:
        _check_books(course, results, report)
    for path, digest in fingerprints.items():
        if sha256(path) != digest:
            report.tampering.append(f"protected file changed: {path}")
    _write_reports(course, report)
    _check_canaries(course, [scratch], received, report)
    if received.connections or received.datagrams:
        report.network_reached.append(
            f"{received.connections} connections, {received.datagrams} datagrams"
        )
    report.escapes = [str(path) for path in escape_files(course.marker, [course.root, scratch])]
    report.leftover_processes = [str(p) for p in processes_with(course.marker)]
    _check_runs(list(results.values()), report)
    seen = f"IPC-SEEN {course.marker} "
    for result in results.values():
        tail = str((result.execution or {}).get("stderr_tail", ""))
        report.ipc_shared += [
            f"{result.student_id} saw {line[len(seen) :]}"
            for line in tail.splitlines()
            if line.startswith(seen)
        ]
    for student, score in (alone or {}).items():
        cohort = report.scores.get(student)
        if cohort is None or score is None or abs(cohort - score) > SCORE_TOLERANCE:
            report.others_changed.append(f"{student}: cohort {cohort}, alone {score}")
    return report
