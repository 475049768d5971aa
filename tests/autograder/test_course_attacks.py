"""Issue 11, rows 1-3 and the visible-lookup rule, on the real ``a1/losses`` notebook,
collected and graded through the instructor commands: no attack beats the honest wrong
answer, and the solution still earns every autograded point (so a zero means something).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from corpus.course_attacks import (
    ASSIGNMENT,
    ATTACKS,
    AUTOGRADED_POINTS,
    HONEST,
    _answer_cells,
    _library,
    _rewrite,
    _shipped_checks,
    _table_answer,
    inflations,
    run_course_attacks,
)

from autograder.instructor.grading import grade
from autograder.instructor.terms import current_term, secret_path

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course-attacks")
    return root, run_course_attacks(root)


@pytest.fixture(scope="module")
def scores(course):
    return course[1]


def test_the_solution_earns_every_point_and_the_honest_wrong_answer_none(scores):
    assert scores["reference"] == AUTOGRADED_POINTS
    assert scores[HONEST] == 0.0


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.student_id for attack in ATTACKS])
def test_no_attack_scores_more_than_the_honest_wrong_answer(scores, attack):
    assert scores[attack.student_id] == scores[HONEST], inflations(scores)


def test_the_lookup_answers_the_shipped_cases_right():
    """The lookup attack is real: on every shipped input it returns the expected outputs."""
    table = _shipped_checks(REPO)
    namespace: dict = {}
    for cell in _answer_cells(_table_answer(table)):
        exec(cell.source, namespace)
    for test_id in ("mse_loss_test", "softmax_cross_entropy_loss_test", "bce_loss_test"):
        for inputs, outputs in table[test_id]:
            function = namespace[test_id.removesuffix("_test")]
            got = function(**{k: np.asarray(v) for k, v in inputs.items()})
            assert all(np.allclose(a, b) for a, b in zip(got, outputs, strict=True))


def test_with_the_old_committed_seed_the_recomputed_cases_score_full_marks(course):
    """Row 3 as it was: grading from the seed students could read gave 11 of 11."""
    root, _ = course
    secret_path(root, "2026-fall").write_text(f"seed = {current_term(root).public_seed}\n")
    summary = grade(ASSIGNMENT, root, students=["seed-recompute"], regrade=True, progress=False)
    (result,) = summary.results
    assert result.score == AUTOGRADED_POINTS


def test_the_library_attack_is_the_reference_where_the_library_is_whole():
    """Row 2 is real: with this repository's dlcourse installed, it answers every case."""
    from dlcourse.functional.losses import mse_loss

    namespace: dict = {}
    for cell in _answer_cells(_rewrite(_library)):
        exec(cell.source, namespace)
    y_hat, y = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    got, want = namespace["mse_loss"](y_hat, y), mse_loss(y_hat, y)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
