"""Test helpers for the driver, the journal and the gradebook writer.

- :func:`make_course`: a small nbgrader course directory (two notebooks, a few
  students) built from scratch with nbformat;
- :class:`PreparedExecutor`: a real executor (the :class:`autograder.executors.Executor`
  protocol) that grades nothing: it sleeps, then returns a result prepared from the
  job's names, so driver tests do not depend on the sandbox;
- :func:`dump_gradebook`: every row of the gradebook's grading tables, without the
  random ids, sorted, for comparing two gradebooks;
- run as a script (``python driver_fakes.py COURSE --delay S``), it grades the course's
  ``hw1`` with a :class:`PreparedExecutor`: the subprocess the kill tests kill.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from sqlalchemy import create_engine, text

from autograder.job import GradingJob, JobResult, JobStatus, TestVerdict, VerdictStatus

ASSIGNMENT = "hw1"
NOTEBOOKS = ("part1", "part2")
STUDENTS = ("s01", "s02", "s03", "s04")
TERM_SEED = 1234
#: Autograded tests and their points; "explain" (4) is manual, "task_plot" (1) a task.
TEST_POINTS = {"test_relu": 2.0, "test_softmax": 3.0}
MAX_SCORE = 2.0 + 3.0 + 4.0 + 1.0


def _meta(grade_id: str, points: float | None = None, **flags: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade_id": grade_id, "schema_version": 3}
    meta.update({name: flags.get(name, False) for name in ("grade", "solution", "locked", "task")})
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(needs_gpu: bool = False) -> nbformat.NotebookNode:
    """An instructor source notebook: two tests, a manual answer and a task."""
    cells = [
        new_markdown_cell("# Activations"),
        new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
        new_code_cell(
            "def relu(x):\n    ### BEGIN SOLUTION\n    return np.maximum(x, 0)\n"
            "    ### END SOLUTION",
            metadata=_meta("relu", solution=True),
        ),
        new_code_cell(
            'check("test_relu", relu)\n### BEGIN HIDDEN TESTS\n'
            'check_hidden("test_relu", relu)\n### END HIDDEN TESTS',
            metadata=_meta("test_relu", 2, grade=True, locked=True),
        ),
        new_code_cell(
            "def softmax(x):\n    ### BEGIN SOLUTION\n    e = np.exp(x - x.max())\n"
            "    return e / e.sum()\n    ### END SOLUTION",
            metadata=_meta("softmax", solution=True),
        ),
        new_code_cell(
            'check("test_softmax", softmax)',
            metadata=_meta("test_softmax", 3, grade=True, locked=True),
        ),
        new_markdown_cell(
            "ReLU is cheap.", metadata=_meta("explain", 4, grade=True, solution=True)
        ),
        new_markdown_cell(
            "Plot both functions.", metadata=_meta("task_plot", 1, task=True, locked=True)
        ),
    ]
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index}"  # fixed, so two courses built alike hold identical files
    metadata: dict[str, Any] = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    if needs_gpu:
        metadata["dlcourse"] = {"needs_gpu": True}
    return new_notebook(cells=cells, metadata=metadata)


def make_course(
    root: Path,
    students: Sequence[str] = STUDENTS,
    *,
    notebooks: Sequence[str] = NOTEBOOKS,
    term_seed: int | None = TERM_SEED,
    needs_gpu: bool = False,
) -> Path:
    """Write a course under ``root``: sources, specs, a data file and submissions."""
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name in notebooks:
        nbformat.write(source_notebook(needs_gpu), source / f"{name}.ipynb")
        (source / f"{name}.specs.py").write_text("SPECS = []\n", encoding="utf-8")
    (source / "data.csv").write_text("x\n1\n", encoding="utf-8")
    for student in students:
        add_submission(root, student, notebooks=notebooks)
    if term_seed is not None:
        (root / "term.json").write_text(json.dumps({"seed": term_seed}), encoding="utf-8")
    return root


def add_submission(
    root: Path, student: str, *, notebooks: Sequence[str] = NOTEBOOKS, answer: str = ""
) -> Path:
    """A submission folder with one notebook per name (the source with ``answer`` added)."""
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        notebook = source_notebook()
        notebook.cells[2].source = f"def relu(x):\n    return x  # {student} {answer}"
        nbformat.write(notebook, folder / f"{name}.ipynb")
    (folder / "timestamp.txt").write_text("2024-03-01 17:00:00.000000 UTC", encoding="utf-8")
    return folder


def _fraction(*parts: str) -> float:
    """A stable number in [0, 1) from names, so results differ per job but never per run."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def prepared_result(job: GradingJob) -> dict[str, Any]:
    """The result this fake grader gives ``job``: points from its names, one test skipped
    for some jobs (so "no verdict scores 0" is exercised), TIMEOUT for s03's part2."""
    verdicts = []
    for test_id, points in TEST_POINTS.items():
        share = _fraction(job.student_id, job.notebook, test_id)
        if share > 0.85:
            continue  # no verdict at all for this test
        scored = round(points * min(1.0, share * 1.5) * 4) / 4
        status = VerdictStatus.PASSED if scored == points else VerdictStatus.PARTIAL
        verdicts.append(TestVerdict(test_id, status, scored, points, 1, 1, "prepared"))
    status = (
        JobStatus.TIMEOUT
        if (job.student_id, job.notebook) == ("s03", "part2")
        else JobStatus.GRADED
    )
    return JobResult(
        assignment=job.assignment,
        notebook=job.notebook,
        student_id=job.student_id,
        status=status,
        score=sum(verdict.points for verdict in verdicts),
        max_score=MAX_SCORE,
        verdicts=verdicts,
        manual_cells=["explain"],
    ).to_dict()


