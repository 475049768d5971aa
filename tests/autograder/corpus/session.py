"""One complete corpus session: build, grade in the cohort and alone, audit.

Shared by ``tests/autograder/test_corpus.py`` and ``benchmarks/bench_adversarial.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.job import JobStatus
from corpus.audit import DAEMON_GRACE_SECONDS, Report, audit, sha256
from corpus.build import CorpusCourse, build_alone, build_corpus
from corpus.controls import CONTROLS, Control
from corpus.draft import Attack
from corpus.grading import JOB_FN, grade_course, grading_environment
from corpus.loopback import LoopbackServer
from corpus.scan import clean_up


@dataclass(frozen=True)
class Session:
    """What a session built and found."""

    course: CorpusCourse
    report: Report


def run_session(
    workdir: Path,
    *,
    attacks: Sequence[Attack] | None = None,
    controls: Sequence[Control] = CONTROLS,
    neighbours: bool = True,
    grade_alone: bool = True,
    workers: int = 2,
    job_fn: str = JOB_FN,
    grace_seconds: float = DAEMON_GRACE_SECONDS,
) -> Session:
    """Build the corpus under ``workdir`` (empty), grade it, and audit the result.

    ``grace_seconds``: how long to wait after grading for late daemons before looking.
    ``job_fn`` is the executor's job function (the insecure one is the audit's
    positive control). Leftover processes and escape files of the run are removed
    before returning.
    """
    workdir = Path(workdir).resolve()
    scratch = workdir / "scratch"
    with LoopbackServer() as server:
        course = build_corpus(
            workdir / "cohort",
            loopback_port=server.port,
            attacks=attacks,
            controls=controls,
            neighbours=neighbours,
        )
        fingerprints = {path: sha256(path) for paths in course.planted.values() for path in paths}
        try:
            with grading_environment(course.marker, course.canaries["env"], scratch):
                run = grade_course(course.root, workers=workers, job_fn=job_fn)
                alone = None
                if grade_alone:
                    alone = _grade_alone(workdir / "alone", course, workers, job_fn)
            report = audit(
                course,
                run,
                fingerprints=fingerprints,
                received=server.received,
                scratch=scratch,
                alone=alone,
                grace_seconds=grace_seconds,
            )
        finally:
            # The report holds the evidence; what escaped must not outlive the session.
            clean_up(course.marker, [course.root, scratch])
    return Session(course, report)


def _grade_alone(
    root: Path, course: CorpusCourse, workers: int, job_fn: str
) -> dict[str, float | None]:
    """The controls' scores, graded in a course of their own (None: no score)."""
    alone = build_alone(root, course)
    run = grade_course(alone.root, workers=workers, job_fn=job_fn)
    scores: dict[str, float | None] = {student: None for student in alone.students}
    for result in run.summary.results if run.summary else []:
        if result.status is not JobStatus.ERROR:
            scores[result.student_id] = result.score
    return scores
