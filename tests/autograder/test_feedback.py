"""Feedback pages: what a student sees, and what must never reach them."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reports_fixtures import (
    ASSIGNMENT,
    HIDDEN_CANARY,
    NOTEBOOK,
    SOLUTION_CANARY,
    VISIBLE_TEST_CANARY,
    WRITTEN_SOLUTION_CANARY,
    make_result,
    make_template,
)

from autograder.intake import NotebookTemplate
from autograder.job import JobResult, JobStatus, VerdictStatus
from autograder.reports.feedback import (
    Lateness,
    render_feedback,
    section_titles,
    write_feedback,
)

V = VerdictStatus
SECRETS = (HIDDEN_CANARY, VISIBLE_TEST_CANARY, SOLUTION_CANARY, WRITTEN_SOLUTION_CANARY)


@pytest.fixture(scope="module")
def template() -> NotebookTemplate:
    return make_template()


def _everything_result() -> JobResult:
    """A result exercising every part of the page: all badges, notes, a timeout."""
    result = make_result(
        "s1",
        {
            "relu_forward_test": V.PASSED,
            "softmax_loss_test": V.PARTIAL,
            "gpu_speed_test": V.MISSING,
        },
        status=JobStatus.TIMEOUT,
        points={"softmax_loss_test": 1.5},
        intake={
            "status": "recovered_partial",
            "message": "the JSON was broken",
            "notes": [
                {
                    "kind": "salvaged",
                    "message": "answer recovered from text",
                    "grade_id": "relu_forward",
                },
                {"kind": "duplicate_id", "message": "appears 2 times", "grade_id": "softmax_loss"},
                {"kind": "reordered", "message": "cells were moved", "grade_id": None},
            ],
        },
        execution={
            "timed_out": True,
            "wall_seconds": 301.7,
            "cells": [
                {"index": 3, "grade_id": "relu_forward_test", "status": "ok", "error": ""},
                {
                    "index": 5,
                    "grade_id": "softmax_loss",
                    "status": "timeout",
                    "error": f"Traceback: {HIDDEN_CANARY}",
                },
            ],
        },
    )
    result.verdicts[0].message = "all 5 cases match"
    return result


def _text(html: str) -> str:
    """The page's visible text (tags dropped, entities decoded), whitespace collapsed."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def test_no_test_or_solution_source_ever_appears(template: NotebookTemplate) -> None:
    results = [
        _everything_result(),
        make_result("s2", {}, status=JobStatus.ERROR, error=f"grader crashed {HIDDEN_CANARY}"),
        make_result("s3", {"gpu_speed_test": V.AWAITING_GPU}, status=JobStatus.AWAITING_GPU),
    ]
    for result in results:
        html = render_feedback(result, template)
        for secret in SECRETS:
            assert secret not in html
        assert "check_hidden" not in html and "BEGIN HIDDEN" not in html


def test_titles_come_from_headings_and_never_from_answer_text(template: NotebookTemplate) -> None:
    titles = section_titles(template)
    ids = {cell.grade_id: cell.index for cell in template.cells if cell.grade_id}
    assert titles[ids["relu_forward_test"]] == "ReLU forward"
    assert titles[ids["softmax_loss_test"]] == "Softmax <loss> & friends"
    # The written answer's own "# A heading inside the solution" is not read.
    assert titles[ids["gpu_speed_test"]] == "Written: why ReLU?"
    assert titles[ids["plot_losses"]] == "Plot the losses"


def test_every_test_is_listed_with_title_points_and_badge(template: NotebookTemplate) -> None:
    text = _text(render_feedback(_everything_result(), template))
    assert "ReLU forward relu_forward_test 2 / 2 passed 5/5 cases all 5 cases match" in text
    assert "softmax_loss_test 1.5 / 3 partly passed 3/5 cases" in text
    assert "gpu_speed_test 0 / 1 no output" in text
    assert "Score: 3.5 / 12" in text


def test_missing_test_without_message_explains_why(template: NotebookTemplate) -> None:
    text = _text(render_feedback(_everything_result(), template))
    assert "No output was recorded for this test" in text


def test_strings_from_the_result_are_escaped(template: NotebookTemplate) -> None:
    result = make_result("s1", {"relu_forward_test": V.FAILED})
    result.verdicts[0].message = "<script>alert(1)</script> expected shape (2, 3)"
    html = render_feedback(result, template)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Softmax &lt;loss&gt; &amp; friends" in html


