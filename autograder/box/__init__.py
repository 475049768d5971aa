"""Boxes: run the in-sandbox runner over one work dir and report what happened.

A box owns how a job's process comes to life; the pipeline only sees this protocol.
:class:`~autograder.box.cold.ColdBox` starts a fresh ``python -I`` per job; a warm box
(``autograder.box.warm``) forks jobs from a pre-imported zygote. Every box:

- runs ``autograder.runner`` from the student runtime (:mod:`autograder.studentlib`)
  over ``workdir`` (the job sees it as its cwd), under ``limits``, so that it leaves
  ``results.json`` and ``outputs/`` there;
- returns the :class:`~autograder.sandbox.SandboxResult` of that job, whose ``layers``
  say which isolation layers the job actually had;
- prints :data:`~autograder.runner.contract.STARTED_MARKER` on the job's stdout only once the
  runner is ready (the pipeline uses its absence to tell a grader failure from a
  submission that ended the process early);
- reports the layers it can offer (``layers()``) the same way, and releases its
  processes on ``close()`` (also on leaving a ``with`` block).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

from autograder.sandbox import IsolationReport, Limits, SandboxResult


@runtime_checkable
class Box(Protocol):
    """Runs one work dir at a time under the sandbox (see the module docstring)."""

    def run(self, workdir: Path, limits: Limits) -> SandboxResult:
        """Execute the runner over ``workdir`` and return once every process is dead."""
        ...

    def layers(self) -> IsolationReport:
        """The isolation layers this box's jobs get, with reasons for missing ones."""
        ...

    def close(self) -> None:
        """Release whatever the box holds (processes, pools); idempotent."""
        ...

    def __enter__(self) -> Box:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Box"]
