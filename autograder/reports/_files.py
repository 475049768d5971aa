"""Small file helpers shared by the report writers and the LMS import.

Every report is written whole or not at all: the bytes go to a temporary file in the
destination's directory (same file system, so the final rename is atomic), are flushed
to disk, and only then replace the destination. A crash leaves either the old file or
the new one, never half of one, and a reader never sees a file being written.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

#: Names safe as one path component: no separators, no leading dot (hidden files, ``..``).
_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9_@+\-][A-Za-z0-9_.@+\-]*")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folders; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; reports are meant to be read by others too.
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        # Whatever went wrong, the destination is untouched; do not leave the temporary.
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def safe_component(name: str, what: str) -> str:
    """Return ``name`` if it can be used as one folder or file name, else raise ValueError.

    Student ids, assignment and notebook names become path components of report files;
    a name with a separator or a leading dot could write outside the report folder.
    """
    if not isinstance(name, str) or not _SAFE_COMPONENT.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} cannot be used in a file name: use letters, digits and "
            "'_.@+-' only, not starting with a dot"
        )
    return name
