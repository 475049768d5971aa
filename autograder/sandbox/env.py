"""The environment a sandboxed job starts with: an allow-list, never the driver's own.

Starting from an empty mapping (rather than deleting known-bad names from
``os.environ``) is what makes the guarantee hold for secrets nobody thought of,
and it hides grading markers such as ``NBGRADER_EXECUTION`` that a submission
could use to behave differently while graded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from autograder.runner.supervisor import THREAD_VARIABLES

SYSTEM_BIN_DIRS: tuple[str, ...] = ("/usr/local/bin", "/usr/bin", "/bin")
"""Directories after the interpreter's own ``bin`` on the job's PATH."""


def interpreter_bin_dir() -> str:
    """The ``bin`` directory of the running interpreter (the venv's, not its target's)."""
    # dirname of sys.executable, not of its resolved symlink, keeps the venv's
    # bin first on PATH, so `python` inside the job is the venv interpreter.
    return os.path.dirname(os.path.abspath(sys.executable))


def scrubbed_env(
    *,
    home: str,
    tmpdir: str,
    threads: int = 1,
    bin_dirs: Sequence[str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Build a job environment from nothing but an allow-list.

    Args:
        home: value of HOME (the job's private work dir, as the job sees it).
        tmpdir: value of TMPDIR (inside the work dir).
        threads: size of the BLAS/OpenMP thread pools.
        bin_dirs: PATH entries; defaults to the interpreter's bin plus system dirs.
        extra: variables the caller wants to add; they override the defaults.

    Returns:
        A fresh dict; nothing from ``os.environ`` is copied into it.
    """
    if bin_dirs is None:
        bin_dirs = (interpreter_bin_dir(), *SYSTEM_BIN_DIRS)
    env: dict[str, str] = {
        "PATH": os.pathsep.join(dict.fromkeys(bin_dirs)),
        "HOME": home,
        "TMPDIR": tmpdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # A headless backend: there is no display, and a GUI backend would hang.
        "MPLBACKEND": "Agg",
        # `python -I` already ignores PYTHON* variables, but interpreters the job
        # starts itself (e.g. a Jupyter kernel) do not; these keep them tame too.
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    for key, value in (extra or {}).items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise ValueError(f"invalid environment entry {key!r}")
        env[key] = value
    return env
