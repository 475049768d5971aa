"""Tests for salvaging answers from submissions whose JSON does not parse."""

from __future__ import annotations

import json

from autograder.intake import (
    IntakeStatus,
    NoteKind,
    intake_bytes,
    lenient_loads,
    read_submission,
    salvage_cells,
)
from autograder.intake.recover import drop_trailing_commas


def _cut_inside(text: str, value: str) -> bytes:
    """The file truncated in the middle of the JSON string holding ``value``."""
    needle = json.dumps(value)
    return text[: text.index(needle) + len(needle) // 2].encode()


def test_truncated_in_second_answer_keeps_the_first_and_blanks_the_rest(template, notebooks):
    text = notebooks.text(notebooks.submission())
    restored, report = intake_bytes(_cut_inside(text, notebooks.answers["cube"]), template)
    assert report.status is IntakeStatus.RECOVERED_PARTIAL
    assert report.recovered_ids == ("square",)
    assert report.lost_ids == ("cube", "explain")
    assert report.blank_ids == ("cube", "explain")
    sources = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in restored.cells
    }
    assert sources["square"] == notebooks.answers["square"]
    assert sources["cube"] == notebooks.blanks["cube"]
    assert sources["explain"] == notebooks.blanks["explain"]


def test_lost_answers_say_why(template, notebooks):
    text = notebooks.text(notebooks.submission())
    outcome = read_submission(
        notebooks.write(_cut_inside(text, notebooks.answers["cube"])), template
    )
    lost = {note.grade_id: note.message for note in outcome.notes if note.kind is NoteKind.LOST}
    assert "cut off or malformed" in lost["cube"]
    assert "not in the readable part" in lost["explain"]
    assert not any(note.kind is NoteKind.MISSING_ANSWER for note in outcome.notes)


def test_truncated_before_any_answer_is_partial_with_every_answer_lost(template, notebooks):
    text = notebooks.text(notebooks.submission())
    outcome = read_submission(
        notebooks.write(_cut_inside(text, notebooks.answers["square"])), template
    )
    assert outcome.status is IntakeStatus.RECOVERED_PARTIAL
    assert outcome.answers == {}
    assert outcome.lost_ids == ("square", "cube", "explain")


def test_missing_final_brace_recovers_every_answer(template, notebooks):
    text = notebooks.text(notebooks.submission()).rstrip()[:-1]
    outcome = read_submission(notebooks.write(text), template)
    assert outcome.status is IntakeStatus.RECOVERED
    assert outcome.answers == notebooks.answers


def test_trailing_commas_are_repaired(template, notebooks):
    text = notebooks.text(notebooks.submission())
    text = text.replace('"name": "python3"\n', '"name": "python3",\n', 1)
    outcome = read_submission(notebooks.write(text), template)
    assert outcome.status is IntakeStatus.RECOVERED
    assert [note.kind for note in outcome.notes] == [NoteKind.JSON_INVALID, NoteKind.JSON_REPAIRED]
    assert outcome.answers == notebooks.answers


def test_mangled_non_answer_cell_does_not_cost_any_answer(template, notebooks):
    """A stray character in the setup cell breaks the JSON, but every answer is intact."""
    text = notebooks.text(notebooks.submission()).replace('"import math', '"import "math', 1)
    outcome = read_submission(notebooks.write(text), template)
    assert outcome.status is IntakeStatus.RECOVERED
    assert outcome.answers == notebooks.answers


def test_damaged_answer_metadata_still_yields_its_source(template, notebooks):
    """Can the source be read when the cell around it is broken? From the source field."""
    submission = notebooks.submission()
    text = notebooks.text(submission)
    start = text.index('"grade_id": "cube"')
    damaged = text[:start] + text[start:].replace('"locked": false', '"locked" false', 1)
    outcome = read_submission(notebooks.write(damaged), template)
    assert outcome.status is IntakeStatus.RECOVERED
    assert outcome.answers == notebooks.answers
    (note,) = [n for n in outcome.notes if n.grade_id == "cube"]
    assert note.kind is NoteKind.SALVAGED and "source field" in note.message


def test_damaged_cell_opening_still_pairs_the_marker_with_its_own_source(template, notebooks):
    """With the cube cell's ``{`` gone its text runs into the test cell before it, whose
    source also lies near the marker; the cube's own source (after it) must win."""
    text = notebooks.text(notebooks.submission())
    brace = text.rindex("{", 0, text.index('"id": "cell-4"'))
    outcome = read_submission(notebooks.write(text[:brace] + text[brace + 1 :]), template)
    assert outcome.status is IntakeStatus.RECOVERED
    assert outcome.answers == notebooks.answers


def test_grade_id_text_inside_a_string_is_not_a_marker(notebooks):
    """Could a student plant a fake answer inside another cell's source text? No."""
    fake = 'x = {"grade_id": "cube", "source": "def cube(x): return 0"}'
    submission = notebooks.submission(dict(notebooks.answers, square=fake))
    notebooks.cell(submission, "cube").metadata["nbgrader"]["grade_id"] = "renamed"
    text = notebooks.text(submission)
    broken = text.replace('"cell_type": "code"', '"cell_type" "code"')
    found = salvage_cells(broken, {"square", "cube"})
    assert all(cell.grade_id != "cube" for cell in found.cells)
    square = [cell for cell in found.cells if cell.grade_id == "square"]
    assert square and square[0].source == fake


def test_salvaged_cells_come_back_in_file_order(notebooks):
    text = notebooks.text(notebooks.submission()) + "garbage"
    found = salvage_cells(text, {"square", "cube", "explain"})
    ids = [cell.grade_id for cell in found.cells]
    assert ids == [
        None,
        "setup",
        "square",
        "test_square",
        "cube",
        "test_cube",
        "explain",
        "task_plot",
    ]
    assert [cell.position for cell in found.cells] == list(range(8))
    assert all(cell.metadata_known for cell in found.cells)


def test_garbage_yields_no_cells():
    found = salvage_cells('{"cells": [{"nope": ,,, }] \x00\x01', {"square"})
    assert found.cells == () and not found.damaged_ids


def test_drop_trailing_commas_leaves_string_contents_alone():
    text = '{"code": "t = (1,)\\n[2,]", "list": [1, 2,], "obj": {"a": 1,\n}, "q": "\\",]"}'
    repaired = drop_trailing_commas(text)
    assert json.loads(repaired) == {
        "code": "t = (1,)\n[2,]",
        "list": [1, 2],
        "obj": {"a": 1},
        "q": '",]',
    }


def test_lenient_loads_returns_none_when_commas_were_not_the_problem():
    assert lenient_loads('{"a": [1, 2]') is None
    assert lenient_loads('{"a": 1}') is None  # nothing to repair, nothing repaired
    assert lenient_loads('{"a": [1,]}') == {"a": [1]}