def test_manual_cells_are_graded_by_the_instructor(template: NotebookTemplate) -> None:
    text = _text(render_feedback(_everything_result(), template))
    section = text.split("Graded by your instructor", 1)[1]
    assert "Written: why ReLU? why_relu – / 4" in section
    assert "Plot the losses plot_losses – / 2" in section


def test_intake_notes_are_in_plain_words(template: NotebookTemplate) -> None:
    text = _text(render_feedback(_everything_result(), template))
    assert (
        "Your notebook could not be read completely; your answer to “ReLU forward” was "
        "recovered." in text
    )
    assert "A duplicated cell was ignored (“Softmax <loss> & friends”)." in text
    assert "Cells were moved around; the original order was used." in text


def test_unreadable_notebook_is_explained(template: NotebookTemplate) -> None:
    result = make_result(
        "s1", {}, intake={"status": "unreadable", "message": "not JSON", "notes": []}
    )
    text = _text(render_feedback(result, template))
    assert "could not be read at all, so every answer was graded as blank" in text


def test_timeout_names_the_running_section_and_not_the_runner_error(
    template: NotebookTemplate,
) -> None:
    html = render_feedback(_everything_result(), template)
    text = _text(html)
    assert "ran past its time limit and was stopped after about 302 seconds" in text
    assert "while running a cell in “Softmax <loss> & friends”" in text
    assert "Traceback" not in html


def test_awaiting_gpu_is_not_shown_as_a_zero(template: NotebookTemplate) -> None:
    result = make_result("s1", {"gpu_speed_test": V.AWAITING_GPU}, status=JobStatus.AWAITING_GPU)
    text = _text(render_feedback(result, template))
    assert "Score: – / 12" in text
    assert "this is not a zero" in text
    assert "gpu_speed_test – / 1 awaiting GPU" in text


def test_grader_error_hides_internal_details(template: NotebookTemplate) -> None:
    result = make_result("s1", {}, status=JobStatus.ERROR, error="KeyError in specs.py line 12")
    text = _text(render_feedback(result, template))
    assert "We could not grade your latest submission of this notebook automatically" in text
    assert "specs.py" not in text
    assert "no earlier score of it stands" in text
    assert "relu_forward_test – / 2 not graded" in text


def test_the_term_report_lists_each_error_with_its_reason() -> None:
    from datetime import datetime, timezone

    from autograder.instructor.term_report import AssignmentSummary, render

    summary = AssignmentSummary("a1", 10.0, attention=[("s1", "nb", "RuntimeError: <boom>")])
    page = render("course", "term", [summary], datetime.now(timezone.utc))
    assert "Needs the course team's attention (no score stands)" in page
    assert "s1 · nb: RuntimeError: &lt;boom&gt;" in page
    plain = render("course", "term", [AssignmentSummary("a1", 10.0)], datetime.now(timezone.utc))
    assert "attention" not in plain


def test_json_round_trip_renders_the_same_page(template: NotebookTemplate) -> None:
    result = _everything_result()
    again = JobResult.from_dict(result.to_dict())
    assert render_feedback(again, template) == render_feedback(result, template)


