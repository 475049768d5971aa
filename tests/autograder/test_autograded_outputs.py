"""What the ``autograded/`` notebooks may carry back to a student.

``nbgrader generate_feedback`` renders those notebooks for students, so a cell's outcome
keeps only what a student may read: a builtin exception's type and a numeric value.
"""

from __future__ import annotations

from autograder.autograded import runner_outputs


def _record(status: str, error: str = "", result: object = None) -> dict:
    return {"index": 3, "grade_id": "t", "status": status, "error": error, "result": result}


def test_an_error_keeps_a_builtin_type_and_drops_its_message() -> None:
    (output,) = runner_outputs(_record("error", error="ValueError: hidden x = [1.5, 2.5]"))
    assert (output["ename"], output["evalue"], output["traceback"]) == (
        "ValueError",
        "",
        ["ValueError"],
    )


def test_an_exception_class_the_student_named_is_not_repeated() -> None:
    (output,) = runner_outputs(_record("error", error="X_1_5_2_5: anything"))
    assert output["ename"] == "Exception"
    assert "1_5" not in str(output)


def test_numbers_are_kept_and_any_other_value_is_dropped() -> None:
    (number,) = runner_outputs(_record("ok", result="1.5"))
    assert float(number["data"]["text/plain"]) == 1.5
    assert runner_outputs(_record("ok", result="'the hidden inputs were 1.5, 2.5'")) == []
    assert runner_outputs(_record("ok", result=None)) == []
