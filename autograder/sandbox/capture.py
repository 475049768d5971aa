"""A byte-capped buffer for one output stream of a sandboxed job."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Capture:
    """One output stream, kept up to ``cap`` bytes; the rest is read and dropped.

    The caller keeps draining the pipe past the cap, so a job that prints without end
    neither blocks on a full pipe nor grows the grader's memory.
    """

    cap: int
    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.truncated = True
        self.data += chunk[: max(room, 0)]

    def read_from(self, fd: int) -> bool:
        """Read one chunk of the pipe ``fd`` into the buffer; False at end of file."""
        chunk = os.read(fd, 65536)
        self.add(chunk)
        return bool(chunk)
