"""Front-door attacks (issue 11, rows 4-5, and the forbidden-shortcuts policy), graded
through the instructor commands against the real ``a1/losses`` notebook; see
:mod:`corpus.front_door`."""

from __future__ import annotations

import pytest
from corpus.front_door import TORCH_TEST, FrontDoorRun, can_build, run_front_door

pytestmark = pytest.mark.skipif(
    can_build() is not None, reason=f"front-door attacks: {can_build()}"
)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> FrontDoorRun:
    return run_front_door(tmp_path_factory.mktemp("front"), workers=2)


def test_every_front_door_attack_gets_the_honest_score(front: FrontDoorRun):
    got = {o.id: (o.obtained, o.honest) for o in front.outcomes}
    assert not [o.id for o in front.outcomes if o.harmful], got
    assert front.summary.errors == 0


def test_the_impostor_is_refused_with_one_sentence_and_the_classmate_kept(front: FrontDoorRun):
    victim, impostor = front.accounts["victim"], front.accounts["impostor"]
    assert len(front.collected.refused) == 1
    entry, reason = front.collected.refused[0]
    assert entry.startswith(f"{victim}+a1+")
    assert reason == (
        f"submitted under {victim}'s name by {impostor}, who owns the folder: not "
        f"collected, and {victim}'s own work is kept"
    )
    assert sorted(front.collected.collected) == sorted(
        front.accounts[role] for role in ("victim", "latecomer", "torch")
    )


def test_the_torch_answer_is_shown_to_the_student_and_flagged_for_the_course_team(
    front: FrontDoorRun,
):
    student = front.accounts["torch"]
    (result,) = [r for r in front.summary.results if r.student_id == student]
    verdict = next(v for v in result.verdicts if v.test_id == TORCH_TEST)
    assert verdict.forbidden == ["torch"] and verdict.points == 0.0
    assert "used torch, which this exercise must be written without" in verdict.message
    flags = [p for p in front.summary.problems if TORCH_TEST in p]
    assert flags and flags[0].startswith(f"a1/{student}/losses {TORCH_TEST}: the graded calls")
    honest = [v for r in front.summary.results if r.student_id != student for v in r.verdicts]
    assert not any(v.forbidden for v in honest)
