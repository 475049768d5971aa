"""The student edition: what students install, built by ``release`` and proved clean.

Default place: ``student-edition/`` in the repository (git-ignored; the course team
publishes that folder, e.g. as a zip or a repository of its own). Layout::

    student-edition/
      README.md            set-up and the assignments, for students
      environment.yml      conda environment: `conda env create -f environment.yml`
      pyproject.toml       the student build of dlcourse (`pip install -e .` also works)
      assignments/<a>/     the released notebooks with their checks/ (no .release.json)
      lib/dlcourse/        the course library, every withheld reference stripped
      EDITION.json         term, unlocked assignments, withheld functions per assignment

The library keeps every module, signature and docstring, so every import (widgets
included) works; the body of each function in :func:`withheld_references` is a
``raise NotImplementedError`` that names the assignment, and a widget that would fall
back on one says the student's function is missing. ``unlock`` puts back the
references of assignments whose due date has passed. There is no ``solutions/``, no
``*.specs.py``, no grader (``autograder/``) and no seed in it: :func:`prove_edition`
checks all of it, and finds a withheld reference by its code under any name.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import dlcourse
from autograder.course import Course, CourseError, Term
from autograder.files import SPECS_SUFFIX
from autograder.instructor.swap import fresh_sibling, swap_in
from autograder.instructor.withheld import (
    Withheld,
    function_nodes,
    hash_body,
    strip_source,
    withheld_references,
)
from autograder.studentlib import module_name

EDITION_DIR = "student-edition"
"""The edition's default folder, under the repository root (git-ignored)."""
FORBIDDEN_NAMES = ("solutions", "autograder")
MARK = "__dlcourse_withheld__"  # = dlcourse.widgets.base.WITHHELD_MARK (a test holds it)
"""Set on a withheld module-level function: the assignment it belongs to."""
MIN_SEED_DIGITS = 8
STUDENT_DEPENDENCIES_LEFT_OUT = ("dask",)  # the grader's scale-out executor
LIBRARY_REPO = Path(dlcourse.__path__[0]).resolve().parents[1]
"""The repository the library is installed from (editable): its environment and pyproject."""
MINIMAL_ENVIRONMENT = """name: dlcourse
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - -e .
"""


def build_edition(
    course: Course,
    term: Term,
    dest: Path,
    unlock: Sequence[str] = (),
    *,
    now: datetime | None = None,
) -> list[str]:
    """Build the edition into ``dest`` (replaced whole) when it proves clean.

    Returns the proof's failures; with any, ``dest`` is left as it was.
    """
    _check_unlock(course, term, unlock, now)
    locked = [item for item in withheld_references(course) if item.assignment not in unlock]
    new = fresh_sibling(dest)
    try:
        _write_library(new / "lib" / "dlcourse", locked)
        for assignment in course.assignments:
            if assignment.release.is_dir():
                shutil.copytree(
                    assignment.release,
                    new / "assignments" / assignment.name,
                    ignore=shutil.ignore_patterns(".release.json", ".ipynb_checkpoints"),
                )
        _write_setup(new, course, term, locked, unlock)
        seeds = [term.seed, term.public_seed]
        failures = prove_edition(new, locked, seeds, handed_out_hashes(course))
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if failures:
        shutil.rmtree(new, ignore_errors=True)
        return failures
    swap_in(new, dest)
    return []


def _check_unlock(course: Course, term: Term, unlock: Iterable[str], now: datetime | None) -> None:
    moment = now or datetime.now(timezone.utc).replace(tzinfo=None)
    for name in unlock:
        course.assignment(name)
        due = term.due_instant(name)
        if due is None or moment <= due:
            when = "has no due date in the term file" if due is None else f"is due {due} UTC"
            raise CourseError(
                f"--unlock {name}: {name} {when}; its references unlock only after its due date"
            )


