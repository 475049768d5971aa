"""The one error type of the instructor tools: a course file the course team must fix."""

from __future__ import annotations


class CourseFileError(ValueError):
    """A course or term file is unusable; the message names the file, the key and the fix."""
