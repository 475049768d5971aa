"""Find the grading work in an nbgrader course directory and turn it into jobs.

The course follows nbgrader's standard layout::

    <course>/
      nbgrader_config.py                       optional: CourseDirectory.db_url, .course_id
      term.json                                optional: the term (autograder.course.Term):
                                               its seed, dates, time zone, late policy;
                                               {"seed": N} alone is a term without dates
      gradebook.db                             the gradebook (default database)
      source/<assignment>/<nb>.ipynb           instructor source, with hidden tests
      source/<assignment>/<nb>.specs.py        the notebook's check specs (trusted side)
      source/<assignment>/<data files>         copied into every job's work dir
      submitted/<student>/<assignment>/*.ipynb what each student handed in
      submitted/<student>/<assignment>/timestamp.txt   optional, as nbgrader collects it
      receipts/<assignment>/<student>.json     the course's own record of when the work
                                               came in, written by the instructor's collect

Everything wrong with this layout is the course team's to fix, so it raises
:class:`CourseError` with a message naming the problem and the fix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from autograder.course import CourseError, Term
from autograder.files import (
    NOTEBOOK_SUFFIX,
    SPECS_SUFFIX,
    atomic_write_text,
    checked_name,
    is_usable_name,
)
from autograder.intake import IntakeConfig, match_submission_files
from autograder.job import GradingJob
from autograder.sandbox.limits import Limits
from autograder.specs.plain import calls_check
from autograder.workdir import ignored_name

SOURCE_DIR = "source"
SUBMITTED_DIR = "submitted"
TERM_FILE = "term.json"
GRADEBOOK_FILE = "gradebook.db"
CONFIG_FILE = "nbgrader_config.py"
TIMESTAMP_FILE = "timestamp.txt"
RECEIPTS_DIR = "receipts"
"""Receipts live outside ``submitted/``, so nothing a student hands in can become one."""
#: nbgrader's CourseDirectory.course_id default, so our rows match what its apps write.
DEFAULT_COURSE_ID = ""


@dataclass(frozen=True)
class CourseSettings:
    """What the driver takes from ``nbgrader_config.py`` (nbgrader's defaults otherwise)."""

    db_url: str
    course_id: str = DEFAULT_COURSE_ID
    late_plugin: Any = None
    """nbgrader's late-submission plugin, when the config sets ``AssignLatePenalties`` or
    ``LateSubmissionPlugin`` options; None leaves late work to the term's policy."""


@dataclass(frozen=True)
class SourceNotebook:
    """One notebook of an assignment as the instructor wrote it."""

    name: str
    """Notebook name without ``.ipynb``; also its name in the gradebook."""
    path: Path
    specs_path: Path | None
    """None when every test cell is a plain nbgrader test (no ``check()``)."""
    needs_gpu: bool


@dataclass(frozen=True)
class CourseLayout:
    """An nbgrader course directory; every path the grader reads is derived here."""

    root: Path

    @classmethod
    def open(cls, course_dir: str | os.PathLike[str]) -> CourseLayout:
        """Check that ``course_dir`` looks like a course (it has ``source/``)."""
        root = Path(course_dir).expanduser().resolve()
        if not root.is_dir():
            raise CourseError(
                f"course directory {root} does not exist: pass the nbgrader course root "
                "(the folder holding source/ and submitted/) with --nbgrader-root DIR"
            )
        if not (root / SOURCE_DIR).is_dir():
            raise CourseError(
                f"{root} has no {SOURCE_DIR}/ folder, so it is not an nbgrader course root: "
                "pass the folder holding source/ and submitted/ with --nbgrader-root DIR"
            )
        return cls(root)

    # --- settings -------------------------------------------------------------------
    def settings(self) -> CourseSettings:
        """The database URL and course id, from ``nbgrader_config.py`` when it sets them."""
        default_url = f"sqlite:///{self.root / GRADEBOOK_FILE}"
        config_path = self.root / CONFIG_FILE
        if not config_path.is_file():
            return CourseSettings(db_url=default_url)
        config = _read_nbgrader_config(config_path)
        course_dir = config.get("CourseDirectory", {})
        return CourseSettings(
            db_url=str(course_dir.get("db_url") or default_url),
            course_id=str(course_dir.get("course_id", DEFAULT_COURSE_ID)),
            late_plugin=_late_plugin(config, config_path),
        )

    def term(self, seed: int | None = None) -> Term:
        """The term from ``term.json``; ``seed``, when given, replaces its seed (and
        stands for a term without dates when there is no ``term.json``)."""
        path = self.root / TERM_FILE
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise CourseError(f"the term seed given must be an integer, got {seed!r}")
        if not path.is_file():
            if seed is None:
                raise CourseError(
                    "no term seed: pass --term-seed N (Python API: term_seed=N) or write "
                    f'{{"seed": N}} to {path}'
                )
            return Term("", seed)
        term = Term.read_json(path)
        return term if seed is None else replace(term, seed=seed)

    def has_term_file(self) -> bool:
        return (self.root / TERM_FILE).is_file()

    # --- source side ----------------------------------------------------------------
    def uses_specs(self, assignment: str) -> bool:
        """Whether any notebook of ``assignment`` has ``check()`` tests (and so specs)."""
        return any(notebook.specs_path for notebook in self.source_notebooks(assignment))

    def source_dir(self, assignment: str) -> Path:
        return self.root / SOURCE_DIR / assignment

    def assignments(self) -> list[str]:
        """Assignment names: the visible folders under ``source/``."""
        return _visible_dirs(self.root / SOURCE_DIR)

    def source_notebooks(self, assignment: str) -> tuple[SourceNotebook, ...]:
        """The assignment's notebooks in name order, each with its specs file."""
        directory = self.source_dir(assignment)
        if not is_usable_name(assignment) or not directory.is_dir():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(
                f"unknown assignment {assignment!r}: {SOURCE_DIR}/{assignment}/ does not exist "
                f"in {self.root} (assignments found: {known})"
            )
        notebooks = []
        for path in sorted(directory.iterdir()):
            if not (_visible_regular_file(path) and path.name.endswith(NOTEBOOK_SUFFIX)):
                continue
            name = path.name[: -len(NOTEBOOK_SUFFIX)]
            specs = directory / f"{name}{SPECS_SUFFIX}"
            has_specs = _visible_regular_file(specs)
            if not has_specs and _has_check_tests(path):
                raise CourseError(
                    f"{path} has no check specs: write {specs} defining SPECS for its tests"
                )
            # Without specs every test is a plain nbgrader test, graded as nbgrader does.
            notebooks.append(
                SourceNotebook(name, path, specs if has_specs else None, notebook_needs_gpu(path))
            )
        if not notebooks:
            raise CourseError(
                f"assignment {assignment!r} has no notebooks: put the instructor's source "
                f"notebook(s) in {directory}"
            )
        return tuple(notebooks)

    def extra_files(self, assignment: str) -> tuple[Path, ...]:
        """What ``nbgrader autograde`` copies from the source folder into the work dir:
        every file and folder but notebooks and nbgrader's ignored names
        (:data:`autograder.workdir.NBGRADER_IGNORE`; inside folders too), less specs.

        Hidden entries and links are left out (a link could point at the grader's own
        files), and so are the specs, which are trusted grading code and never enter
        the sandbox.
        """
        return tuple(
            path
            for path in sorted(self.source_dir(assignment).iterdir())
            if not path.name.startswith(".")
            and not path.is_symlink()
            and (path.is_dir() or path.is_file())
            and not ignored_name(path.name)
            and not path.name.endswith(SPECS_SUFFIX)
        )

    # --- submitted side -------------------------------------------------------------
    def submission_dir(self, student_id: str, assignment: str) -> Path:
        return self.root / SUBMITTED_DIR / student_id / assignment

    def students(self, assignment: str) -> list[str]:
        """Students with a submission folder for this assignment and a usable id, sorted."""
        return [student for student in self._submitting(assignment) if is_usable_name(student)]

    def refused_students(self, assignment: str) -> list[str]:
        """Why each submission folder whose name is not a usable student id is not graded."""
        refused = []
        for student in self._submitting(assignment):
            try:
                checked_name(student, "student id")
            except ValueError as error:
                refused.append(
                    f"{self.submission_dir(student, assignment)} is not graded: {error}; "
                    "rename the folder to the student's id"
                )
        return refused

    def _submitting(self, assignment: str) -> list[str]:
        return [
            student
            for student in _visible_dirs(self.root / SUBMITTED_DIR)
            if self.submission_dir(student, assignment).is_dir()
        ]

    def submission_time(self, student_id: str, assignment: str) -> tuple[datetime | None, bool]:
        """When the student submitted, and whether the course's side says so.

        The course's receipt (:meth:`write_receipt`) wins: its time came from the
        exchange's own records, which the student cannot write. Without a receipt, the
        only time is nbgrader's ``timestamp.txt`` in the submission, which the student can
        write: it is returned with False, so the run can say that this late penalty rests
        on the student's own file.
        """
        receipt = self.receipt_path(student_id, assignment)
        if receipt.is_file():
            try:
                text = json.loads(receipt.read_text(encoding="utf-8"))["time"]
                return datetime.fromisoformat(text), True
            except (OSError, UnicodeDecodeError, ValueError, LookupError, TypeError) as error:
                raise CourseError(
                    f"cannot read the receipt {receipt} ({error}): collect the assignment again"
                ) from error
        path = self.submission_dir(student_id, assignment) / TIMESTAMP_FILE
        if not _visible_regular_file(path):
            return None, False
        from nbgrader.utils import parse_utc  # nbgrader's own parser, so both agree

        try:
            return parse_utc(path.read_text(encoding="utf-8").strip()), False
        except (OSError, UnicodeDecodeError, ValueError, OverflowError):
            return None, False  # a broken timestamp must not stop grading; nbgrader ignores it

    def receipt_path(self, student_id: str, assignment: str) -> Path:
        return (
            self.root / RECEIPTS_DIR / assignment / f"{checked_name(student_id, 'student id')}.json"
        )

    def write_receipt(self, student_id: str, assignment: str, when: datetime, source: str) -> None:
        """Record, from the course's side, when ``student_id``'s work came in (naive UTC)
        and where the time came from."""
        record = {"time": when.isoformat(), "source": source}
        atomic_write_text(self.receipt_path(student_id, assignment), json.dumps(record) + "\n")

    # --- jobs -----------------------------------------------------------------------
    def build_jobs(
        self,
        assignment: str,
        term_seed: int,
        *,
        students: Sequence[str] | None = None,
        skip: Callable[[GradingJob], bool] | None = None,
        limits: Limits | None = None,
        forbidden_calls: str = "flag",
        intake: IntakeConfig | None = None,
    ) -> list[GradingJob]:
        """One job per (student, notebook), ordered by student then notebook.

        ``students`` restricts the run (each must have a submission folder); ``skip``
        drops jobs already graded (the driver's "only ungraded" filter);
        ``forbidden_calls`` is the term's policy (:attr:`Term.forbidden_calls`).
        """
        notebooks = self.source_notebooks(assignment)
        extra = self.extra_files(assignment)
        chosen = self._chosen_students(assignment, students)
        jobs = []
        for student in chosen:
            files = match_submission_files(
                self.submission_dir(student, assignment),
                [f"{notebook.name}{NOTEBOOK_SUFFIX}" for notebook in notebooks],
                intake,
            )
            for notebook in notebooks:
                job = GradingJob(
                    assignment=assignment,
                    notebook=notebook.name,
                    student_id=student,
                    submission_path=files.matched.get(f"{notebook.name}{NOTEBOOK_SUFFIX}"),
                    template_path=notebook.path,
                    specs_path=notebook.specs_path,
                    term_seed=term_seed,
                    needs_gpu=notebook.needs_gpu,
                    limits=limits or Limits(),
                    extra_files=extra,
                    forbidden_calls=forbidden_calls,
                    intake=intake or IntakeConfig(),
                )
                if skip is None or not skip(job):
                    jobs.append(job)
        return jobs

    def _chosen_students(self, assignment: str, students: Iterable[str] | None) -> list[str]:
        """All submitting students, or the requested ones after checking each exists."""
        if students is None:
            return self.students(assignment)
        chosen = list(dict.fromkeys(students))
        for student in chosen:
            if not is_usable_name(student) or not self.submission_dir(student, assignment).is_dir():
                raise CourseError(
                    f"student {student!r} has no submission for {assignment!r}: expected "
                    f"{self.root / SUBMITTED_DIR / student / assignment} (run nbgrader collect "
                    "or check the student id)"
                )
        return chosen


def _read_nbgrader_config(path: Path) -> Any:
    """An nbgrader config file, loaded as nbgrader loads it (trusted course code)."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    loader = PyFileConfigLoader(path.name, path=str(path.parent))
    try:
        config = loader.load_config()
    except ConfigFileNotFound:
        return {}
    except Exception as error:  # the file is Python; any failure is the course team's to fix
        raise CourseError(f"cannot load {path}: {error}; fix or remove the file") from error
    return config


def _late_plugin(config: Any, path: Path) -> Any:
    """The plugin nbgrader's ``AssignLatePenalties`` would call, built by nbgrader from
    the same config; None when the config leaves late penalties alone."""
    if "AssignLatePenalties" not in config and "LateSubmissionPlugin" not in config:
        return None
    from nbgrader.preprocessors import AssignLatePenalties

    try:
        assigner = AssignLatePenalties(config=config)
        assigner.init_plugin()
    except Exception as error:  # the plugin is course code; say where it is configured
        raise CourseError(
            f"{path}: the late-submission plugin cannot be set up: {error}; fix "
            "c.AssignLatePenalties.plugin_class"
        ) from error
    return assigner.plugin_inst


def notebook_needs_gpu(path: Path) -> bool:
    """``metadata.dlcourse.needs_gpu`` of the source notebook (False when absent)."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise CourseError(f"cannot read instructor notebook {path}: {error}") from error
    section = metadata.get("dlcourse", {}) if isinstance(metadata, dict) else None
    value = section.get("needs_gpu", False) if isinstance(section, dict) else None
    if not isinstance(value, bool):
        raise CourseError(
            f'{path}: metadata "dlcourse" "needs_gpu" must be true or false, got {value!r}'
        )
    return value


def _has_check_tests(path: Path) -> bool:
    """Whether a source notebook has ``check()`` test cells (which need a specs file)."""
    from autograder.intake import CellRole, TemplateError, load_template

    try:
        template = load_template(path)
    except TemplateError as error:
        raise CourseError(f"{path} cannot be graded: {error}; fix the source notebook") from error
    return any(
        calls_check(cell.source, cell.grade_id)
        for cell in template.cells
        if cell.role is CellRole.TESTS and cell.grade_id
    )


def _visible_regular_file(path: Path) -> bool:
    return not path.name.startswith(".") and path.is_file() and not path.is_symlink()


def _visible_dirs(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(
        entry.name
        for entry in directory.iterdir()
        if not entry.name.startswith(".") and entry.is_dir() and not entry.is_symlink()
    )
