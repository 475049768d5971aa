"""The instructor's tools: the course definition, terms, release with proof, sync, changelog.

See ``docs/INSTRUCTORS.md``; the command line is ``python -m autograder.instructor``.
The course's types (``Course``, ``Term``, ``CourseError``, ...) live in
:mod:`autograder.course`.
"""

from autograder.instructor.changelog import changelog
from autograder.instructor.config import load_course
from autograder.instructor.release import release
from autograder.instructor.sync import check_sync
from autograder.instructor.terms import current_term, load_term, new_term

__all__ = [
    "changelog",
    "check_sync",
    "current_term",
    "load_course",
    "load_term",
    "new_term",
    "release",
]
