"""The in-sandbox runner: execute a restored notebook and leave ``results.json``.

Runs *inside* the sandbox from the student runtime (see :mod:`autograder.studentlib`),
so this package imports only the standard library, IPython, numpy and ``dlcourse``.
``run_workdir`` is loaded on first use: the grader imports the work-dir contract
(:mod:`autograder.runner.contract`) and the supervisor without pulling in IPython.
"""

from __future__ import annotations

from typing import Any

from autograder.runner.contract import STARTED_MARKER

__all__ = ["STARTED_MARKER", "run_workdir"]


def __getattr__(name: str) -> Any:
    if name == "run_workdir":
        from autograder.runner.execute import run_workdir

        return run_workdir
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