def test_write_feedback_writes_one_page_per_student_and_notebook(
    tmp_path: Path, template: NotebookTemplate
) -> None:
    results = [make_result(s, {"relu_forward_test": V.PASSED}) for s in ("ann", "bob")]
    paths = write_feedback(results, {(ASSIGNMENT, NOTEBOOK): template}, tmp_path)
    assert paths == [tmp_path / s / ASSIGNMENT / f"{NOTEBOOK}.html" for s in ("ann", "bob")]
    assert paths[1].read_text(encoding="utf-8") == render_feedback(results[1], template)
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_feedback_without_a_template_writes_nothing(
    tmp_path: Path, template: NotebookTemplate
) -> None:
    results = [
        make_result("ann", {}),
        make_result("bob", {}, notebook="a1_other"),
    ]
    with pytest.raises(ValueError, match="no template for assignment 'a1', notebook 'a1_other'"):
        write_feedback(results, {(ASSIGNMENT, NOTEBOOK): template}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_one_odd_student_id_does_not_stop_the_class_feedback(
    tmp_path: Path, template: NotebookTemplate
) -> None:
    out = tmp_path / "feedback"
    results = [make_result("ann", {}), make_result("../evil", {}), make_result("jörg", {})]
    skipped: list[str] = []
    paths = write_feedback(results, {(ASSIGNMENT, NOTEBOOK): template}, out, skipped)
    assert paths == [
        out / "ann" / ASSIGNMENT / f"{NOTEBOOK}.html",
        out / "jörg" / ASSIGNMENT / f"{NOTEBOOK}.html",
    ]
    assert all(path.is_file() for path in paths)
    (problem,) = skipped
    assert "student id '../evil' cannot be used in a file name" in problem
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback"]  # nothing escaped


def test_error_causes_show_types_and_identifiers_only(template: NotebookTemplate) -> None:
    result = make_result(
        "s1",
        {"relu_forward_test": V.MISSING},
        execution={
            "cells": [
                {"index": 2, "grade_id": "relu_forward", "status": "error",
                 "error": f"ValueError: {HIDDEN_CANARY} [1.5, 2.5]"},
                {"index": 3, "grade_id": "relu_forward_test", "status": "error",
                 "error": f"NameError: name 'relu_forward' is not defined {HIDDEN_CANARY}"},
                {"index": 6, "grade_id": "softmax_loss_test", "status": "error",
                 "error": "NameError: name 'softmax_loss' is not defined"},
                # Names the student's code chose could carry hidden inputs: never shown.
                {"index": 6, "grade_id": "softmax_loss_test", "status": "error",
                 "error": "NameError: name 'v31415' is not defined"},
                {"index": 2, "grade_id": "relu_forward", "status": "error",
                 "error": "ReferenceNotAvailableError: dlcourse.v27182.relu_forward: no"},
                {"index": 2, "grade_id": "relu_forward", "status": "error",
                 "error": "ReferenceNotAvailableError: dlcourse.functional.v16180: no"},
            ]
        },
    )  # fmt: skip
    html = render_feedback(result, template)
    text = _text(html)
    assert HIDDEN_CANARY not in html and "1.5" not in html
    assert not any(secret in html for secret in ("31415", "27182", "16180"))
    assert "your code imports dlcourse.functional, a course reference" in text
    assert "ValueError in “ReLU forward” (relu_forward): your code raised ValueError." in text
    assert (
        "NameError in “ReLU forward” (relu_forward_test) (and 2 more cell(s) after it): your "
        "code uses relu_forward, softmax_loss without a definition" in text
    )


def test_a_missing_notebook_is_said_first_and_its_rows_say_not_submitted(
    template: NotebookTemplate,
) -> None:
    intake = {"status": "ok", "message": "", "notes": [{"kind": "missing_file", "message": "x"}]}
    result = make_result("s1", {"relu_forward_test": V.FAILED}, intake=intake)
    text = _text(render_feedback(result, template))
    assert text.index("This notebook was not in your submission") < text.index("Score:")
    assert "relu_forward_test 0 / 2 not submitted" in text
    assert text.count("This notebook was not in your submission") == 1


def test_the_late_penalty_is_shown_with_the_score_before_and_after(
    template: NotebookTemplate,
) -> None:
    result = make_result("s1", {"relu_forward_test": V.PASSED, "softmax_loss_test": V.PASSED})
    due, came = datetime(2027, 3, 1, 23, 59, 59), datetime(2027, 3, 3, 8, 0)
    text = _text(render_feedback(result, template, Lateness(due, came, 1.0)))
    assert "Score: 4 / 12" in text
    assert (
        "Due 2027-03-01 23:59 UTC; submitted 2027-03-03 08:00 UTC, late: late penalty 1 "
        "points, score 5 before the penalty and 4 after." in text
    )
    assert "6 of the 12 points are graded by hand and are not in this score yet." in text
    on_time = _text(render_feedback(result, template, Lateness(due, due, 0.0)))
    assert "submitted 2027-03-01 23:59 UTC, on time." in on_time and "Score: 5 / 12" in on_time


def test_a_job_stopped_for_memory_says_so(template: NotebookTemplate) -> None:
    result = make_result("s1", {})
    result.execution = {"ended_by": "memory_limit"}
    text = _text(render_feedback(result, template))
    assert "used more memory than a grading job may" in text
