"""What an attack works on: a draft submission folder, and what the attacker knows.

An attack turns the honest-but-wrong base submission (a :class:`Draft` holding the
notebook, extra files, links, or raw bytes) into its hostile form. The attacker is
assumed to know everything about the course except the secrets: the course directory
path, the loopback port of the "exfiltration" server, the canary prefix to look for,
and the run marker that names every file it tries to drop outside its sandbox (so the
audit can find them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from nbformat import NotebookNode

from corpus.notebooks import NOTEBOOK_FILE, cell_by_id, write_notebook

CANARY_PREFIX = "canary-"
"""Every secret starts with this; hunting attacks search for it."""

ESCAPE_PREFIX = "ESCAPE-"
"""Files an attack manages to write outside its sandbox are named ``ESCAPE-<marker>-<id>``."""


class AttackClass(str, Enum):
    """The families of the issue's list (the benchmark counts attacks per class)."""

    MONKEYPATCH = "monkeypatch"
    REFERENCE_IMPORT = "reference_import"
    INPUT_TRANSFORMER = "input_transformer"
    EXCEPTION_SUPPRESSION = "exception_suppression"
    LYING_OBJECT = "lying_object"
    FORGED_OUTPUT = "forged_output"
    EXIT = "exit"
    MODE_DETECTION = "mode_detection"
    CELL_TAMPERING = "cell_tampering"
    KERNELSPEC = "kernelspec"
    FILES = "files"
    MALFORMED = "malformed"
    DISK_READ = "disk_read"
    SECRETS = "secrets"
    NETWORK = "network"
    GRADEBOOK_WRITE = "gradebook_write"
    PERSISTENCE = "persistence"
    RESOURCE_BOMB = "resource_bomb"
    OUTPUT_FLOOD = "output_flood"
    PICKLE = "pickle"
    IPC = "ipc"


@dataclass(frozen=True)
class AttackContext:
    """What the attacker knows when writing its submission."""

    course_dir: Path
    student_id: str
    attack_id: str
    marker: str
    """Unique to one corpus build; names escape files and daemon command lines."""
    loopback_port: int
    """A TCP server on 127.0.0.1 that records whatever reaches it."""

    @property
    def escape_name(self) -> str:
        return f"{ESCAPE_PREFIX}{self.marker}-{self.attack_id}"

    def escape_dirs(self) -> list[str]:
        """Places outside the sandbox an attacker would like to drop a file into."""
        course = self.course_dir
        return [
            str(course),
            str(course / "submitted" / self.student_id / "mini"),
            str(course / "source" / "mini"),
            str(course / "autograder"),
            "/tmp",
            "/var/tmp",
            "/dev/shm",
            "/root",
        ]


@dataclass
class Draft:
    """One submission folder before it is written to ``submitted/<student>/mini/``."""

    notebook: NotebookNode
    notebook_name: str = NOTEBOOK_FILE
    raw: bytes | None = None
    """Written as the notebook file instead of ``notebook`` (malformed submissions)."""
    omit_notebook: bool = False
    extra_files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    """Link name -> target, created in the submission folder."""

    def answer(self, grade_id: str) -> NotebookNode:
        return cell_by_id(self.notebook, grade_id)

    def append_code(self, grade_id: str, code: str) -> None:
        """Run ``code`` after the (wrong) definitions of one answer cell."""
        cell = self.answer(grade_id)
        cell.source = f"{cell.source}\n\n{code.strip()}\n"

    def prepend_code(self, grade_id: str, code: str) -> None:
        """Run ``code`` before the definitions of one answer cell."""
        cell = self.answer(grade_id)
        cell.source = f"{code.strip()}\n\n{cell.source}"

    def write(self, folder: Path) -> None:
        """Materialize the folder: notebook (or raw bytes), extra files, links."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.raw is not None:
            (folder / self.notebook_name).write_bytes(self.raw)
        elif not self.omit_notebook:
            write_notebook(self.notebook, folder / self.notebook_name)
        for name, data in self.extra_files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for name, target in self.symlinks.items():
            os.symlink(target, folder / name)


AttackFn = Callable[[Draft, AttackContext], None]


@dataclass(frozen=True)
class Attack:
    """One attack: an id, its class, what it tries, and the edit that makes it."""

    id: str
    kind: AttackClass
    summary: str
    apply: AttackFn