class PreparedExecutor:
    """Grades nothing: yields a prepared result per job after ``delay`` seconds.

    ``overrides`` replaces the result of chosen jobs (by ``(student, notebook)``);
    ``drop`` lists jobs it never answers. ``seen`` records what it was asked to run.
    """

    def __init__(
        self,
        delay: float = 0.0,
        *,
        has_gpu: bool = False,
        overrides: dict[tuple[str, str], Any] | None = None,
        drop: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.delay = delay
        self.has_gpu = has_gpu
        self.overrides = overrides or {}
        self.drop = set(drop)
        self.seen: list[tuple[str, str]] = []
        self.closed = False

    def map_unordered(self, jobs: Sequence[GradingJob]) -> Iterator[tuple[GradingJob, dict]]:
        for job in jobs:
            key = (job.student_id, job.notebook)
            self.seen.append(key)
            time.sleep(self.delay)
            if key in self.drop:
                continue
            if job.needs_gpu and not self.has_gpu:
                yield job, awaiting_result(job)
            else:
                yield job, self.overrides.get(key, prepared_result(job))

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> PreparedExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def awaiting_result(job: GradingJob) -> dict[str, Any]:
    return JobResult(
        assignment=job.assignment,
        notebook=job.notebook,
        student_id=job.student_id,
        status=JobStatus.AWAITING_GPU,
        score=0.0,
        max_score=MAX_SCORE,
    ).to_dict()


_GRADE_ROWS = """
select a.name, sa.student_id, n.name, c.name, c.type, g.auto_score, g.manual_score,
       g.extra_credit, g.needs_manual_grade
from grade g join base_cell c on c.id = g.cell_id
join submitted_notebook sn on sn.id = g.notebook_id join notebook n on n.id = sn.notebook_id
join submitted_assignment sa on sa.id = sn.assignment_id
join assignment a on a.id = sa.assignment_id
"""
_COMMENT_ROWS = """
select a.name, sa.student_id, n.name, c.name, m.auto_comment, m.manual_comment
from comment m join base_cell c on c.id = m.cell_id
join submitted_notebook sn on sn.id = m.notebook_id join notebook n on n.id = sn.notebook_id
join submitted_assignment sa on sa.id = sn.assignment_id
join assignment a on a.id = sa.assignment_id
"""
_QUERIES = {
    "student": "select id, first_name, last_name, email from student",
    "assignment": "select name, duedate, course_id from assignment",
    "notebook": "select a.name, n.name, n.kernelspec from notebook n "
    "join assignment a on a.id = n.assignment_id",
    "cell": "select n.name, c.name, c.type from base_cell c "
    "join notebook n on n.id = c.notebook_id",
    "grade_cell": "select n.name, c.name, g.max_score, g.cell_type from grade_cells g "
    "join base_cell c on c.id = g.id join notebook n on n.id = c.notebook_id",
    "task_cell": "select n.name, c.name, t.max_score, t.cell_type from task_cells t "
    "join base_cell c on c.id = t.id join notebook n on n.id = c.notebook_id",
    "source_cell": "select n.name, s.name, s.cell_type, s.locked, s.source, s.checksum "
    "from source_cell s join notebook n on n.id = s.notebook_id",
    "submission": "select a.name, s.student_id, s.timestamp from submitted_assignment s "
    "join assignment a on a.id = s.assignment_id",
    "submitted_notebook": "select a.name, sa.student_id, n.name, sn.flagged, "
    "sn.late_submission_penalty from submitted_notebook sn "
    "join notebook n on n.id = sn.notebook_id "
    "join submitted_assignment sa on sa.id = sn.assignment_id "
    "join assignment a on a.id = sa.assignment_id",
    "grade": _GRADE_ROWS,
    "comment": _COMMENT_ROWS,
}
_TABLES = ("student", "assignment", "notebook", "base_cell", "source_cell", "grade", "comment")


def dump_gradebook(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Sorted rows of every grading table (names, not ids) plus each table's row count,
    so duplicates and orphans both show up as differences."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            dump = {
                name: sorted((tuple(row) for row in connection.execute(text(query))), key=repr)
                for name, query in _QUERIES.items()
            }
            dump["counts"] = [
                (table, connection.execute(text(f"select count(*) from {table}")).scalar())
                for table in (*_TABLES, "submitted_assignment", "submitted_notebook")
            ]
    finally:
        engine.dispose()
    return dump


def journal_dump(workspace: Path) -> dict[str, dict[str, Any]]:
    """Every journal entry without its timing, by path relative to the workspace."""
    entries = {}
    for path in sorted((workspace / "results").rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("seconds", None)
        entries[str(path.relative_to(workspace))] = data
    return entries


def main() -> None:
    from autograder.driver import grade_assignment

    parser = argparse.ArgumentParser()
    parser.add_argument("course")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    summary = grade_assignment(
        args.course, ASSIGNMENT, executor=PreparedExecutor(args.delay), progress=False
    )
    print(summary.line, flush=True)


if __name__ == "__main__":
    main()
