"""The IPython shell that executes a notebook's cells inside the sandbox.

A plain :class:`~IPython.core.interactiveshell.InteractiveShell` with what a headless,
kernel-less run needs: no history database, no colours, cheap tracebacks, and
``%matplotlib`` / ``%pylab`` mapped onto the Agg backend (the base class raises
``NotImplementedError`` for them, which would fail the many notebooks that start with
``%matplotlib inline``).

Imports only IPython and traitlets (copied into the runtime; see
:mod:`autograder.studentlib`).
"""

from __future__ import annotations

import atexit
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

HEADLESS_BACKEND = "agg"


class GradingShell(InteractiveShell):
    """An ``InteractiveShell`` for grading: every figure goes to the Agg backend."""

    def enable_gui(self, gui: str | None = None) -> None:
        """No event loop exists to integrate with: a no-op instead of an error."""

    def enable_matplotlib(self, gui: str | None = None) -> tuple[str, str]:
        """Whatever backend the notebook asks for (``inline``, ``qt``...), use Agg."""
        from IPython.core import pylabtools

        pylabtools.activate_matplotlib(HEADLESS_BACKEND)
        return HEADLESS_BACKEND, HEADLESS_BACKEND


def new_shell(ipython_dir: str) -> GradingShell:
    """A fresh grading shell that writes nothing outside ``ipython_dir``."""
    config = Config()
    # The default history is an SQLite file under ~/.ipython: useless here, and a
    # source of lock waits when jobs share a HOME.
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    # Verbose tracebacks parse every frame's source: slow enough to matter under a
    # per-cell timeout, and only humans read them.
    config.InteractiveShell.xmode = "Plain"
    config.InteractiveShell.autocall = 0
    GradingShell.clear_instance()
    # instance() rather than the constructor: IPython.get_ipython() in student code
    # looks up the singleton.
    return GradingShell.instance(config=config, ipython_dir=ipython_dir)


def close_shell(shell: Any) -> None:
    """Undo what the shell changed in this process (``__main__``, sys hooks, singleton).

    Matters for in-process callers; the sandboxed runner exits right after anyway.
    """
    try:
        atexit.unregister(shell.atexit_operations)
        shell.atexit_operations()
        shell.cleanup()
    finally:
        GradingShell.clear_instance()
