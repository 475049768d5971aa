"""Proofs (a), (b), (d) and (e) of a release, run in the real autograder for one notebook.

(a) the solution earns every autograded point; (b) the blank release earns none;
(d, in the sandbox) grading the solution finishes within the notebook's runtime budget
(the run in a real kernel is :mod:`.top_to_bottom`); (e) grading the solution twice
gives identical verdicts. A notebook that needs a GPU on a machine
without one is reported as awaiting a GPU runner: not proved, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.box import Box
from autograder.cli import last_line
from autograder.course import NotebookEntry
from autograder.job import GradingJob, JobResult, JobStatus, VerdictStatus
from autograder.pipeline import grade_submission
from autograder.sandbox.limits import Limits

SOLUTION_STUDENT = "__solution__"
BLANK_STUDENT = "__blank__"
AWAITING_GPU = "awaiting a GPU runner"


@dataclass(frozen=True)
class ProofInputs:
    """The files of one staged notebook."""

    assignment: str
    notebook: NotebookEntry
    source: Path
    """The staged source notebook (the template, and the solution submission)."""
    release: Path
    """The generated release notebook (the blank submission)."""
    specs: Path
    extra_files: tuple[Path, ...]
    term_seed: int


@dataclass
class NotebookProof:
    notebook: str
    failures: list[str] = field(default_factory=list)
    awaiting_gpu: bool = False
    solution_score: float = 0.0
    autograded_max: float = 0.0
    blank_score: float = 0.0
    wall_seconds: float = 0.0
    budget_seconds: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def prove_notebook(inputs: ProofInputs, box: Box) -> NotebookProof:
    proof = NotebookProof(inputs.notebook.name, budget_seconds=inputs.notebook.runtime_budget)
    solution = _grade(inputs, inputs.source, SOLUTION_STUDENT, box)
    if solution.status is JobStatus.AWAITING_GPU:
        proof.awaiting_gpu = True
        return proof
    if solution.status is JobStatus.ERROR:
        proof.failures.append(f"the grader failed on the solution: {last_line(solution.error)}")
        return proof
    _check_solution(solution, proof)
    _check_budget(solution, proof)
    blank = _grade(inputs, inputs.release, BLANK_STUDENT, box)
    _check_blank(blank, proof)
    again = _grade(inputs, inputs.source, SOLUTION_STUDENT, box)
    if _verdicts(again) != _verdicts(solution) or again.score != solution.score:
        proof.failures.append(
            f"grading is not deterministic: the solution scored {solution.score:g}, then "
            f"{again.score:g} with other verdicts; make the specs depend only on their rng"
        )
    return proof


def _grade(inputs: ProofInputs, submission: Path, student: str, box: Box) -> JobResult:
    budget = inputs.notebook.runtime_budget
    job = GradingJob(
        assignment=inputs.assignment,
        notebook=inputs.notebook.name,
        student_id=student,
        submission_path=submission,
        template_path=inputs.source,
        specs_path=inputs.specs,
        term_seed=inputs.term_seed,
        needs_gpu=inputs.notebook.needs_gpu,
        limits=Limits(wall_seconds=float(budget), cpu_seconds=max(budget, Limits.cpu_seconds)),
        extra_files=inputs.extra_files,
    )
    return grade_submission(job, box)


def _check_solution(result: JobResult, proof: NotebookProof) -> None:
    proof.solution_score = result.score
    proof.autograded_max = sum(verdict.max_points for verdict in result.verdicts)
    for verdict in result.verdicts:
        if verdict.status is not VerdictStatus.PASSED or verdict.points != verdict.max_points:
            proof.failures.append(
                f"the solution fails test {verdict.test_id!r} ({verdict.status.value}, "
                f"{verdict.points:g}/{verdict.max_points:g}): {verdict.message}"
            )


def _check_budget(result: JobResult, proof: NotebookProof) -> None:
    proof.wall_seconds = float(result.execution.get("wall_seconds", 0.0))
    if result.status is JobStatus.TIMEOUT or proof.wall_seconds > proof.budget_seconds:
        proof.failures.append(
            f"grading the solution did not finish within its runtime budget of "
            f"{proof.budget_seconds} s (took {proof.wall_seconds:.1f} s): speed it up or "
            "raise runtime_budget in course.toml"
        )


def _check_blank(result: JobResult, proof: NotebookProof) -> None:
    proof.blank_score = result.score
    if result.status is JobStatus.ERROR:
        proof.failures.append(f"the grader failed on the blank: {last_line(result.error)}")
    for verdict in result.verdicts:
        if verdict.points > 0:
            proof.failures.append(
                f"the blank release earns {verdict.points:g} points on test "
                f"{verdict.test_id!r}: the test must fail on the unanswered stub"
            )


def _verdicts(result: JobResult) -> list[tuple[str, str, float, int]]:
    return [(v.test_id, v.status.value, v.points, v.passed_cases) for v in result.verdicts]
