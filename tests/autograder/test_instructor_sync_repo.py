"""The repository's own ``assignments/`` is in sync with its ``solutions/`` for the term.

This guards the real course: once course/course.toml lists an assignment, releasing it
(``python -m autograder.instructor release``) is what makes this pass again after any
change to its solutions, its specs or the term.
"""

from __future__ import annotations

from pathlib import Path

from autograder.instructor import check_sync, current_term, load_course

REPO = Path(__file__).resolve().parents[2]


def test_the_course_definition_and_the_current_term_load():
    course = load_course(REPO / "course" / "course.toml")
    assert course.course_id
    term = current_term(REPO)
    missing = [a.name for a in course.assignments if a.name not in term.dates]
    assert not missing, f"course/terms/{term.term_id}.toml has no dates for {missing}: add them"


def test_assignments_are_in_sync_with_solutions_for_the_current_term():
    problems = check_sync(REPO)
    assert problems == [], "assignments/ is out of sync:\n" + "\n".join(problems)
