"""Tests for the intake template model and the validation of submitted notebooks."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest

from autograder.intake import (
    CellRole,
    IntakeConfig,
    IntakeStatus,
    NoteKind,
    TemplateError,
    TemplateKind,
    load_template,
    read_submission,
    read_submission_bytes,
    template_from_notebook,
)

# --- the template ------------------------------------------------------------------------


def test_template_classifies_cells_like_nbgrader(template):
    """Does each cell get the role nbgrader's is_solution/is_grade/is_locked/is_task imply?"""
    assert [cell.role for cell in template.cells] == [
        CellRole.PLAIN,
        CellRole.READ_ONLY,
        CellRole.AUTOGRADED_ANSWER,
        CellRole.TESTS,
        CellRole.AUTOGRADED_ANSWER,
        CellRole.TESTS,
        CellRole.MANUAL_ANSWER,
        CellRole.TASK,
    ]
    assert template.answer_ids == {"square", "cube", "explain"}
    assert [cell.grade_id for cell in template.grade_cells] == [
        "test_square",
        "test_cube",
        "explain",
    ]


def test_template_max_score_sums_grade_and_task_points(template, notebooks):
    assert template.max_score == notebooks.max_score
    assert template.points_by_id == {"test_square": 2, "test_cube": 3, "explain": 4, "task_plot": 5}


def test_template_keeps_kernelspec_and_language_info(template, notebooks):
    assert template.kernelspec == notebooks.kernelspec
    assert template.metadata["language_info"]["name"] == "python"


def test_source_template_blanks_are_the_release_stubs_not_the_solutions(template, notebooks):
    """Would a missing answer ever show the instructor's solution? It must not."""
    assert template.kind is TemplateKind.SOURCE
    for grade_id, blank in notebooks.blanks.items():
        cell = template.cell_for(grade_id)
        assert cell.release_source == blank
        assert "BEGIN SOLUTION" not in cell.release_source


def test_source_template_tests_keep_hidden_tests_for_grading(template):
    tests = template.cell_for("test_square")
    assert "assert square(-2) == 4" in tests.source
    assert tests.release_source == "assert square(3) == 9"


def test_release_template_is_detected_and_agrees_with_source(template, notebooks):
    release = template_from_notebook(notebooks.release())
    assert release.kind is TemplateKind.RELEASE
    assert [c.release_source for c in release.cells] == [c.release_source for c in template.cells]
    assert release.max_score == template.max_score


def test_load_template_reads_a_file(notebooks):
    loaded = load_template(notebooks.write(notebooks.source(), "source.ipynb"))
    assert loaded.answer_ids == {"square", "cube", "explain"}


def test_load_template_reports_an_unreadable_instructor_file(notebooks):
    with pytest.raises(TemplateError, match="cannot read instructor notebook"):
        load_template(notebooks.write("{ not json", "source.ipynb"))


