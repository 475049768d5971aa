"""The release record ``assignments/<a>/.release.json``: term and hashes of what was released.

It lets :mod:`autograder.instructor.sync` prove, without regenerating anything, that the
release belongs to the current term, was built from the current solutions, and was not
edited by hand since.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.course import Assignment
from autograder.files import NOTEBOOK_SUFFIX

RECORD_FILE = ".release.json"
SKIPPED_NAMES = ("__pycache__",)
SKIPPED_SUFFIXES = (".pyc",)


@dataclass(frozen=True)
class ReleaseRecord:
    assignment: str
    term_id: str
    source_hashes: dict[str, str]
    """sha256 of every source file the release was built from, by path in the source folder."""
    release_hashes: dict[str, str]
    """sha256 of every released file, by path in the release folder."""

    def write(self, release_dir: Path) -> Path:
        path = release_dir / RECORD_FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", "utf-8")
        return path

    @classmethod
    def read(cls, release_dir: Path) -> ReleaseRecord:
        """The record; raises ValueError (with the reason) when it is missing or malformed."""
        path = release_dir / RECORD_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise ValueError(f"{path} is missing") from None
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"{path} is unreadable ({error})") from None


def source_files(assignment: Assignment) -> list[Path]:
    """What a release is built from: the listed notebooks, their specs and every data file.

    Hidden files, caches and notebooks the course file does not list are left out.
    """
    listed = {f"{notebook.name}{NOTEBOOK_SUFFIX}" for notebook in assignment.notebooks}
    files = []
    for path in sorted(assignment.source.rglob("*")):
        relative = path.relative_to(assignment.source)
        hidden = any(part.startswith(".") or part in SKIPPED_NAMES for part in relative.parts)
        if not path.is_file() or path.is_symlink() or hidden or path.suffix in SKIPPED_SUFFIXES:
            continue
        if len(relative.parts) == 1 and path.suffix == NOTEBOOK_SUFFIX and path.name not in listed:
            continue
        files.append(path)
    return files


def source_hashes(assignment: Assignment) -> dict[str, str]:
    return {
        path.relative_to(assignment.source).as_posix(): file_hash(path)
        for path in source_files(assignment)
    }


def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` except the record itself."""
    return {
        path.relative_to(folder).as_posix(): file_hash(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != RECORD_FILE
    }


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
