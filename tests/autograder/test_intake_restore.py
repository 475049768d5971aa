"""Tests for restoring a submission against the template, and for matching its files."""

from __future__ import annotations

import json
import os

import nbformat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.intake import (
    IntakeConfig,
    IntakeStatus,
    NoteKind,
    intake_bytes,
    intake_notebook,
    match_submission_files,
)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _restore(notebooks, template, submission):
    return intake_notebook(notebooks.write(submission), template)


def _assert_non_answer_cells_are_the_templates(restored, template):
    assert len(restored.cells) == len(template.cells)
    for cell, expected in zip(restored.cells, template.cells, strict=True):
        if not expected.role.is_answer:
            assert cell == expected.node()


def test_honest_submission_restores_the_students_answers(template, notebooks):
    restored, report = _restore(notebooks, template, notebooks.submission())
    answers = {
        _grade_id(c): c.source for c in restored.cells if _grade_id(c) in template.answer_ids
    }
    assert answers == notebooks.answers
    assert report.status is IntakeStatus.OK
    assert report.answered_ids == ("square", "cube", "explain") and report.blank_ids == ()
    assert report.max_score == notebooks.max_score
    _assert_non_answer_cells_are_the_templates(restored, template)


def test_restored_notebook_is_valid_with_outputs_cleared(template, notebooks):
    restored, _ = _restore(notebooks, template, notebooks.submission())
    nbformat.validate(restored)
    code = [cell for cell in restored.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert restored.metadata == template.metadata


def test_restored_answer_cells_keep_the_templates_metadata(template, notebooks):
    submission = notebooks.submission()
    notebooks.cell(submission, "explain").metadata["tags"] = ["sneaky"]
    restored, _ = _restore(notebooks, template, submission)
    index = template.cell_for("explain").index
    assert restored.cells[index].metadata == template.cell_for("explain").node().metadata


def test_test_cell_edited_to_pass_is_restored(template, notebooks):
    submission = notebooks.submission()
    notebooks.cell(submission, "test_square").source = "pass"
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[3].source == template.cell_for("test_square").source
    assert "assert square(-2) == 4" in restored.cells[3].source  # hidden tests run too
    assert report.kinds("test_square") == {NoteKind.SOURCE_EDITED}


def test_deleted_test_cell_is_put_back_in_place(template, notebooks):
    submission = notebooks.submission()
    del submission.cells[notebooks.index(submission, "test_cube")]
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[5] == template.cell_for("test_cube").node()
    assert report.kinds("test_cube") == {NoteKind.MISSING_CELL}


def test_points_raised_to_1000_keep_the_templates_points(template, notebooks):
    submission = notebooks.submission()
    notebooks.cell(submission, "test_cube").metadata["nbgrader"]["points"] = 1000
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[5].metadata["nbgrader"]["points"] == 3
    assert report.max_score == notebooks.max_score
    assert report.kinds("test_cube") == {NoteKind.METADATA_EDITED}


def test_duplicated_test_cell_runs_once(template, notebooks):
    submission = notebooks.submission()
    index = notebooks.index(submission, "test_square")
    submission.cells.insert(index, notebooks.submission().cells[index])
    restored, report = _restore(notebooks, template, submission)
    assert [_grade_id(c) for c in restored.cells].count("test_square") == 1
    assert report.kinds("test_square") == {NoteKind.DUPLICATE_ID}


def test_duplicated_answer_with_different_code_keeps_the_first(template, notebooks):
    submission = notebooks.submission()
    index = notebooks.index(submission, "square")
    later = notebooks.submission(dict(notebooks.answers, square="def square(x):\n    return 0"))
    submission.cells.insert(index + 2, later.cells[index])
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[2].source == notebooks.answers["square"]
    assert report.kinds("square") == {NoteKind.DUPLICATE_ID}


def test_answer_retyped_to_markdown_runs_as_code_with_the_students_source(template, notebooks):
    """Decision: the student's text is kept, the template's cell type is restored."""
    submission = notebooks.submission()
    cell = notebooks.cell(submission, "cube")
    submission.cells[notebooks.index(submission, "cube")] = nbformat.v4.new_markdown_cell(
        cell.source, metadata=cell.metadata
    )
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[4].cell_type == "code"
    assert restored.cells[4].source == notebooks.answers["cube"]
    assert restored.cells[4].outputs == []
    assert report.kinds("cube") == {NoteKind.TYPE_CHANGED}


def test_swapped_kernel_runs_on_the_templates_kernel(template, notebooks):
    submission = notebooks.submission()
    submission.metadata["kernelspec"] = {
        "name": "evil",
        "display_name": "Evil",
        "language": "python",
    }
    submission.metadata["language_info"] = {"name": "evil"}
    restored, report = _restore(notebooks, template, submission)
    assert restored.metadata["kernelspec"] == notebooks.kernelspec
    assert restored.metadata["language_info"] == template.metadata["language_info"]
    assert report.kinds(None) == {NoteKind.KERNEL_CHANGED}


def test_test_cell_claiming_to_be_an_answer_is_treated_as_a_test(template, notebooks):
    submission = notebooks.submission()
    cell = notebooks.cell(submission, "test_cube")
    cell.metadata["nbgrader"].update(solution=True, grade=False, locked=False)
    cell.source = "cube = lambda x: 8"
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[5] == template.cell_for("test_cube").node()
    assert "test_cube" not in report.answered_ids
    assert report.kinds("test_cube") == {NoteKind.METADATA_EDITED, NoteKind.SOURCE_EDITED}


def test_missing_answer_gets_the_release_blank_never_the_solution(template, notebooks):
    submission = notebooks.submission()
    del submission.cells[notebooks.index(submission, "cube")]
    restored, report = _restore(notebooks, template, submission)
    assert restored.cells[4].source == notebooks.blanks["cube"]
    assert "x ** 3" not in json.dumps(restored)  # the source notebook's solution
    assert report.blank_ids == ("cube",)


def test_nbformat_invalid_submission_is_still_restored(template, notebooks):
    submission = notebooks.submission()
    del submission.cells[0]["metadata"]
    restored, report = _restore(notebooks, template, submission)
    assert report.status is IntakeStatus.OK
    assert NoteKind.SCHEMA_INVALID in report.kinds(None)
    assert restored.cells[2].source == notebooks.answers["square"]
    nbformat.validate(restored)


def test_too_large_and_unreadable_files_still_give_a_runnable_blank_notebook(template, notebooks):
    for data in (b"\x00" * 2048, b"\x00\xff garbage"):
        restored, report = intake_bytes(data, template, IntakeConfig(max_bytes=1024))
        assert report.status in (IntakeStatus.TOO_LARGE, IntakeStatus.UNREADABLE)
        assert report.blank_ids == ("square", "cube", "explain")
        assert [c.source for c in restored.cells if _grade_id(c) == "cube"] == [
            notebooks.blanks["cube"]
        ]
        _assert_non_answer_cells_are_the_templates(restored, template)


# --- the property: nothing the student does to the cell list reaches the non-answer cells --

_SOURCE_SHAPES = st.lists(st.integers(min_value=0, max_value=7), max_size=16)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(picks=_SOURCE_SHAPES, edit_tests=st.booleans())
def test_any_deletion_duplication_or_shuffle_leaves_non_answer_cells_intact(
    template, notebooks, picks, edit_tests
):
    """Cells drawn with repetition, in any order, from the submission: deletions,
    duplications and shuffles at once. Each copy of an answer is made distinct so the
    first-copy rule is visible."""
    base = notebooks.submission()
    cells = []
    for copy_number, index in enumerate(picks):
        cell = nbformat.from_dict(json.loads(json.dumps(base.cells[index])))
        if _grade_id(cell) in template.answer_ids:
            cell.source += f"\n# copy {copy_number}"
        elif edit_tests and _grade_id(cell) is not None:
            cell.source = "pass"
            cell.metadata["nbgrader"]["points"] = 1000
        cells.append(cell)
    base.cells = cells
    restored, report = intake_bytes(json.dumps(base).encode(), template)

    _assert_non_answer_cells_are_the_templates(restored, template)
    for cell in template.answer_cells:
        first = next((c.source for c in cells if _grade_id(c) == cell.grade_id), None)
        assert restored.cells[cell.index].source == (first or cell.release_source)
    assert report.status is IntakeStatus.OK


# --- matching files in a submission directory --------------------------------------------


def test_exact_names_are_matched(tmp_path):
    (tmp_path / "hw1.ipynb").write_text("{}")
    (tmp_path / "hw2.ipynb").write_text("{}")
    files = match_submission_files(tmp_path, ["hw1.ipynb", "hw2.ipynb"])
    assert files.matched == {
        "hw1.ipynb": tmp_path / "hw1.ipynb",
        "hw2.ipynb": tmp_path / "hw2.ipynb",
    }
    assert files.renamed == () and files.missing == () and files.ignored == ()


def test_a_folder_of_more_files_than_the_cap_is_not_looked_into(tmp_path):
    from autograder.intake.validate import IntakeConfig

    (tmp_path / "hw1.ipynb").write_text("{}")
    for index in range(10):
        (tmp_path / f"junk{index}").write_text("")
    files = match_submission_files(tmp_path, ["hw1.ipynb"], IntakeConfig(max_files=5))
    assert files.matched == {} and files.missing == ("hw1.ipynb",)
    assert [note.message for note in files.notes] == [
        "the submission folder holds more than 5 files; it was not read"
    ]
    assert match_submission_files(tmp_path, ["hw1.ipynb"], IntakeConfig(max_files=11)).matched


def test_single_renamed_notebook_is_matched_and_noted(tmp_path):
    (tmp_path / "my homework.ipynb").write_text("{}")
    files = match_submission_files(tmp_path, ["hw1.ipynb"])
    assert files.matched == {"hw1.ipynb": tmp_path / "my homework.ipynb"}
    assert files.renamed == ("hw1.ipynb",)
    assert [note.kind for note in files.notes] == [NoteKind.RENAMED_FILE]


def test_jupyter_copies_are_paired_by_name(tmp_path):
    for name in ("HW1-Copy1.ipynb", "hw2 (1).ipynb", "notes.txt"):
        (tmp_path / name).write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    files = match_submission_files(tmp_path, ["hw1.ipynb", "hw2.ipynb"])
    assert files.matched == {
        "hw1.ipynb": tmp_path / "HW1-Copy1.ipynb",
        "hw2.ipynb": tmp_path / "hw2 (1).ipynb",
    }
    assert set(files.ignored) == {tmp_path / "notes.txt", tmp_path / ".ipynb_checkpoints"}


def test_extra_notebooks_are_ignored_when_the_expected_one_exists(tmp_path):
    for name in ("hw1.ipynb", "scratch.ipynb", "hw1-old.ipynb"):
        (tmp_path / name).write_text("{}")
    files = match_submission_files(tmp_path, ["hw1.ipynb"])
    assert files.matched == {"hw1.ipynb": tmp_path / "hw1.ipynb"}
    assert set(files.ignored) == {tmp_path / "scratch.ipynb", tmp_path / "hw1-old.ipynb"}
    assert {note.kind for note in files.notes} == {NoteKind.IGNORED_FILE}


def test_ambiguous_renames_are_not_guessed(tmp_path):
    for name in ("a.ipynb", "b.ipynb"):
        (tmp_path / name).write_text("{}")
    files = match_submission_files(tmp_path, ["hw1.ipynb"])
    assert files.matched == {} and files.missing == ("hw1.ipynb",)
    assert len(files.ignored) == 2


def test_symlinked_notebook_is_not_a_candidate(tmp_path):
    target = tmp_path / "outside.json"
    target.write_text("{}")
    submission = tmp_path / "submission"
    submission.mkdir()
    os.symlink(target, submission / "hw1.ipynb")
    files = match_submission_files(submission, ["hw1.ipynb"])
    assert files.matched == {} and files.missing == ("hw1.ipynb",)
    assert files.ignored == (submission / "hw1.ipynb",)


def test_missing_directory_reports_everything_missing(tmp_path):
    files = match_submission_files(tmp_path / "nowhere", ["hw1.ipynb"])
    assert files.missing == ("hw1.ipynb",) and files.matched == {}
    assert files.notes[0].kind is NoteKind.MISSING_FILE
