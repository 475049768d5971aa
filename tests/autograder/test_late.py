"""The late rule, and how a term file's dates become due instants."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from autograder.course_layout import CourseError, CourseLayout
from autograder.course import CourseError
from autograder.instructor.terms import AssignmentDates, LatePolicy, Term, load_term, render_term
from autograder.late import LateRule

DUE = datetime(2026, 9, 21, 23, 59, 59)
RULE = LateRule(DUE, penalty_per_day=0.1, max_late_days=3)


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
    assert RULE.days_late(DUE + after_due) == days


def test_the_penalty_is_a_share_of_the_score_per_day_up_to_the_limit():
    assert RULE.penalty(20.0, DUE) == 0.0
    assert RULE.penalty(20.0, DUE + timedelta(hours=2)) == pytest.approx(2.0)
    assert RULE.penalty(20.0, DUE + timedelta(days=2, hours=2)) == pytest.approx(6.0)
    assert RULE.penalty(20.0, DUE + timedelta(days=3, hours=2)) == 20.0  # past max_late_days
    assert RULE.penalty(0.0, DUE + timedelta(days=10)) == 0.0
    assert RULE.penalty(20.0, None) == 0.0  # nothing says when it came in


def test_the_penalty_never_exceeds_the_score():
    steep = LateRule(DUE, penalty_per_day=0.6, max_late_days=5)
    assert steep.penalty(10.0, DUE + timedelta(days=1, hours=1)) == 10.0


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="naive UTC"):
        LateRule(DUE.replace(tzinfo=timezone.utc))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        LateRule(DUE, penalty_per_day=1.5)


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


def test_the_grader_reads_due_instants_and_the_policy_from_term_json(tmp_path):
    layout = _course(
        tmp_path,
        '{"seed": 3, "due": {"a1": "2026-09-21T23:59:59"}, '
        '"late_policy": {"late_penalty_per_day": 0.1, "max_late_days": 3}}',
    )
    assert layout.term_seed() == 3
    assert layout.due_date("a1") == DUE
    assert layout.late_rule("a1") == RULE
    assert layout.due_date("a2") is None and layout.late_rule("a2") is None


def test_without_a_policy_the_due_date_is_kept_and_nothing_is_penalized(tmp_path):
    layout = _course(tmp_path, '{"seed": 3, "due": {"a1": "2026-09-21T23:59:59"}}')
    assert layout.due_date("a1") == DUE
    assert layout.late_rule("a1") is None


@pytest.mark.parametrize(
    ("term_json", "message"),
    [
        ('{"seed": 3, "due": {"a1": "next monday"}}', "naive UTC ISO datetime"),
        ('{"seed": 3, "due": {"a1": "2026-09-21T23:59:59+02:00"}}', "naive UTC ISO datetime"),
        (
            '{"seed": 3, "due": {"a1": "2026-09-21T23:59:59"}, '
            '"late_policy": {"late_penalty_per_day": 2, "max_late_days": 3}}',
            "late_policy must be",
        ),
        (
            '{"seed": 3, "due": {"a1": "2026-09-21T23:59:59"}, '
            '"late_policy": {"late_penalty_per_day": 0.1}}',
            "late_policy must be",
        ),
    ],
)
def test_a_broken_term_json_names_the_key(tmp_path, term_json, message):
    layout = _course(tmp_path, term_json)
    with pytest.raises(CourseError, match=message):
        layout.late_rule("a1")
