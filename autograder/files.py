"""File rules the whole grader shares: atomic writes, usable names, the course's suffixes.

Every file the trusted side writes (journal entries, reports, feedback, the workspace's
own files) is written whole or not at all: the bytes go to a temporary file in the
destination's folder (same file system, so the rename is atomic), are fsynced, replace
the destination, and the folder's entry table is fsynced too. A crash leaves the old
file or the new one, never half of one.

Student ids, assignment and notebook names become path components (``submitted/<id>/``,
the journal, feedback pages), so they follow one rule, checked where they enter
(:func:`checked_name`): letters and digits of any script (``jörg`` is fine), ``_.@+-``,
not starting with a dot. A name that passes here passes everywhere downstream.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

NOTEBOOK_SUFFIX = ".ipynb"
SPECS_SUFFIX = ".specs.py"
"""A notebook's check specs: ``<notebook>.specs.py`` next to it (trusted, never released)."""
TEMP_PREFIX = ".tmp-"
"""Temporary files of :func:`atomic_write_bytes`: hidden, and removable after a crash."""
_NAME_PUNCTUATION = frozenset("_.@+-")
_NAME_RULE = "use letters, digits and '_.@+-' only, not starting with a dot"


def is_usable_name(name: object) -> bool:
    """Whether ``name`` can be one folder or file name under the grader's rule."""
    return (
        isinstance(name, str)
        and bool(name)
        and not name.startswith(".")
        and all(char.isalnum() or char in _NAME_PUNCTUATION for char in name)
    )


def checked_name(name: object, what: str) -> str:
    """Return ``name`` if :func:`is_usable_name`, else raise a ValueError naming ``what``."""
    if not is_usable_name(name):
        raise ValueError(f"{what} {name!r} cannot be used in a file name: {_NAME_RULE}")
    assert isinstance(name, str)
    return name


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folders; returns the path.

    ``mode``: the file's permissions (0o644 for reports; 0o600 keeps a file to its owner).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        # Whatever went wrong, the destination is untouched; do not leave the temporary.
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)  # make the rename itself survive a power cut
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int = 0o644) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def write_if_changed(path: str | os.PathLike[str], text: str) -> bool:
    """:func:`atomic_write_text` unless ``path`` already holds ``text``; True if it wrote."""
    target = Path(path)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(target, text)
    return True


def open_up(root: Path) -> None:
    """Modes that let anyone read everything under ``root`` (links are left alone).

    For trees a job's unprivileged uid must read: its work dir, the student runtime.
    """
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644, follow_symlinks=False)


def _fsync_dir(directory: Path) -> None:
    """Flush a folder's entry table; some file systems refuse, which is harmless here."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
