"""The instructor's tools: the course definition, terms, release with proof, sync, changelog.

See ``docs/INSTRUCTORS.md``; the command line is ``python -m autograder.instructor``.
"""

from autograder.course import Assignment, Course, CourseError, LatePolicy, NotebookEntry, Term
from autograder.instructor.changelog import Changelog, changelog
from autograder.instructor.config import load_course
from autograder.instructor.release import AssignmentRelease, ReleaseReport, release
from autograder.instructor.sync import check_sync
from autograder.instructor.terms import current_term, load_term, new_term

__all__ = [
    "Assignment",
    "AssignmentRelease",
    "Changelog",
    "Course",
    "CourseError",
    "LatePolicy",
    "NotebookEntry",
    "ReleaseReport",
    "Term",
    "changelog",
    "check_sync",
    "current_term",
    "load_course",
    "load_term",
    "new_term",
    "release",
]
