"""The work-dir contract: the names the grader and the in-sandbox runner agree on.

One home for every file name in a job's work dir (see docs/AUTOGRADER.md) and for the
shape of the runner's report. The grader lays the work dir out with these names, the
runner (inside the sandbox) reads and writes by them, and the boxes copy by them.

Standard library only, and importing nothing else of the grader: this module is part
of the student runtime (:mod:`autograder.studentlib` copies ``autograder/runner/``).
"""

from __future__ import annotations

NOTEBOOK_NAME = "notebook.ipynb"
"""The restored notebook the runner executes."""
INPUTS_DIRNAME = "inputs"
"""Case inputs the check API reads (``<test_id>.visible.npz``, ``<test_id>.hidden.npz``)."""
OUTPUTS_DIRNAME = "outputs"
"""Where the check API records the student's outputs."""
RESULTS_NAME = "results.json"
"""The runner's report: ``{"cells": [CELL_KEYS...]}``, one record per executed code cell."""
TMP_DIRNAME = ".tmp"
"""The job's TMPDIR, inside its work dir."""

RESERVED_NAMES = frozenset(
    {NOTEBOOK_NAME, INPUTS_DIRNAME, OUTPUTS_DIRNAME, RESULTS_NAME, TMP_DIRNAME}
)
"""Names in the work dir that whitelisted extra files may not take."""

CELL_KEYS = ("index", "grade_id", "status", "error", "stderr", "result")
"""The keys of one cell record in ``results.json``, nothing more, nothing less. ``stderr``
(a test cell wrote to standard error) and ``result`` (the ``text/plain`` of its last
expression's value, or None) are what stock nbgrader scores a plain test cell by."""
STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_TIMEOUT = "timeout"
STATUSES = (STATUS_OK, STATUS_ERROR, STATUS_TIMEOUT)
ERROR_CAP = 2048
"""Longest ``error`` text kept per cell (characters); the rest is cut."""

STARTED_MARKER = "[autograder.runner] setup done, executing cells"
"""Printed to stdout (and flushed) before the first cell: nothing of the student's has
run yet, so its absence means the runner itself failed."""
