"""Typed resource limits for one sandboxed grading job.

The defaults suit grading one notebook that imports torch on a CPU runner: a
torch import peaks near 0.7 GiB of address space, so 4 GiB leaves room for the
student's tensors while stopping a runaway allocation long before the machine
starts swapping.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

_MIB = 2**20
_GIB = 2**30


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every process of one job.

    Per-process limits become ``setrlimit`` hard limits in the job before it
    execs, so the job cannot raise them again. Stream caps and deadlines are
    enforced by the runner and the reaper, outside the job's reach.
    """

    cpu_seconds: int = 120
    """CPU time per process (RLIMIT_CPU). SIGXCPU at the limit, SIGKILL 5 s later."""

    memory_bytes: int = 4 * _GIB
    """Virtual address space per process (RLIMIT_AS); an allocation past it raises MemoryError."""

    job_memory_bytes: int = 4 * _GIB
    """Private resident memory of all the job's processes together; past it the job is
    killed (``ended_by="memory_limit"``). RLIMIT_AS bounds each process only."""

    max_processes: int = 256
    """Processes/threads of the job (RLIMIT_NPROC, plus the reaper's count watchdog).

    The kernel counts RLIMIT_NPROC per *real uid*, system wide, and does not
    enforce it for root. So the sandbox drops a root driver to an unprivileged
    uid (where NPROC then holds, shared by every job running as that uid), and
    whenever the job still runs as uid 0 the reaper counts the job's processes
    itself and kills the whole tree once the count exceeds this value. To make
    the count per job when jobs run in parallel, give each its own numeric uid
    (``run_sandboxed(user=...)``; no passwd entry is needed).
    """

    max_open_files: int = 256
    """Open file descriptors per process (RLIMIT_NOFILE)."""

    max_file_size: int = 64 * _MIB
    """Largest file a process may write (RLIMIT_FSIZE); writes past it fail with EFBIG."""

    stdout_bytes: int = 1_000_000
    """Bytes of stdout kept; the rest is read and discarded, and the result is marked truncated."""

    stderr_bytes: int = 1_000_000
    """Bytes of stderr kept; the rest is read and discarded, and the result is marked truncated."""

    wall_seconds: float = 300.0
    """Wall-clock deadline for the whole job; at the deadline every process of it gets SIGKILL."""

    tmpfs_bytes: int = 256 * _MIB
    """Size of the private RAM-backed /tmp and /dev/shm under bubblewrap."""

    threads: int = 1
    """Value for OMP/MKL/OPENBLAS/NUMEXPR_NUM_THREADS, so parallel jobs don't oversubscribe CPUs."""

    kill_grace_seconds: float = 5.0
    """How long past the deadline the runner trusts the reaper before killing the tree itself."""

    gpu: bool = False
    """The job may use the host's NVIDIA GPUs (a ``needs_gpu`` notebook on a GPU runner):
    bubblewrap binds their device nodes (:func:`~autograder.sandbox.bwrap.gpu_device_nodes`)
    and RLIMIT_AS is left off, because CUDA reserves far more address space than it
    touches; ``job_memory_bytes`` still bounds the memory the job really uses."""

    def __post_init__(self) -> None:
        for name in (
            "cpu_seconds",
            "memory_bytes",
            "job_memory_bytes",
            "max_processes",
            "max_open_files",
            "max_file_size",
            "tmpfs_bytes",
            "threads",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("stdout_bytes", "stderr_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"Limits.{name} must not be negative, got {getattr(self, name)}")
        for name in ("wall_seconds", "kill_grace_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)}")

    def rlimits(self) -> list[tuple[str, int, int]]:
        """The ``(RLIMIT_NAME, soft, hard)`` triples the job process sets before exec.

        Names rather than numbers travel to the reaper, which looks them up in
        its own ``resource`` module.
        """
        # A soft CPU limit below the hard one lets a well-behaved job catch
        # SIGXCPU and report; the hard limit then kills it regardless.
        table = [
            ("RLIMIT_CPU", self.cpu_seconds, self.cpu_seconds + 5),
            ("RLIMIT_AS", self.memory_bytes, self.memory_bytes),
            ("RLIMIT_NPROC", self.max_processes, self.max_processes),
            ("RLIMIT_NOFILE", self.max_open_files, self.max_open_files),
            ("RLIMIT_FSIZE", self.max_file_size, self.max_file_size),
            # No core dumps: they would write memory-sized files into the work dir.
            ("RLIMIT_CORE", 0, 0),
        ]
        if self.gpu:
            table = [row for row in table if row[0] != "RLIMIT_AS"]
        return [row for row in table if hasattr(resource, row[0])]
