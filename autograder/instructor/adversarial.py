"""Generic adversarial submissions for the synthetic class: attacks on the grader itself.

Each attack is code put at the top of the first code answer cell of every notebook of
the blank release, or (``every_answer``) written in place of every code answer, with
``__GRADE_ID__`` standing for the cell's grade id. None of them answers anything itself,
so each must score exactly what the blank scores (zero autograded points): if one scores
more, the grader has been fooled.
The full adversarial corpus lives in ``tests/autograder/corpus/``; these four stand for
its families in the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Attack:
    student_id: str
    summary: str
    code: str
    every_answer: bool = False


FAKE_CHECKS = """\
# Make every check pass: replace NumPy's comparisons and the check functions.
import builtins

import numpy as np

import dlcourse.checks as _checks


def _always_pass(*args, **kwargs):
    return True


np.allclose = np.array_equal = _always_pass
np.testing.assert_allclose = np.testing.assert_array_equal = _always_pass
check = check_hidden = _always_pass
_checks.check = _checks.check_hidden = _always_pass
builtins.check = builtins.check_hidden = _always_pass
"""

EARLY_EXIT = """\
# Leave before any test runs, hoping that an unfinished run counts as a pass.
import os

os._exit(0)
"""

FLOOD = """\
# Print far more than any log should hold, on both streams.
import sys

_line = "A" * 1_000_000
for _ in range(64):
    print(_line)
    print(_line, file=sys.stderr)
"""

SNOOP = """\
# Instead of an answer: read the instructor's notebook (and the gradebook) from where a
# course keeps them, and run this cell's solution found there.
import json
import os

_want = "__GRADE_ID__"
_found = []
for _path in {paths!r} + [os.path.expanduser("~/gradebook.db"), "../gradebook.db"]:
    try:
        with open(_path, "rb") as _handle:
            _data = _handle.read()
    except OSError:
        continue
    _found.append(_path)
    if _path.endswith(".ipynb"):
        for _cell in json.loads(_data)["cells"]:
            if _cell["metadata"].get("nbgrader", {{}}).get("grade_id") == _want:
                exec("".join(_cell["source"]), globals())
print("stolen:", _found)
"""


def attacks(secret_paths: Sequence[Path]) -> list[Attack]:
    """The adversarial students; ``secret_paths`` are files the snooper tries to read."""
    return [
        Attack(
            "adv-fake-checks",
            "replaces np.allclose and the check functions with always-true versions",
            FAKE_CHECKS,
        ),
        Attack("adv-early-exit", "calls os._exit(0) in its first answer cell", EARLY_EXIT),
        Attack(
            "adv-snoop",
            "reads the solution notebook and the gradebook from disk and runs the solutions",
            SNOOP.format(paths=[str(path) for path in secret_paths]),
            every_answer=True,
        ),
        Attack("adv-flood", "prints 128 MB to stdout and stderr", FLOOD),
    ]
