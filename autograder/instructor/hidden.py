"""Proof (f): no graded reference can be imported or read from inside the sandbox.

The graded modules are derived from the specs, never listed by hand: every module of
:mod:`dlcourse.exercises`, the module of every spec's reference functions, and every
``dlcourse`` module an exercise module imports (where the references' code lives). The
proof fails when

- one of them is on the grading runtime's allow-list (:data:`~autograder.studentlib.DEFAULT_ALLOW`);
- inside the real sandbox (the release's box), importing it yields any of its public
  functions, or its source file can be read by path: in the library's source tree, in
  the installed package, or in the tree an editable install maps ``dlcourse`` to; or
  one of those folders can be listed.

The probe is a one-cell notebook run by the grading runner; it writes what it found to
``outputs/`` in its work dir, which every box brings back, and the proof reads it (a
probe that did not finish fails the proof: nothing proved).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

import dlcourse
import dlcourse.exercises
from autograder.box import Box
from autograder.sandbox.limits import Limits
from autograder.specs import SpecRegistry, reference_functions
from autograder.studentlib import DEFAULT_ALLOW, is_allowed, module_dependencies
from autograder.workdir import job_directory, prepare_workdir

PROBE_RESULT = "hidden_probe.json"
PROBE_MAX_BYTES = 2**20
PROBE_LIMITS = Limits(wall_seconds=120.0, cpu_seconds=120)


@dataclass(frozen=True)
class GradedModule:
    name: str
    functions: tuple[str, ...]
    """Public functions of the real module, each of which must be unreachable."""
    relative: str
    """Its file, relative to the ``dlcourse`` package folder."""


def graded_modules(registries: Iterable[SpecRegistry]) -> list[GradedModule]:
    """The modules whose code answers a graded exercise (see the module docstring)."""
    names = {
        info.name
        for info in pkgutil.walk_packages(dlcourse.exercises.__path__, "dlcourse.exercises.")
    }
    for registry in registries:
        for spec in registry:
            names.update(function.__module__ for function in reference_functions(spec))
    for name in sorted(names):
        if name.startswith("dlcourse.exercises."):
            names |= module_dependencies(name) - {"dlcourse"}
    modules = []
    root = Path(dlcourse.__path__[0])
    for name in sorted(names):
        module = importlib.import_module(name)
        functions = tuple(
            sorted(
                attribute
                for attribute, value in vars(module).items()
                if not attribute.startswith("_") and callable(value)
            )
        )
        relative = Path(str(module.__file__)).resolve().relative_to(root.resolve())
        modules.append(GradedModule(name, functions, relative.as_posix()))
    return modules


def library_roots() -> list[Path]:
    """Every folder outside the sandbox's runtime that holds the ``dlcourse`` sources."""
    roots = {Path(dlcourse.__path__[0]).resolve()}
    try:
        distribution = importlib.metadata.distribution("dlcourse")
    except importlib.metadata.PackageNotFoundError:
        return sorted(roots)
    for file in distribution.files or ():
        located = Path(str(distribution.locate_file(file)))
        if file.parts == ("dlcourse", "__init__.py"):  # a regular install
            roots.add(located.parent.resolve())
        elif file.name.startswith("__editable__") and file.suffix == ".py" and located.is_file():
            # setuptools' editable finder maps the package name onto the source tree.
            for path in re.findall(r"'dlcourse': '([^']+)'", located.read_text()):
                roots.add(Path(path).resolve())
    return sorted(roots)


def probe_source(modules: list[GradedModule], files: list[str], folders: list[str]) -> str:
    """The probe cell: reach for every graded function and file; record what worked."""
    targets = {module.name: list(module.functions) for module in modules}
    return f"""\
import importlib, json, os

found = []
for name, functions in {targets!r}.items():
    try:
        module = importlib.import_module(name)
    except ImportError:
        continue
    if not hasattr(module, "ReferenceNotAvailableError"):  # the grading runtime's stub mark
        found.append(f"{{name}} imports as the real module, not the stub")
    for function in functions:
        try:
            getattr(module, function)
        except (ImportError, AttributeError):
            continue
        found.append(f"{{name}}.{{function}} can be imported")
for path in {files!r}:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError:
        continue
    found.append(f"{{path}} can be read")
for path in {folders!r}:
    try:
        os.listdir(path)
    except OSError:
        continue
    found.append(f"the folder {{path}} can be listed")
with open(os.path.join("outputs", {PROBE_RESULT!r}), "w") as handle:
    json.dump({{"done": True, "found": found}}, handle)
"""


def prove_hidden(registries: Iterable[SpecRegistry], box: Box) -> list[str]:
    """Failures of proof (f); an empty list proves every graded reference hidden."""
    modules = graded_modules(registries)
    failures = [
        f"graded module {module.name} is on the grading runtime's allow-list"
        for module in modules
        if is_allowed(module.name, DEFAULT_ALLOW)
    ]
    roots = library_roots()
    files = sorted({str(root / module.relative) for root in roots for module in modules})
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(probe_source(modules, files, [str(root) for root in roots]))
    )
    with job_directory() as dirs:
        prepare_workdir(dirs, notebook, [], lambda spec, folder: None)
        run = box.run(dirs.workdir, PROBE_LIMITS)
        # outputs/ is what every box brings back from the job (a warm box: only it).
        report = _read_probe(dirs.outputs / PROBE_RESULT)
    if report is None:
        tail = run.stderr[-300:].decode("utf-8", "replace").strip()
        return [*failures, f"the sandbox probe did not finish, nothing proved ({tail})"]
    return failures + [f"inside the sandbox {leak}" for leak in report]


def _read_probe(path: Path) -> list[str] | None:
    if not path.is_file() or path.is_symlink() or path.stat().st_size > PROBE_MAX_BYTES:
        return None
    try:
        document = json.loads(path.read_text())
    except ValueError:
        return None
    found = document.get("found") if isinstance(document, dict) else None
    if document.get("done") is not True or not isinstance(found, list):
        return None
    return [str(item) for item in found]
