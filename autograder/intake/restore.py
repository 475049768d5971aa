"""Build the notebook that is actually executed, and find the files to build it from.

The restored notebook is the template with only the answer sources taken from the
submission: every other cell, the cell order and types, all metadata (points, nbgrader
flags, the kernelspec) and the test code come from the instructor's notebook. Outputs
and execution counts are cleared. Whatever a student did to tests, metadata or kernel
therefore has no effect; :mod:`validate` merely records it.

Answer cells are matched by grade id only. A retyped answer keeps the student's source
in the template's cell type: a code answer moved to markdown still runs as code (and
fails its tests if it is not code), so an accidental retype costs nothing.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.intake.status import IntakeReport, Note, NoteKind, ReadOutcome, SubmissionFiles
from autograder.intake.template import NotebookTemplate
from autograder.intake.validate import IntakeConfig, read_submission, read_submission_bytes


def restore_notebook(template: NotebookTemplate, answers: Mapping[str, str]) -> NotebookNode:
    """The template's notebook with each answer's source from ``answers`` or its blank."""
    cells = []
    for cell in template.cells:
        node = cell.node()
        if cell.role.is_answer and cell.grade_id is not None:
            node.source = answers.get(cell.grade_id, cell.release_source)
        cells.append(node)
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=template.metadata)
    notebook.nbformat_minor = template.nbformat_minor
    return notebook


def intake_notebook(
    path: str | os.PathLike[str], template: NotebookTemplate, config: IntakeConfig | None = None
) -> tuple[NotebookNode, IntakeReport]:
    """Read, validate and restore one submitted notebook file; never raises for its content.

    A file that is too large or unreadable still yields the template with every answer
    blank, so a batch can run it (scoring zero) instead of stopping.
    """
    outcome = read_submission(path, template, config)
    return restore_notebook(template, outcome.answers), build_report(outcome, template)


def intake_bytes(
    data: bytes, template: NotebookTemplate, config: IntakeConfig | None = None
) -> tuple[NotebookNode, IntakeReport]:
    """Like :func:`intake_notebook` for content already in memory."""
    outcome = read_submission_bytes(data, template, config)
    return restore_notebook(template, outcome.answers), build_report(outcome, template)


def build_report(outcome: ReadOutcome, template: NotebookTemplate) -> IntakeReport:
    """The intake report: the read's verdict plus which answers were used or blanked."""
    answer_order = [cell.grade_id for cell in template.answer_cells if cell.grade_id]
    return IntakeReport(
        status=outcome.status,
        message=outcome.message,
        max_score=template.max_score,
        notes=outcome.notes,
        answered_ids=tuple(grade_id for grade_id in answer_order if grade_id in outcome.answers),
        blank_ids=tuple(grade_id for grade_id in answer_order if grade_id not in outcome.answers),
        recovered_ids=outcome.recovered_ids,
        lost_ids=outcome.lost_ids,
    )


# --- matching files in a submission directory to expected notebook names -----------------
MatchRule = Callable[[Sequence[str], Mapping[str, Path]], dict[str, Path]]


def match_exact_name(expected: Sequence[str], candidates: Mapping[str, Path]) -> dict[str, Path]:
    """Files named exactly as expected."""
    return {name: candidates[name] for name in expected if name in candidates}


def match_contained_stem(
    expected: Sequence[str], candidates: Mapping[str, Path]
) -> dict[str, Path]:
    """Pair names like ``hw1.ipynb`` with ``HW1-Copy1.ipynb`` when the pairing is unique."""

    def stem(name: str) -> str:
        return Path(name).stem.casefold()

    pairs = {}
    for name in expected:
        holders = [other for other in candidates if stem(name) in stem(other)]
        if len(holders) != 1:
            continue
        held = [other for other in expected if stem(other) in stem(holders[0])]
        if held == [name]:
            pairs[name] = candidates[holders[0]]
    return pairs


def match_single_leftover(
    expected: Sequence[str], candidates: Mapping[str, Path]
) -> dict[str, Path]:
    """One expected name left and one notebook left: the student renamed it."""
    if len(expected) == 1 and len(candidates) == 1:
        return {expected[0]: next(iter(candidates.values()))}
    return {}


#: Matching rules, most certain first; each sees only what the earlier ones left.
MATCH_RULES: tuple[MatchRule, ...] = (
    match_exact_name,
    match_contained_stem,
    match_single_leftover,
)


def match_submission_files(
    submission_dir: str | os.PathLike[str],
    expected_names: Sequence[str],
    config: IntakeConfig | None = None,
) -> SubmissionFiles:
    """Map each expected notebook name to a file in ``submission_dir``; never raises.

    Only regular ``.ipynb`` files directly in the directory are candidates (symlinks and
    hidden files are not: a link could point at the grader's own files). Whatever is not
    matched is listed as ignored. A folder of more than ``config.max_files`` entries is
    not looked into: every notebook counts as missing.
    """
    directory = Path(submission_dir)
    config = config or IntakeConfig()
    try:
        with os.scandir(directory) as listing:
            entries = list(itertools.islice(listing, config.max_files + 1))
    except OSError as error:
        note = Note(NoteKind.MISSING_FILE, f"cannot list {directory}: {error.strerror}")
        return SubmissionFiles(missing=tuple(expected_names), notes=(note,))
    if len(entries) > config.max_files:
        note = Note(
            NoteKind.MISSING_FILE,
            f"the submission folder holds more than {config.max_files} files; it was not read",
        )
        return SubmissionFiles(missing=tuple(expected_names), notes=(note,))
    entries.sort(key=lambda entry: entry.name)
    candidates = {entry.name: Path(entry.path) for entry in entries if _is_candidate(entry)}
    unmatched = list(dict.fromkeys(expected_names))
    matched: dict[str, Path] = {}
    renamed: list[str] = []
    for rule in MATCH_RULES:
        for name, path in rule(unmatched, candidates).items():
            matched[name] = path
            unmatched.remove(name)
            del candidates[path.name]
            if path.name != name:
                renamed.append(name)
    used = {path.name for path in matched.values()}
    ignored = tuple(Path(entry.path) for entry in entries if entry.name not in used)
    notes = [
        Note(NoteKind.RENAMED_FILE, f"expected {name!r}; graded {matched[name].name!r}")
        for name in renamed
    ]
    notes += [Note(NoteKind.MISSING_FILE, f"no notebook for {name!r}") for name in unmatched]
    notes += [Note(NoteKind.IGNORED_FILE, f"{path.name!r} ignored") for path in ignored]
    return SubmissionFiles(
        matched={name: matched[name] for name in expected_names if name in matched},
        renamed=tuple(renamed),
        missing=tuple(unmatched),
        ignored=ignored,
        notes=tuple(notes),
    )


def _is_candidate(entry: os.DirEntry[str]) -> bool:
    """A visible regular notebook file, not followed through a link."""
    try:
        is_file = entry.is_file(follow_symlinks=False)
    except OSError:
        return False
    return is_file and entry.name.casefold().endswith(".ipynb") and not entry.name.startswith(".")
