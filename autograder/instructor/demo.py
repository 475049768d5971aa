"""The main job (``make demo``): the instructor pipeline end to end on embedded defaults.

In a demo folder of its own (default ``<repo>/workspace/demo/``, wiped and rebuilt at the
start, so running it twice is safe), in order:

1. copy ``course/`` and every assignment's source folder (``solutions/``) there; the
   repository itself is only read;
2. create a new term in the copy (a fresh seed) and make it current;
3. release and prove every assignment of ``course.toml`` into the copy's ``assignments/``;
4. build the synthetic class of every released assignment (:mod:`.synthetic`) in the
   term workspace's ``submitted/``;
5. grade it in parallel (a local process pool, the SQLite gradebook) with a progress bar;
6. print the grade table (expected against got) and the isolation layers that were active;
7. write feedback, the grades CSV, histograms, pass rates and the term report to
   ``<demo>/output/``, named at the end.

The exit status is 1 when a proof failed or a student's score differs from the expected
one, 2 for a configuration problem (e.g. a course with no assignments yet).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import COURSE_FILE, Course, CourseError
from autograder.course_layout import GRADEBOOK_FILE, SUBMITTED_DIR, CourseLayout
from autograder.instructor.config import load_course
from autograder.instructor.demo_table import Outcome, grade_table, layer_lines, outcome
from autograder.instructor.grading import export, feedback, grade
from autograder.instructor.release import ReleaseReport, release
from autograder.instructor.synthetic import build_class, write_class
from autograder.instructor.term_report import term_report
from autograder.instructor.terms import new_term
from autograder.instructor.workspace import WORKSPACES_DIR, TermWorkspace, open_workspace
from autograder.job import JobResult

DEMO_DIR = "demo"
MARKER = ".dlcourse-demo"
"""Marks a folder the demo made, so it never wipes anything else."""
DEMO_TERM = "demo"


@dataclass
class DemoResult:
    """How the demo ended."""

    folder: Path
    output: Path | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    results: list[JobResult] = field(default_factory=list)
    release: ReleaseReport | None = None
    """Every proof's outcome, per notebook (the course demo test reads it)."""
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        failed = [item for item in self.outcomes if not item.ok and not item.exposed]
        released = self.release is None or self.release.ok
        return 0 if released and not failed and self.output is not None else 1


def run_demo(
    course_dir: str | os.PathLike[str] = ".",
    *,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Run the main job on the repository at ``course_dir``; see the module docstring.

    ``out``: the demo folder (default ``<repo>/workspace/demo``); ``workers``: grading
    processes (one per core by default); ``echo`` receives every line meant for the user.
    """
    started = time.monotonic()
    source = load_course(Path(course_dir) / COURSE_FILE)
    source.require_assignments()
    folder = Path(out).resolve() if out else source.root / WORKSPACES_DIR / DEMO_DIR
    _fresh_folder(folder, source)
    result = DemoResult(folder)
    repo = _copy_course(source, folder / "repo")
    echo(f"[1/6] course copied to {repo}")
    new_term(repo, DEMO_TERM, shift_days=0, make_current=True)
    echo(f"[2/6] term {DEMO_TERM!r} created with a fresh seed")
    report = release(repo)
    echo("[3/6] release and proofs:\n" + report.render())
    result.release = report
    released = [item.assignment for item in report.assignments if item.written]
    space = open_workspace(repo, workspace=folder / "workspace")
    classes = _synthetic_classes(space, released)
    count = sum(len(students) for students in classes.values())
    echo(f"[4/6] synthetic class: {count} submissions in {space.root / 'submitted'}")
    echo("[5/6] grading")
    _grade_all(space, classes, result, workers, progress)
    echo(grade_table(result.outcomes, released))
    for line in layer_lines(result.results):
        echo(line)
    for item in result.outcomes:
        if item.exposed:
            echo(
                f"WARNING: {item.student.student_id} read the graded sources in {item.assignment}:"
                " neither bubblewrap nor an unprivileged uid isolated it; install bubblewrap"
            )
    if released:
        result.output = _write_outputs(space, released, folder / "output")
        echo(f"[6/6] feedback, grades.csv, plots and the term report written to {result.output}")
    result.seconds = time.monotonic() - started
    verdict = "all scores as expected" if result.exit_code == 0 else "FAILED: see ✗ above"
    if any(item.exposed for item in result.outcomes):
        verdict += ", but see the WARNING about isolation"
    echo(f"demo finished in {result.seconds:.0f} s: {verdict}; everything is in {folder}")
    return result


def _fresh_folder(folder: Path, source: Course) -> None:
    """Empty ``folder`` if the demo made it; refuse any other non-empty folder."""
    repo = source.root
    if folder == repo or folder in repo.parents:
        raise CourseError(f"the demo folder {folder} holds the repository: pick another --out")
    for name in ("course", "solutions", "assignments"):
        if folder == repo / name or repo / name in folder.parents:
            raise CourseError(
                f"the demo folder {folder} is inside the repository's {name}/: pick another --out"
            )
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise CourseError(
                f"{folder} is not empty and was not made by the demo (no {MARKER} in it): "
                "pick another --out or empty it first"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # it holds a workspace: see workspace.open_workspace
    (folder / MARKER).write_text("made by python -m autograder.instructor demo\n", "utf-8")
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")


def _copy_course(source: Course, repo: Path) -> Path:
    """``course/`` and each assignment's source folder, at the same relative places."""
    # Not the course team's secret seeds: the demo's term gets its own.
    shutil.copytree(
        source.root / "course", repo / "course", ignore=shutil.ignore_patterns("secrets")
    )
    for assignment in source.assignments:
        relative = assignment.source.relative_to(source.root)
        shutil.copytree(assignment.source, repo / relative, dirs_exist_ok=True)
    return repo


def _synthetic_classes(space: TermWorkspace, released: list[str]) -> dict[str, list]:
    classes = {}
    layout = CourseLayout(space.root)
    for name in released:
        assignment = space.course.assignment(name)
        sources = [assignment.notebook_path(nb) for nb in assignment.notebooks]
        copies = [layout.source_dir(name) / path.name for path in sources]
        secrets = [*copies, *sources, space.root / GRADEBOOK_FILE]
        students = build_class(assignment, space.course.root, secret_paths=secrets)
        write_class(students, space.root / SUBMITTED_DIR, name)
        classes[name] = students
    return classes


def _grade_all(
    space: TermWorkspace,
    classes: dict[str, list],
    result: DemoResult,
    workers: int | None,
    progress: bool,
) -> None:
    """Grade every assignment through one process pool; judge every student."""
    from autograder.executors import LocalExecutor

    with LocalExecutor(workers) as executor:
        for name, students in classes.items():
            summary = grade(
                name,
                space.course.root,
                workspace=space.root,
                executor=executor,
                progress=progress,
            )
            print(f"{name}: {summary.line}", file=sys.stderr)
            result.results += summary.results
            result.outcomes += [outcome(name, student, summary.results) for student in students]


def _write_outputs(space: TermWorkspace, released: list[str], output: Path) -> Path:
    root, where = space.course.root, space.root
    for name in released:
        feedback(name, root, workspace=where, out_dir=output / "feedback")
    export(root, workspace=where, out_dir=output)
    term_report(root, workspace=where, out=output / "term_report.html")
    return output
