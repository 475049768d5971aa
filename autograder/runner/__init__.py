"""The in-sandbox runner: execute a restored notebook and leave ``results.json``.

Runs *inside* the sandbox from the student runtime (see :mod:`autograder.studentlib`),
so this package imports only the standard library, IPython, numpy and ``dlcourse``.
"""

from autograder.runner.execute import STARTED_MARKER, run_workdir

__all__ = ["STARTED_MARKER", "run_workdir"]
