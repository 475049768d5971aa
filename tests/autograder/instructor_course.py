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
