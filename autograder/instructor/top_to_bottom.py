"""Proof (d), as a student meets it: the solution runs top to bottom within its budget.

The grading proofs run a notebook in the sandbox, where the reference library is a stub
(students must not import the answers), so the demonstration and widget cells cannot
show their results there. This proof runs the staged source notebook the way a student
runs the release: in a fresh ``python3`` kernel with the full course library, in a
private copy of the release folder (the notebook, its visible check files and, because
``check_hidden`` needs it outside the grader, its specs file). Every cell must finish
without an error, and the whole run must fit the notebook's ``runtime_budget``, with
one thread per numerical library as a grading runner gives each job
(:attr:`autograder.sandbox.Limits.threads`), so proofs running side by side do not
oversubscribe the cores and the budget means the same here as there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

KERNEL = "python3"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class TopToBottom:
    seconds: float
    failure: str | None = None
    """Why the run does not prove the notebook (None when it does)."""


def run_top_to_bottom(folder: Path, notebook: str, budget_s: int) -> TopToBottom:
    """Run ``folder/<notebook>.ipynb`` in a copy of ``folder``; time it against ``budget_s``."""
    with tempfile.TemporaryDirectory(prefix=f"top-to-bottom-{notebook}-") as work:
        copy = Path(shutil.copytree(folder, Path(work) / "run"))
        path = copy / f"{notebook}.ipynb"
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, timeout=budget_s, kernel_name=KERNEL, resources={"metadata": {"path": str(copy)}}
        )
        start = time.monotonic()
        failure = None
        try:
            # The kernel's own stderr holds only ipykernel's start-up chatter: errors
            # come back through the protocol as CellExecutionError.
            env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
            client.execute(stderr=subprocess.DEVNULL, env=env)
        except CellTimeoutError:
            failure = ""  # over budget: worded below, with the time it took
        except CellExecutionError as error:
            failure = f"the solution stops with an error: {_summary(error)}"
        except DeadKernelError:
            failure = "the kernel died while running the solution (memory?)"
        seconds = time.monotonic() - start
    if failure == "" or (failure is None and seconds > budget_s):
        failure = (
            f"the solution did not run top to bottom within its runtime budget of {budget_s} s "
            f"(stopped after {seconds:.1f} s): speed it up or raise runtime_budget in course.toml"
        )
    return TopToBottom(seconds, failure)


def _summary(error: CellExecutionError) -> str:
    name = getattr(error, "ename", "") or "error"
    value = str(getattr(error, "evalue", "") or "").strip().splitlines()
    return f"{name}: {value[0] if value else ''}".rstrip(": ")


__all__ = ["TopToBottom", "run_top_to_bottom"]
