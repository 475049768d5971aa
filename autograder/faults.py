"""Fault points: named moments where the fault suite SIGKILLs a process of the grader.

A test that wants the driver (or a worker) to die at a precise moment, not after a
sleep, sets ``AUTOGRADER_FAULT=<point>:<key>`` in that process's environment;
:func:`fault_point` then SIGKILLs the calling process when it reaches the point with
that key. A third field, ``AUTOGRADER_FAULT=<point>:<key>:<marker file>``, fires only
once across every process: the first to create the marker dies, later ones pass.
Several faults are separated by commas.
Unset (always, outside the tests), each point costs one dictionary lookup.

The points, and their keys:

- ``result:<n>``: the driver got its n-th result, before journaling it;
- ``journaled:<n>``: the n-th result is journaled, its gradebook write not begun;
- ``commit:<n>``: the gradebook's n-th transaction is written, not yet committed;
- ``job:<student>``: a worker starts grading the student's notebook;
- ``release:install``: release built the new folder beside ``assignments/<a>``.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "AUTOGRADER_FAULT"


def fault_point(point: str, key: object) -> None:
    """SIGKILL this process if ``$AUTOGRADER_FAULT`` names ``point:key`` (see the module)."""
    specs = os.environ.get(FAULT_ENV)
    if not specs:
        return
    for spec in specs.split(","):
        wanted_point, _, rest = spec.partition(":")
        wanted_key, _, marker = rest.partition(":")
        if (wanted_point, wanted_key) != (point, str(key)):
            continue
        if marker:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                continue
        os.kill(os.getpid(), signal.SIGKILL)
