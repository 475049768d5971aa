"""The late policy, and how a term file's dates become due instants."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from autograder.course import AssignmentDates, CourseError, LatePolicy, Term
from autograder.course_layout import CourseLayout
from autograder.instructor.terms import load_term, render_term

DUE = datetime(2026, 9, 21, 23, 59, 59)
POLICY = LatePolicy(late_penalty_per_day=0.1, max_late_days=3)


@pytest.mark.parametrize(
    ("after_due", "days"),
    [
        (timedelta(hours=-5), 0),
        (timedelta(0), 0),
        (timedelta(seconds=1), 1),
        (timedelta(days=1), 1),
        (timedelta(days=1, seconds=1), 2),
        (timedelta(days=3), 3),
        (timedelta(days=3, minutes=1), 4),
    ],
)
def test_days_late_counts_started_days(after_due, days):
    assert POLICY.days_late(DUE, DUE + after_due) == days


def test_the_penalty_is_a_share_of_the_score_per_day_up_to_the_limit():
    assert POLICY.penalty(DUE, 20.0, DUE) == 0.0
    assert POLICY.penalty(DUE, 20.0, DUE + timedelta(hours=2)) == pytest.approx(2.0)
    assert POLICY.penalty(DUE, 20.0, DUE + timedelta(days=2, hours=2)) == pytest.approx(6.0)
    assert POLICY.penalty(DUE, 20.0, DUE + timedelta(days=3, hours=2)) == 20.0  # past max_late_days
    assert POLICY.penalty(DUE, 0.0, DUE + timedelta(days=10)) == 0.0
    assert POLICY.penalty(DUE, 20.0, None) == 0.0  # nothing says when it came in


def test_the_penalty_never_exceeds_the_score():
    steep = LatePolicy(late_penalty_per_day=0.6, max_late_days=5)
    assert steep.penalty(DUE, 10.0, DUE + timedelta(days=1, hours=1)) == 10.0


def test_bad_policies_and_aware_instants_are_refused():
    with pytest.raises(ValueError, match="naive UTC"):
        POLICY.penalty(DUE.replace(tzinfo=timezone.utc), 1.0, DUE)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        LatePolicy(late_penalty_per_day=1.5)


def _term_file(tmp_path, text):
    path = tmp_path / "course" / "terms" / "t1.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('term_id = "t1"\nseed = 5\n' + text)
    return path


def test_a_due_date_ends_at_the_end_of_the_day_in_the_term_time_zone(tmp_path):
    dates = "[assignments.a1]\nrelease = 2026-09-07\ndue = 2026-09-21\n"
    term = load_term(_term_file(tmp_path, f'timezone = "Europe/Berlin"\n{dates}'))
    # Berlin is on summer time (UTC+2) in September.
    assert term.due_instant("a1") == datetime(2026, 9, 21, 21, 59, 59)
    assert term.due_instant("a9") is None
    assert term.late_policy is None  # no [late_policy]: late work is not penalized


def test_a_term_file_round_trips_with_its_time_zone_and_policy(tmp_path):
    term = Term(
        "t1",
        5,
        {"a1": AssignmentDates(date(2026, 9, 7), date(2026, 9, 21))},
        LatePolicy(0.25, 2),
        "America/Chicago",
    )
    path = tmp_path / "t1.toml"
    path.write_text(render_term(term))
    assert load_term(path) == term
    no_policy = Term("t1", 5, {}, None)
    path.write_text(render_term(no_policy))
    assert load_term(path) == no_policy


def test_an_unknown_time_zone_names_the_key(tmp_path):
    with pytest.raises(CourseError, match="timezone 'Mars/Olympus' is not an IANA"):
        load_term(_term_file(tmp_path, 'timezone = "Mars/Olympus"\n'))


def _course(tmp_path, term_json: str) -> CourseLayout:
    (tmp_path / "source").mkdir()
    (tmp_path / "term.json").write_text(term_json)
    return CourseLayout.open(tmp_path)


A1 = '"assignments": {"a1": {"release": "2026-09-07", "due": "2026-09-21"}}'


def test_term_json_is_written_and_read_by_the_term_itself(tmp_path):
    term = Term(
        "t1",
        5,
        {"a1": AssignmentDates(date(2026, 9, 7), date(2026, 9, 21))},
        LatePolicy(0.25, 2),
        "America/Chicago",
    )
    term.write_json(tmp_path / "term.json")
    assert Term.read_json(tmp_path / "term.json") == term


def test_the_grader_reads_due_instants_and_the_policy_from_term_json(tmp_path):
    layout = _course(
        tmp_path,
        f'{{"seed": 3, {A1}, "late_policy": {{"late_penalty_per_day": 0.1, "max_late_days": 3}}}}',
    )
    term = layout.term()
    assert term.seed == 3 and layout.term(7).seed == 7
    assert term.due_instant("a1") == DUE
    assert term.late_policy == POLICY
    late = DUE + timedelta(hours=2)
    assert term.late_penalty("a1", 20.0, late) == POLICY.penalty(DUE, 20.0, late) > 0
    assert term.due_instant("a2") is None and term.late_penalty("a2", 20.0, late) == 0.0


def test_without_a_policy_the_due_date_is_kept_and_nothing_is_penalized(tmp_path):
    term = _course(tmp_path, f'{{"seed": 3, {A1}}}').term()
    assert term.due_instant("a1") == DUE
    assert term.late_policy is None
    assert term.late_penalty("a1", 20.0, DUE + timedelta(days=9)) == 0.0


@pytest.mark.parametrize(
    ("term_json", "message"),
    [
        (
            '{"seed": 3, "assignments": {"a1": {"release": "2026-09-07", "due": "next monday"}}}',
            r"term.json: assignments.a1: 'due' must be an ISO date",
        ),
        (
            f'{{"seed": 3, {A1}, "late_policy": {{"late_penalty_per_day": 2}}}}',
            r"term.json: late_policy: late_penalty_per_day must be in \[0, 1\]",
        ),
        (
            f'{{"seed": 3, {A1}, "late_policy": {{"late_penalty": 0.1}}}}',
            "unknown key 'late_penalty' \\(did you mean 'late_penalty_per_day'\\?\\)",
        ),
        ('{"seed": "twelve"}', "'seed' must be an integer"),
    ],
)
def test_a_broken_term_json_names_the_key(tmp_path, term_json, message):
    layout = _course(tmp_path, term_json)
    with pytest.raises(CourseError, match=message):
        layout.term()


def test_the_penalty_is_rounded_as_people_read_it():
    policy = LatePolicy(late_penalty_per_day=0.3, max_late_days=3)
    penalty = policy.penalty(DUE, 42.0, DUE + timedelta(hours=5))
    assert str(penalty) == "12.6"  # 42 * 0.3 is 12.600000000000001 in floating point
