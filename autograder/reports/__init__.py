"""What comes out of a grading run: student feedback, the grades CSV, per-test pass rates
and score histograms. Every writer is atomic (temporary file, then rename).

The histogram lives in :mod:`autograder.reports.histogram` and is not re-exported here,
so that importing the feedback or the export does not load matplotlib.
"""

from autograder.reports.export import (
    EXPORT_COLUMNS,
    GradeRow,
    StudentInfo,
    rows_from_gradebook,
    write_grades_csv,
)
from autograder.reports.feedback import render_feedback, write_feedback
from autograder.reports.passrate import PassRateRow, format_table, pass_rates, write_csv

__all__ = [
    "EXPORT_COLUMNS",
    "GradeRow",
    "PassRateRow",
    "StudentInfo",
    "format_table",
    "pass_rates",
    "render_feedback",
    "rows_from_gradebook",
    "write_csv",
    "write_feedback",
    "write_grades_csv",
]
