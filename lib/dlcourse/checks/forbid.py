"""Watching a graded call for modules its exercise must be written without.

An exercise may declare modules it forbids (``torch`` in a NumPy exercise, say; see
``exercise(..., forbid=...)`` in ``autograder.specs``). While the recording mode runs the
student's function on a case, :func:`watch` notes every call that lands in one of them:

- a profile function (``sys.setprofile``) sees each Python call (by the called code's
  module) and each call of a built-in (by its ``__module__``, or its bound object's type,
  which is how ``tensor.sum()`` shows up);
- an audit hook (``sys.addaudithook``: it cannot be removed once added) sees a forbidden
  module imported during the call, and any ``sys.setprofile`` / ``sys.settrace`` the
  student's code makes while it runs: switching the watch off is reported as
  :data:`TRACING_OFF`.

What it finds is data the trusted side reads from the outputs file. It runs in the
student's own process, so a determined student can blind it (patch this module, or run
the work in a thread the profile function does not follow): a finding is evidence, its
absence proves nothing. ``docs/AUTOGRADER.md`` lists the ways.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

TRACING_OFF = "tracing-off"
"""Reported when the student's code replaced the profile function during the call."""

# Taken at import (before any student cell runs), so rebinding ``sys.setprofile`` later
# does not change what the watch calls.
_setprofile = sys.setprofile
_getprofile = sys.getprofile
_state = threading.local()
_hook_added = False


def _owner(name: object, modules: Sequence[str]) -> str | None:
    """The forbidden module ``name`` belongs to (itself or a submodule), if any."""
    if not isinstance(name, str):
        return None
    for module in modules:
        if name == module or name.startswith(module + "."):
            return module
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    seen: set[str] | None = getattr(_state, "seen", None)
    if seen is None or getattr(_state, "own", False):
        return
    if event in ("sys.setprofile", "sys.settrace"):
        seen.add(TRACING_OFF)
    elif event == "import" and args:
        owner = _owner(args[0], _state.modules)
        if owner:
            seen.add(owner)


@contextmanager
def watch(modules: Sequence[str]) -> Iterator[set[str]]:
    """Yield the set that collects the forbidden modules used inside the ``with`` block.

    ``modules`` are dotted names; an empty sequence watches nothing (no overhead).
    """
    seen: set[str] = set()
    if not modules:
        yield seen
        return
    global _hook_added
    if not _hook_added:
        sys.addaudithook(_audit)
        _hook_added = True
    names = tuple(modules)

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            owner = _owner(frame.f_globals.get("__name__"), names)
        elif event == "c_call":
            module = getattr(arg, "__module__", None)
            if module is None:
                module = type(getattr(arg, "__self__", None)).__module__
            owner = _owner(module, names)
        else:
            return
        if owner:
            seen.add(owner)

    previous = _getprofile()
    _state.modules, _state.own = names, True
    _setprofile(profile)
    _state.seen, _state.own = seen, False
    try:
        yield seen
    finally:
        _state.own = True
        if _getprofile() is not profile:
            seen.add(TRACING_OFF)
        _setprofile(previous)
        _state.seen, _state.own = None, False
