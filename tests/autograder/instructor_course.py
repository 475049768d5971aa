"""A temporary course repository for the instructor tests: one assignment, ``mini``."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "mini"

COURSE_TOML = """\
course_id = "dl-test"

[[assignments]]
name = "mini"

[[assignments.notebooks]]
name = "mini"
points = 19
runtime_budget = 120
"""

TERM_TOML = """\
term_id = "2026-fall"
seed = 11

[late_policy]
late_penalty_per_day = 0.1
max_late_days = 3

[assignments.mini]
release = 2026-09-07
due = 2026-09-21
"""


def make_course(root: Path, course_toml: str = COURSE_TOML) -> Path:
    """Write the course repo under ``root`` and return ``root``."""
    solutions = root / "solutions" / "mini"
    solutions.mkdir(parents=True)
    shutil.copy(FIXTURE / "mini.ipynb", solutions)
    shutil.copy(FIXTURE / "mini.specs.py", solutions)
    (root / "course" / "terms").mkdir(parents=True)
    (root / "course" / "course.toml").write_text(course_toml, encoding="utf-8")
    (root / "course" / "terms" / "2026-fall.toml").write_text(TERM_TOML, encoding="utf-8")
    (root / "course" / "current_term").write_text("2026-fall\n", encoding="utf-8")
    return root


#: Partial students of the mini assignment, in the format of course/synthetic/<a>/*.toml.
SYNTHETIC_TOML = """\
[[student]]
id = "mini-no-bias-grad"
summary = "forgets the bias gradient of the fully connected layer"
failing = ["linear_backward_test"]

[[student.edit]]
notebook = "mini"
cell = "linear_backward"
old = "db = dout.sum(axis=0)"
new = "db = np.zeros(dout.shape[1])"

[[student]]
id = "mini-mse-half-grad"
summary = "drops the factor 2 of the squared error's gradient"
failing = ["mse_loss_test"]

[[student.edit]]
notebook = "mini"
cell = "mse_loss"
old = "dy_hat = 2 * diff / diff.size"
new = "dy_hat = diff / diff.size"
"""

#: Autograded points of mini (19 minus the 2-point written answer), and each student's score.
MINI_AUTOGRADED = 17
EXPECTED_SCORES = {
    "reference": 17.0,
    "blank": 0.0,
    "mini-no-bias-grad": 14.0,
    "mini-mse-half-grad": 16.0,
    "adv-fake-checks": 0.0,
    "adv-early-exit": 0.0,
    "adv-snoop": 0.0,
    "adv-flood": 0.0,
}


def write_synthetic(root: Path, text: str = SYNTHETIC_TOML) -> Path:
    """Write ``course/synthetic/mini/mini.toml`` under the course ``root``; returns its path."""
    path = root / "course" / "synthetic" / "mini" / "mini.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
