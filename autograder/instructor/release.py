"""Release: build the student version of an assignment, prove it, and only then publish it.

The steps for each assignment, in order:

1. stage an nbgrader course in a temporary folder: ``source/<a>/`` gets the listed
   notebooks, their specs and the data files of ``solutions/<a>/``;
2. write the visible check files ``checks/<test_id>.npz`` for the term's public seed
   (the grading proofs draw from its secret one);
3. run nbgrader's own ``generate_assignment`` (specs files ignored) into ``release/<a>/``;
4. prove it: the solution earns full autograded marks, the blank earns zero,
   deterministically (:mod:`.proof`); the solution runs top to bottom in a real kernel
   within its runtime budget (:mod:`.top_to_bottom`); nothing secret leaked (:mod:`.leaks`);
   no graded reference can be imported or read inside the sandbox (:mod:`.hidden`);
5. when every proof holds, swap the new folder in for ``assignments/<a>/`` (written next
   to it as ``.<a>.new``, then exchanged with it in one atomic rename), with its
   ``.release.json`` record;
6. build the student edition from ``assignments/`` and prove it clean (:mod:`.edition`):
   no withheld reference (by its code), no seed, no grader files.

A failed proof, or a ``kill -9`` at any moment before the exchange, leaves
``assignments/`` exactly as it was (but for a hidden ``.<a>.new`` the next release
clears); the report lists every failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder.box import Box
from autograder.course import COURSE_FILE, Assignment, Course, Term
from autograder.course_layout import SOURCE_DIR, CourseLayout
from autograder.faults import fault_point
from autograder.instructor.config import load_course
from autograder.instructor.edition import EDITION_DIR, build_edition
from autograder.instructor.hidden import prove_hidden
from autograder.instructor.leaks import find_leaks
from autograder.instructor.proof import AWAITING_GPU, ProofInputs, prove_notebook
from autograder.instructor.record import ReleaseRecord, source_files, source_hashes, tree_hashes
from autograder.instructor.swap import fresh_sibling, swap_in
from autograder.instructor.terms import current_term
from autograder.instructor.top_to_bottom import run_top_to_bottom
from autograder.intake import load_template
from autograder.specs import load_specs, write_release_checks

NBGRADER_IGNORE = ["*.specs.py", ".ipynb_checkpoints", "__pycache__", "*.pyc"]
NBGRADER_TIMEOUT = 600


@dataclass
class AssignmentRelease:
    """What happened to one assignment."""

    assignment: str
    release_dir: Path
    written: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    """``(notebook or "-", reason)`` for every failed proof."""
    notes: list[tuple[str, str]] = field(default_factory=list)
    """``(notebook, note)``: not failures (e.g. awaiting a GPU runner)."""


@dataclass
class ReleaseReport:
    term_id: str
    assignments: list[AssignmentRelease] = field(default_factory=list)
    edition: Path | None = None
    """The student edition's folder (None: not built)."""
    edition_failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.edition_failures and all(not item.failures for item in self.assignments)

    def render(self) -> str:
        lines = []
        for item in self.assignments:
            state = "released to" if item.written else "NOT released; kept"
            lines.append(f"{item.assignment}: {state} {item.release_dir} (term {self.term_id})")
            lines += [f"  FAIL {notebook}: {reason}" for notebook, reason in item.failures]
            lines += [f"  note {notebook}: {note}" for notebook, note in item.notes]
        if self.edition is not None:
            state = "NOT written; kept" if self.edition_failures else "written to"
            lines.append(f"student edition: {state} {self.edition}")
            lines += [f"  FAIL {failure}" for failure in self.edition_failures]
        return "\n".join(lines)


def release(
    course_dir: str | os.PathLike[str] = ".",
    assignment: str | None = None,
    *,
    term: Term | None = None,
    prove: bool = True,
    box: Box | None = None,
    unlock: Sequence[str] = (),
    edition: str | os.PathLike[str] | None = None,
) -> ReleaseReport:
    """Release one assignment (or all, in course order) for ``term`` (default: the current).

    ``prove=False`` skips the grading proofs (the leak check always runs). ``box`` is
    the sandbox box for the grading proofs (default: this process's box). Then the
    student edition is built into ``edition`` (default: ``student-edition/``, git-ignored)
    with the references of the ``unlock`` assignments (each past its due date) put back.
    """
    course = load_course(Path(course_dir) / COURSE_FILE)
    term = term if term is not None else current_term(course.root)
    chosen = [course.assignment(assignment)] if assignment else list(course.assignments)
    report = ReleaseReport(term.term_id)
    for item in chosen:
        report.assignments.append(_release_one(course, item, term, prove, box))
    where = Path(edition) if edition is not None else course.root / EDITION_DIR
    report.edition = where.resolve()
    report.edition_failures = build_edition(course, term, report.edition, unlock)
    return report