def test_template_is_immutable(template):
    """Can a caller mutate the model through a cell it was handed? It must not."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        template.cells[0].source = "changed"  # type: ignore[misc]
    node = template.cells[3].node()
    node.source = "pass"
    node.metadata["nbgrader"]["points"] = 1000
    assert template.cells[3].node().source.startswith("assert square(3) == 9")
    assert template.cells[3].points == 2
    assert template.cells[3].nbgrader["points"] == 2


def test_duplicate_grade_id_in_the_instructor_notebook_names_both_cells(notebooks):
    source = notebooks.source()
    notebooks.cell(source, "test_cube").metadata["nbgrader"]["grade_id"] = "test_square"
    with pytest.raises(TemplateError, match=r"cell 5 repeats grade_id 'test_square'.*cell 3"):
        template_from_notebook(source)


def test_missing_grade_id_in_the_instructor_notebook_names_the_cell(notebooks):
    source = notebooks.source()
    del source.cells[4].metadata["nbgrader"]["grade_id"]
    with pytest.raises(
        TemplateError, match=r"cell 4 \(code\) is an nbgrader cell without a grade_id"
    ):
        template_from_notebook(source)


def test_grade_cell_without_points_is_refused(notebooks):
    source = notebooks.source()
    del notebooks.cell(source, "test_cube").metadata["nbgrader"]["points"]
    with pytest.raises(TemplateError, match="'test_cube'.*points"):
        template_from_notebook(source)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("### BEGIN SOLUTION\n    return 1", "never closed"),
        ("### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION", "nested"),
        ("return 1\n    ### END SOLUTION", "without"),
    ],
)
def test_unbalanced_solution_markers_are_refused(notebooks, body, problem):
    source = notebooks.source()
    notebooks.cell(source, "cube").source = f"def cube(x):\n    {body}"
    with pytest.raises(TemplateError, match=rf"cell 4 \(code, grade_id 'cube'\).*{problem}"):
        template_from_notebook(source)


def test_instructor_notebook_without_kernelspec_is_refused(notebooks):
    source = notebooks.source()
    del source.metadata["kernelspec"]
    with pytest.raises(TemplateError, match="kernelspec"):
        template_from_notebook(source)


# --- reading a submission ----------------------------------------------------------------


def test_honest_submission_reads_ok_without_notes(template, notebooks):
    outcome = read_submission(notebooks.write(notebooks.submission()), template)
    assert outcome.status is IntakeStatus.OK
    assert outcome.notes == ()
    assert outcome.answers == notebooks.answers


def test_oversized_file_is_too_large_without_being_parsed(template, notebooks):
    """A 30 MB file of zero bytes would be unreadable if parsed: it must be too_large."""
    path = notebooks.directory / "huge.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(30 * 1024 * 1024)  # sparse: huge on paper, cheap on disk
    outcome = read_submission(path, template)
    assert outcome.status is IntakeStatus.TOO_LARGE
    assert "over the 20971520-byte limit" in outcome.message
    assert outcome.answers == {}


def test_size_cap_is_configurable(template, notebooks):
    path = notebooks.write(notebooks.submission())
    outcome = read_submission(path, template, IntakeConfig(max_bytes=1000))
    assert outcome.status is IntakeStatus.TOO_LARGE
    assert read_submission(path, template, IntakeConfig(max_bytes=10**6)).status is IntakeStatus.OK


def test_in_memory_content_obeys_the_size_cap(template, notebooks):
    data = notebooks.text(notebooks.submission()).encode()
    outcome = read_submission_bytes(data, template, IntakeConfig(max_bytes=len(data) - 1))
    assert outcome.status is IntakeStatus.TOO_LARGE


def test_random_bytes_are_unreadable_with_a_clear_message(template, notebooks):
    garbage = random.Random(0).randbytes(4096)
    outcome = read_submission(notebooks.write(garbage), template)
    assert outcome.status is IntakeStatus.UNREADABLE
    assert "not a readable notebook" in outcome.message
    assert outcome.answers == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"  \n", "empty"), (b"[1, 2, 3]", "not a readable notebook")],
)
def test_empty_or_non_notebook_json_is_unreadable(template, notebooks, content, message):
    outcome = read_submission(notebooks.write(content), template)
    assert outcome.status is IntakeStatus.UNREADABLE
    assert message in outcome.message


def test_absurdly_nested_json_is_unreadable_not_a_crash(template):
    outcome = read_submission_bytes(b"[" * 200_000, template)
    assert outcome.status is IntakeStatus.UNREADABLE


def test_missing_file_is_unreadable(template, notebooks):
    outcome = read_submission(notebooks.directory / "absent.ipynb", template)
    assert outcome.status is IntakeStatus.UNREADABLE


def test_symlinked_submission_is_not_followed(template, notebooks):
    """Could a student make the grader read one of its own files through a link? No."""
    target = notebooks.write(notebooks.submission(), "elsewhere.ipynb")
    link = notebooks.directory / "hw1.ipynb"
    os.symlink(target, link)
    outcome = read_submission(link, template)
    assert outcome.status is IntakeStatus.UNREADABLE
    assert [note.kind for note in outcome.notes] == [NoteKind.NOT_REGULAR_FILE]


def _hard_link(notebooks, path):
    os.link(path, notebooks.directory / "twin.ipynb")
    return path


def _sparse(notebooks, path):
    data = path.read_bytes()
    with open(path, "r+b") as handle:
        handle.truncate(len(data) + 2 * 2**20)  # a hole after the notebook's bytes
    return path


def _fifo(notebooks, path):
    path.unlink()
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_hard_link, "is a hard link to another file"),
        (_sparse, "is a sparse file (it has holes)"),
        (_fifo, "is not a regular file (a FIFO, device or socket)"),
    ],
    ids=["hard-link", "sparse", "fifo"],
)
def test_hard_links_sparse_files_and_fifos_are_refused_unread(template, notebooks, make, reason):
    path = make(notebooks, notebooks.write(notebooks.submission()))
    outcome = read_submission(path, template)
    assert outcome.status is IntakeStatus.UNREADABLE
    assert outcome.message == f"the submission {reason}; it was not read"
    assert [note.kind for note in outcome.notes] == [NoteKind.NOT_REGULAR_FILE]


def test_byte_order_mark_is_tolerated(template, notebooks):
    data = b"\xef\xbb\xbf" + notebooks.text(notebooks.submission()).encode()
    outcome = read_submission_bytes(data, template)
    assert outcome.status is IntakeStatus.OK
    assert outcome.answers == notebooks.answers


def test_invalid_utf8_is_noted_and_the_rest_still_read(template, notebooks):
    text = notebooks.text(notebooks.submission(dict(notebooks.answers, explain="caf@")))
    data = text.encode().replace(b"caf@", b"caf\xe9")
    outcome = read_submission_bytes(data, template)
    assert outcome.status is IntakeStatus.OK
    assert NoteKind.NOT_UTF8 in {note.kind for note in outcome.notes}
    assert outcome.answers["explain"] == "caf\ufffd"
    assert outcome.answers["square"] == notebooks.answers["square"]


def test_nbformat_invalid_but_parseable_notebook_is_still_read(template, notebooks):
    submission = notebooks.submission()
    del submission.cells[0]["metadata"]
    outcome = read_submission(notebooks.write(submission), template)
    assert outcome.status is IntakeStatus.OK
    assert [note.kind for note in outcome.notes] == [NoteKind.SCHEMA_INVALID]
    assert outcome.answers == notebooks.answers


def _kinds(outcome, grade_id):
    return {note.kind for note in outcome.notes if note.grade_id == grade_id}


def test_duplicated_answer_keeps_the_first_copy_and_says_so(template, notebooks):
    """Is a duplicated grade_id in the submission ignored in favour of the first copy?"""
    submission = notebooks.submission()
    index = notebooks.index(submission, "cube")
    second = notebooks.submission(dict(notebooks.answers, cube="def cube(x):\n    return 0"))
    submission.cells.insert(index + 1, second.cells[index])
    outcome = read_submission(notebooks.write(submission), template)
    assert outcome.answers["cube"] == notebooks.answers["cube"]
    (note,) = [n for n in outcome.notes if n.kind is NoteKind.DUPLICATE_ID]
    assert note.grade_id == "cube"
    assert "different sources" in note.message and f"cell {index}" in note.message


def test_first_copy_with_unusable_source_gives_way_to_a_usable_one(template, notebooks):
    submission = notebooks.submission()
    index = notebooks.index(submission, "cube")
    broken = notebooks.submission().cells[index]
    broken["source"] = 42
    submission.cells.insert(index, broken)
    outcome = read_submission(notebooks.write(submission), template)
    assert outcome.answers["cube"] == notebooks.answers["cube"]


def test_answer_with_only_unusable_source_is_noted_and_left_out(template, notebooks):
    submission = notebooks.submission()
    notebooks.cell(submission, "cube")["source"] = {"not": "text"}
    outcome = read_submission(notebooks.write(submission), template)
    assert "cube" not in outcome.answers
    assert NoteKind.UNUSABLE_SOURCE in _kinds(outcome, "cube")


def test_missing_cells_are_noted_by_kind(template, notebooks):
    submission = notebooks.submission()
    submission.cells = [
        cell
        for cell in submission.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") not in ("square", "test_cube")
    ]
    outcome = read_submission(notebooks.write(submission), template)
    assert _kinds(outcome, "square") == {NoteKind.MISSING_ANSWER}
    assert _kinds(outcome, "test_cube") == {NoteKind.MISSING_CELL}
    assert "square" not in outcome.answers


def test_unknown_grade_ids_and_added_cells_are_ignored_and_noted(template, notebooks):
    submission = notebooks.submission()
    stray = notebooks.submission().cells[2]
    stray.metadata["nbgrader"]["grade_id"] = "bonus"
    submission.cells += [stray, notebooks.submission().cells[1]]
    submission.cells[-1].metadata = {}
    submission.cells[-1].source = "def helper():\n    return 1"
    outcome = read_submission(notebooks.write(submission), template)
    assert "bonus" not in outcome.answers
    assert _kinds(outcome, "bonus") == {NoteKind.UNKNOWN_ID}
    assert _kinds(outcome, None) == {NoteKind.EXTRA_CELLS}


def test_retyped_answer_is_noted_and_its_source_kept(template, notebooks):
    submission = notebooks.submission()
    cell = notebooks.cell(submission, "square")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    outcome = read_submission(notebooks.write(submission), template)
    assert outcome.answers["square"] == notebooks.answers["square"]
    (note,) = [n for n in outcome.notes if n.kind is NoteKind.TYPE_CHANGED]
    assert note.grade_id == "square" and "from code to markdown" in note.message


@pytest.mark.parametrize(
    ("grade_id", "edit", "expected"),
    [
        ("test_square", {"points": 1000}, "points: 2 -> 1000"),
        ("test_cube", {"solution": True}, "solution: False -> True"),
        ("setup", {"locked": False}, "locked: True -> False"),
        ("square", {"grade": True, "points": 50}, "grade: False -> True"),
    ],
)
def test_edited_nbgrader_metadata_is_noted(template, notebooks, grade_id, edit, expected):
    submission = notebooks.submission()
    notebooks.cell(submission, grade_id).metadata["nbgrader"].update(edit)
    outcome = read_submission(notebooks.write(submission), template)
    (note,) = [n for n in outcome.notes if n.kind is NoteKind.METADATA_EDITED]
    assert note.grade_id == grade_id and expected in note.message


def test_edited_test_cell_source_is_noted(template, notebooks):
    submission = notebooks.submission()
    notebooks.cell(submission, "test_cube").source = "pass"
    outcome = read_submission(notebooks.write(submission), template)
    assert _kinds(outcome, "test_cube") == {NoteKind.SOURCE_EDITED}


def test_moved_cells_are_noted(template, notebooks):
    submission = notebooks.submission()
    submission.cells.append(submission.cells.pop(notebooks.index(submission, "test_square")))
    outcome = read_submission(notebooks.write(submission), template)
    assert _kinds(outcome, None) == {NoteKind.REORDERED}


def test_swapped_kernel_is_noted(template, notebooks):
    submission = notebooks.submission()
    submission.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    outcome = read_submission(notebooks.write(submission), template)
    (note,) = outcome.notes
    assert note.kind is NoteKind.KERNEL_CHANGED and "'ir'" in note.message
