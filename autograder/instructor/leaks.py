"""Proof (c): nothing secret reached the release folder.

Secrets are what the source notebook has and the student's copy must not: every line of
a solution region or a hidden-test region (the lines of a cell's source that are not in
its release form), the specs files, and hidden check cases. Every text file of the
release is scanned (notebooks as the strings they hold), and every shipped check file
must hold exactly the visible cases of its spec.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.files import SPECS_SUFFIX
from autograder.instructor.record import file_hash
from autograder.intake import NotebookTemplate
from autograder.specs import VISIBLE_STUDENT, SpecRegistry, make_case_inputs
from dlcourse.checks import CHECKS_FOLDER
from dlcourse.checks.casefile import CaseFileError, read_case_file

MIN_SECRET_CHARS = 8
"""Shorter lines (``x = cache``, ``pass``) are too common to count as a leak."""
SUBSTRING_CHARS = 20
"""Secrets at least this long are also found inside longer lines."""
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@dataclass(frozen=True)
class Leak:
    file: str
    """Path of the release file, relative to the release folder."""
    reason: str


def secret_lines(template: NotebookTemplate) -> set[str]:
    """Non-trivial lines of the source that the release form of the notebook leaves out."""
    visible = _visible_lines(template)
    secrets: set[str] = set()
    for cell in template.cells:
        for line in cell.source.split("\n"):
            text = line.strip()
            if len(text) >= MIN_SECRET_CHARS and text not in visible and not _marker(text):
                secrets.add(text)
    return secrets


def _visible_lines(template: NotebookTemplate) -> set[str]:
    return {line.strip() for cell in template.cells for line in cell.release_source.split("\n")}


def find_leaks(
    release_dir: Path,
    templates: Sequence[NotebookTemplate],
    specs_files: Sequence[Path],
    registries: Sequence[SpecRegistry],
    term_seed: int,
) -> list[Leak]:
    """Every leak in ``release_dir``; an empty list proves the release clean."""
    # A line that one notebook of the assignment hands out (``return dx, dw, db`` after a
    # solution region) is no secret even where another notebook's solution also has it.
    handed_out = set().union(*(_visible_lines(template) for template in templates))
    secrets = set().union(*(secret_lines(template) for template in templates)) - handed_out
    long_secrets = [secret for secret in secrets if len(secret) >= SUBSTRING_CHARS]
    specs_hashes = {file_hash(path) for path in specs_files}
    leaks: list[Leak] = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        name = path.relative_to(release_dir).as_posix()
        if name.endswith(SPECS_SUFFIX) or file_hash(path) in specs_hashes:
            leaks.append(Leak(name, "is a check specs file (trusted grading code)"))
            continue
        for text in _texts(path):
            leaks.extend(_scan(name, text, secrets, long_secrets))
    leaks.extend(check_files_leaks(release_dir, registries, term_seed))
    return leaks


def check_files_leaks(
    release_dir: Path, registries: Sequence[SpecRegistry], term_seed: int
) -> list[Leak]:
    """Shipped ``checks/*.npz`` must hold only each spec's visible cases."""
    specs = {spec.test_id: spec for registry in registries for spec in registry}
    leaks = []
    for path in sorted(release_dir.rglob(f"{CHECKS_FOLDER}/*.npz")):
        name = path.relative_to(release_dir).as_posix()
        spec = specs.get(path.stem)
        if spec is None:
            leaks.append(Leak(name, "is a check file for no test of this assignment"))
            continue
        try:
            shipped = read_case_file(path)
        except CaseFileError as error:
            leaks.append(Leak(name, f"is not a readable check file ({error})"))
            continue
        if shipped.meta.num_cases != spec.num_visible or len(shipped.cases) != spec.num_visible:
            leaks.append(Leak(name, f"holds {len(shipped.cases)} cases, not the visible ones"))
            continue
        for number, case in enumerate(shipped.cases):
            expected = make_case_inputs(spec, term_seed, VISIBLE_STUDENT, number)
            if set(case.inputs) != set(expected) or not all(
                np.array_equal(case.inputs[key], expected[key]) for key in expected
            ):
                leaks.append(Leak(name, f"case {number} is not the visible case of {spec.test_id}"))
                break
    return leaks


def _scan(name: str, text: str, secrets: set[str], long_secrets: list[str]) -> Iterator[Leak]:
    found = set()
    for line in text.split("\n"):
        stripped = line.strip()
        if _marker(stripped):
            found.add(f"has the nbgrader marker line {stripped!r}")
        elif stripped in secrets:
            found.add(f"has the solution or hidden-test line {stripped!r}")
    for secret in long_secrets:
        if secret in text:  # a set: one already found by its line is not added twice
            found.add(f"has the solution or hidden-test line {secret!r}")
    for reason in sorted(found):
        yield Leak(name, reason)


def _texts(path: Path) -> list[str]:
    """The readable text of a file: a notebook's strings, a text file's lines, else nothing."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []  # binary files (npz) are checked by check_files_leaks
    if path.suffix == ".ipynb":
        try:
            return list(_strings(json.loads(text)))
        except ValueError:
            pass
    return [text]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):
            yield "".join(value)  # nbformat's multi-line strings
        else:
            for item in value:
                yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _marker(text: str) -> bool:
    return text.startswith("#") and any(marker in text for marker in MARKERS)