def _release_one(
    course: Course, assignment: Assignment, term: Term, prove: bool, box: Box | None
) -> AssignmentRelease:
    outcome = AssignmentRelease(assignment.name, assignment.release)
    with tempfile.TemporaryDirectory(prefix=f"release-{assignment.name}-") as work:
        root = Path(work)
        staged = _stage(assignment, root, term.public_seed, outcome)
        built = _generate(root, assignment.name, outcome) if not outcome.failures else None
        if built is None:
            return outcome
        if prove:
            _prove(assignment, staged, built, term.seed, outcome, box)
        _check_leaks(assignment, staged, built, term.public_seed, outcome)
        if outcome.failures:
            return outcome
        record = ReleaseRecord(
            assignment.name, term.term_id, source_hashes(assignment), tree_hashes(built)
        )
        record.write(built)
        _install(built, assignment.release)
        outcome.written = True
    return outcome


def _stage(assignment: Assignment, root: Path, seed: int, outcome: AssignmentRelease) -> Path:
    """Steps 1-2: ``<root>/source/<a>/`` with the source files and the visible checks."""
    staged = root / SOURCE_DIR / assignment.name
    for path in source_files(assignment):
        target = staged / path.relative_to(assignment.source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    owner: dict[str, str] = {}
    for notebook in assignment.notebooks:
        registry = load_specs(staged / assignment.specs_path(notebook).name)
        for test_id in registry.test_ids:
            if test_id in owner:
                outcome.failures.append(
                    (notebook.name, f"test id {test_id!r} is also in {owner[test_id]}: the "
                     "shipped checks/ would collide; rename one grade id")
                )  # fmt: skip
            owner[test_id] = notebook.name
        write_release_checks(registry, staged, seed)
    return staged


def _generate(root: Path, name: str, outcome: AssignmentRelease) -> Path | None:
    """Step 3: nbgrader's own generate_assignment; the release folder, or None on failure."""
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [
        sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.ignore={json.dumps(NBGRADER_IGNORE)}",
        f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True,
        timeout=NBGRADER_TIMEOUT, check=False,
    )  # fmt: skip
    built = root / "release" / name
    if result.returncode != 0 or not built.is_dir():
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        outcome.failures.append(("-", "nbgrader generate_assignment failed: " + " | ".join(tail)))
        return None
    return built


def _prove(
    assignment: Assignment,
    staged: Path,
    built: Path,
    seed: int,
    outcome: AssignmentRelease,
    box: Box | None,
) -> None:
    """Step 4, grading proofs: every listed notebook in the real autograder."""
    if box is None:
        from autograder.pipeline import process_box

        box = process_box()
    # The grader's own rule for the data files a job gets (staged is <root>/source/<a>).
    extra = CourseLayout(staged.parent.parent).extra_files(staged.name)
    for notebook in assignment.notebooks:
        inputs = ProofInputs(
            assignment=assignment.name,
            notebook=notebook,
            source=staged / f"{notebook.name}.ipynb",
            release=built / f"{notebook.name}.ipynb",
            specs=staged / f"{notebook.name}.specs.py",
            extra_files=extra,
            term_seed=seed,
        )
        proof = prove_notebook(inputs, box)
        outcome.failures += [(notebook.name, failure) for failure in proof.failures]
        if proof.awaiting_gpu:
            outcome.notes.append((notebook.name, AWAITING_GPU))
            continue
        run = run_top_to_bottom(staged, notebook.name, notebook.runtime_budget)
        if run.failure:
            outcome.failures.append((notebook.name, run.failure))
        elif proof.ok:
            outcome.notes.append(
                (notebook.name, f"proved: solution {proof.solution_score:g}/"
                 f"{proof.autograded_max:g}, blank {proof.blank_score:g}, top to bottom "
                 f"in {run.seconds:.1f} s of {proof.budget_seconds} s")
            )  # fmt: skip
    registries = [
        load_specs(staged / f"{notebook.name}.specs.py") for notebook in assignment.notebooks
    ]
    outcome.failures += [
        ("-", f"reference reachable: {failure}") for failure in prove_hidden(registries, box)
    ]


def _check_leaks(
    assignment: Assignment, staged: Path, built: Path, seed: int, outcome: AssignmentRelease
) -> None:
    """Step 4, proof (c): no solution, hidden test, specs or hidden case in the release."""
    names = [notebook.name for notebook in assignment.notebooks]
    specs = [staged / f"{name}.specs.py" for name in names]
    leaks = find_leaks(
        built,
        [load_template(staged / f"{name}.ipynb") for name in names],
        specs,
        [load_specs(path) for path in specs],
        seed,
    )
    outcome.failures += [(leak.file, f"leak: {leak.reason}") for leak in leaks]


def _install(built: Path, target: Path) -> None:
    """Step 5: replace ``target`` by ``built`` with renames, never a half-written folder."""
    new = fresh_sibling(target)
    shutil.copytree(built, new, dirs_exist_ok=True)
    fault_point("release", "install")
    swap_in(new, target)


__all__ = ["AssignmentRelease", "ReleaseReport", "release"]