def _write_library(target: Path, locked: list[Withheld]) -> None:
    by_module: dict[str, dict[str, str]] = {}
    for item in locked:
        by_module.setdefault(item.module, {})[item.qualname] = item.assignment
    source_root = Path(dlcourse.__path__[0])
    for directory, subdirs, files in os.walk(source_root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(directory, name)
            if name.endswith((".pyc", ".pyo")) or path.is_symlink():
                continue
            relative = path.relative_to(source_root)
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            withheld = by_module.get(module_name("dlcourse", relative))  # type: ignore[arg-type]
            if name.endswith(".py") and withheld:
                out.write_text(_stripped(path.read_text(encoding="utf-8"), withheld))
            else:
                shutil.copyfile(path, out)


def _stripped(source: str, withheld: dict[str, str]) -> str:
    """The stripped module, each withheld module-level function marked for the widgets."""
    marks = [
        f"{qualname}.{MARK} = {assignment!r}"
        for qualname, assignment in sorted(withheld.items())
        if "." not in qualname
    ]
    return strip_source(source, withheld).rstrip("\n") + "\n\n" + "\n".join(marks) + "\n"


def prove_edition(
    root: Path, locked: Sequence[Withheld], seeds: Sequence[int], handed_out: set[str]
) -> list[str]:
    """Every way ``root`` is not a clean student edition; empty when it is.

    ``handed_out``: body hashes of functions the proven release hands out
    (:func:`handed_out_hashes`), no secret even where an exercise module has the same one.
    """
    failures = []
    references = {
        item.body_hash: item
        for item in locked
        if item.body_hash not in _TRIVIAL and item.body_hash not in handed_out
    }
    # A short seed (a test course's 11) is in every file by chance and secret to nobody;
    # new-term's are 63-bit numbers of about 19 digits.
    needles = {str(seed).encode() for seed in seeds if len(str(abs(seed))) >= MIN_SEED_DIGITS}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.name in FORBIDDEN_NAMES or path.name.endswith(SPECS_SUFFIX):
            failures.append(f"{name}: the grader's files are not for students")
        if not path.is_file():
            continue
        data = path.read_bytes()
        failures += [f"{name}: holds a term seed" for needle in needles if needle in data]
        for qualname, hashed in _function_hashes(path, data):
            found = references.get(hashed)
            if found is not None:
                failures.append(
                    f"{name}: {qualname} has the code of the reference {found.module}."
                    f"{found.qualname} ({found.assignment})"
                )
    return failures


def handed_out_hashes(course: Course) -> set[str]:
    """Body hashes of the functions in the released notebooks (a test cell's glue that
    calls the student's functions); the release proved them free of solutions."""
    return {
        hashed
        for assignment in course.assignments
        for path in sorted(assignment.release.glob("*.ipynb"))
        for _, hashed in _function_hashes(path, path.read_bytes())
    }


def _function_hashes(path: Path, data: bytes) -> list[tuple[str, str]]:
    """The body hash of every function in a Python file or a notebook's code cells."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    sources = [text] if path.suffix == ".py" else []
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            cells = []
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                sources.append("".join(source) if isinstance(source, list) else str(source))
    found = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue  # IPython magics: no Python to compare
        found += [(qualname, hash_body(node)) for qualname, node in function_nodes(tree)]
    return found


def _trivial_hashes() -> set[str]:
    """Bodies that say nothing to look for (an empty body, a bare ``pass``)."""
    bodies = ["def f():\n    pass\n", "def f():\n    ...\n", "def f():\n    '''doc'''\n"]
    hashes = set()
    for source in bodies:
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.FunctionDef)
        hashes.add(hash_body(node))
    return hashes


_TRIVIAL = _trivial_hashes()


def _write_setup(
    root: Path, course: Course, term: Term, locked: list[Withheld], unlock: Sequence[str]
) -> None:
    counts = Counter(item.assignment for item in locked)
    record = {"term_id": term.term_id, "unlocked": sorted(unlock), "withheld": dict(counts)}
    (root / "EDITION.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    (root / "pyproject.toml").write_text(_pyproject())
    header = (
        "# The students' environment: conda env create -f environment.yml\n"
        "# (installs the student edition of dlcourse from this folder)\n"
    )
    (root / "environment.yml").write_text(header + _environment())
    (root / "README.md").write_text(_readme(course, term, unlock))


def _environment() -> str:
    """The library repository's conda environment, its comments left out."""
    path = LIBRARY_REPO / "environment.yml"
    text = path.read_text(encoding="utf-8") if path.is_file() else MINIMAL_ENVIRONMENT
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"


def _pyproject() -> str:
    """A pyproject that installs ``lib/dlcourse`` with the library's own dependencies."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    path = LIBRARY_REPO / "pyproject.toml"
    project = tomllib.loads(path.read_text(encoding="utf-8"))["project"] if path.is_file() else {}
    needs = [
        item
        for item in project.get("dependencies", ["numpy", "matplotlib", "ipywidgets"])
        if not item.startswith(STUDENT_DEPENDENCIES_LEFT_OUT)
    ]
    listed = "".join(f"    {json.dumps(item)},\n" for item in needs)
    return (
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "dlcourse"\nversion = "{project.get("version", "0")}"\n'
        f'requires-python = ">=3.10"\ndependencies = [\n{listed}]\n\n'
        '[tool.setuptools.packages.find]\nwhere = ["lib"]\ninclude = ["dlcourse*"]\n'
    )


def _readme(course: Course, term: Term, unlock: Sequence[str]) -> str:
    rows = []
    for assignment in course.assignments:
        dates = term.dates.get(assignment.name)
        due = f"due {dates.due}" if dates else ""
        names = ", ".join(f"`{notebook.name}`" for notebook in assignment.notebooks)
        rows.append(f"| `{assignment.name}` | {names} | {due} |")
    unlocked = ", ".join(unlock) if unlock else "none yet"
    return f"""# {course.course_id}: the student edition ({term.term_id})

## Set up once

```bash
conda env create -f environment.yml   # or: python -m pip install -e .
conda activate dlcourse
jupyter lab assignments/
```

## Your assignments

| assignment | notebooks, in order | |
|---|---|---|
{chr(10).join(rows)}

Work in each notebook itself and keep it next to its `checks/` folder (the expected
values of the visible checks). Replace `# YOUR CODE HERE` and
`raise NotImplementedError()` in each answer cell with your code, then run the test cell
below it. The grader checks your functions on inputs drawn for you alone, so pass the
visible checks by being right, not by matching them.

## The library

`lib/dlcourse/` is the course library without the references of what you write: such a
function raises `NotImplementedError` naming its assignment, and a widget that needs one
says that your function is missing until you write it. References come back here after an
assignment's due date (unlocked now: {unlocked}).
"""
