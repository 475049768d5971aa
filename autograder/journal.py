"""The grading journal: one JSON file per job, the durable record of every result.

Layout: ``<workspace>/results/<assignment>/<student>/<notebook>.json``, each holding
``JobResult.to_dict()``. A file is written to a temporary name in the same folder,
flushed and fsynced, then renamed over the old one, so a reader (or a driver killed
mid-write) sees either the old entry or the new one, never half of one.

The journal is what makes a run resumable: a job whose entry carries the job's current
fingerprint and a final status need not be graded again, and replaying the journal
into the gradebook repairs a run killed between the two writes. Only the driver writes.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.files import TEMP_PREFIX, atomic_write_text, checked_name
from autograder.job import GradingJob, JobResult, JobStatus
from autograder.result_check import parse_result

SUFFIX = ".json"
#: Write errors that mean "no room": the disk is full, a quota or a file-size limit is hit.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
__all__ = ["FINAL_STATUSES", "SUFFIX", "TEMP_PREFIX", "Journal", "JournalError"]

#: Statuses that settle a job: an entry with one of these is not graded again.
#: ERROR (a grader problem) and AWAITING_GPU (no runner yet) are retried on the next run.
FINAL_STATUSES = frozenset({JobStatus.GRADED, JobStatus.TIMEOUT})


class JournalError(ValueError):
    """A journal entry is unreadable or does not describe the job its path names."""


@dataclass(frozen=True)
class Journal:
    """The results folder of a workspace."""

    root: Path
    """``<workspace>/results``."""

    def path_for(self, assignment: str, student_id: str, notebook: str) -> Path:
        """Where the entry of one job lives; each name must be a single path component."""
        for what, name in (
            ("assignment", assignment),
            ("student", student_id),
            ("notebook", notebook),
        ):
            _check_component(what, name)
        return self.root / assignment / student_id / f"{notebook}{SUFFIX}"

    def write(self, result: JobResult) -> Path:
        """Store ``result`` atomically, replacing any earlier entry for the same job."""
        path = self.path_for(result.assignment, result.student_id, result.notebook)
        text = json.dumps(result.to_dict(), indent=1, sort_keys=True, allow_nan=False)
        try:
            # Student results: readable by the course team's account only.
            return atomic_write_text(path, text + "\n", mode=0o600)
        except OSError as error:
            if error.errno not in NO_ROOM:
                raise
            # The atomic writer removed its temporary file: no half entry is left.
            raise JournalError(
                f"cannot write the journal in {path.parent}: {error.strerror}. Make room "
                "there (or pass --workspace elsewhere) and run the grader again; the "
                "results journaled so far are kept"
            ) from error

    def read(self, path: Path) -> JobResult:
        """Load one entry, checking its shape and that it belongs where it is stored."""
        try:
            result = parse_result(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise JournalError(
                f"journal entry {path} is unreadable ({error}); delete it and run the grader "
                "again to regrade that notebook"
            ) from error
        expected = self.path_for(result.assignment, result.student_id, result.notebook)
        if expected != path:
            raise JournalError(
                f"journal entry {path} describes {'/'.join(result.key)}, which belongs in "
                f"{expected}; delete the misplaced file"
            )
        return result

    def get(self, job: GradingJob, damaged: list[str] | None = None) -> JobResult | None:
        """The stored result for ``job``; None when there is none or it fails validation.

        A damaged entry (truncated by a power cut, edited by hand) counts as missing, so
        the next run regrades the job and the atomic write replaces the damage; why it
        was refused is appended to ``damaged`` when given.
        """
        path = self.path_for(job.assignment, job.student_id, job.notebook)
        if not path.is_file():
            return None
        try:
            return self.read(path)
        except JournalError as error:
            if damaged is not None:
                damaged.append(f"{path} ({error.__cause__ or error})")
            return None

    def settled(
        self, job: GradingJob, fingerprint: str | None = None, damaged: list[str] | None = None
    ) -> JobResult | None:
        """The stored result if it settles ``job``: same fingerprint and a final status.

        Pass ``fingerprint`` when it is already computed (computing it hashes the files);
        ``damaged`` as for :meth:`get`.
        """
        entry = self.get(job, damaged)
        if entry is None or entry.status not in FINAL_STATUSES:
            return None
        return entry if entry.fingerprint == (fingerprint or job.fingerprint()) else None

    def exists(self, job: GradingJob) -> bool:
        """Whether any entry (of any status or fingerprint) is stored for ``job``."""
        return self.path_for(job.assignment, job.student_id, job.notebook).is_file()

    def entry_paths(self, assignment: str) -> list[Path]:
        """Every entry of an assignment, sorted by student then notebook."""
        _check_component("assignment", assignment)
        folder = self.root / assignment
        if not folder.is_dir():
            return []
        return sorted(
            path
            for path in folder.glob(f"*/*{SUFFIX}")
            if not path.name.startswith(".") and not path.parent.name.startswith(".")
        )

    def entries(self, assignment: str) -> Iterator[tuple[Path, JobResult | JournalError]]:
        """Each entry of an assignment with its result, or the error that refused it."""
        for path in self.entry_paths(assignment):
            try:
                yield path, self.read(path)
            except JournalError as error:
                yield path, error

    def remove_temporaries(self, assignment: str) -> int:
        """Delete temporary files a killed writer left behind; returns how many.

        Call only while no writer runs (the driver holds the workspace lock).
        """
        folder = self.root / assignment
        if not folder.is_dir():
            return 0
        stale = list(folder.glob(f"*/{TEMP_PREFIX}*"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)


def _check_component(what: str, name: str) -> None:
    """Refuse names that would escape or hide inside the journal folder."""
    try:
        checked_name(name, what)
    except ValueError as error:
        raise JournalError(f"{error} (it would be a journal path component)") from None
