"""Intake: validate a submitted notebook and restore it against the instructor's template.

Only the answer sources come from the submission; everything else (test cells, order,
metadata, points, kernel) comes from the template. Reading never raises for student
input: problems are reported in an :class:`IntakeReport`.
"""

from autograder.intake.recover import lenient_loads, salvage_cells
from autograder.intake.restore import (
    intake_bytes,
    intake_notebook,
    match_submission_files,
    restore_notebook,
)
from autograder.intake.status import IntakeReport, IntakeStatus, NoteKind
from autograder.intake.template import (
    CellRole,
    NotebookTemplate,
    TemplateCell,
    TemplateError,
    TemplateKind,
    load_template,
    template_from_notebook,
)
from autograder.intake.validate import IntakeConfig, read_submission, read_submission_bytes

__all__ = [
    "CellRole",
    "IntakeConfig",
    "IntakeReport",
    "IntakeStatus",
    "NoteKind",
    "NotebookTemplate",
    "TemplateCell",
    "TemplateError",
    "TemplateKind",
    "intake_bytes",
    "intake_notebook",
    "lenient_loads",
    "load_template",
    "match_submission_files",
    "read_submission",
    "read_submission_bytes",
    "restore_notebook",
    "salvage_cells",
    "template_from_notebook",
]
