"""Isolation layers: which ones this machine offers, and the report of which ones a run had.

Isolation is layered so that losing one layer (no bubblewrap on a laptop, a
driver that is not root) degrades protection without disabling grading. The
rule is that every layer is always *reported*: active, or missing with why.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from autograder.sandbox.bwrap import BwrapSpec, build_bwrap_argv


class Layer(str, Enum):
    """One independent isolation mechanism."""

    PROCESS_GROUP = "process_group"
    RLIMITS = "rlimits"
    WALL_CLOCK_KILL = "wall_clock_kill"
    BYTE_CAPS = "byte_caps"
    SCRUBBED_ENV = "scrubbed_env"
    ISOLATED_INTERPRETER = "isolated_interpreter"
    SUBREAPER = "subreaper"
    UNPRIVILEGED_UID = "unprivileged_uid"
    BUBBLEWRAP = "bubblewrap"
    NO_NETWORK = "no_network"
    READONLY_FS = "readonly_fs"
    PID_NAMESPACE = "pid_namespace"
    PRIVATE_IPC = "private_ipc"
    JOB_MEMORY = "job_memory"


BWRAP_LAYERS: tuple[Layer, ...] = (
    Layer.BUBBLEWRAP,
    Layer.NO_NETWORK,
    Layer.READONLY_FS,
    Layer.PID_NAMESPACE,
)
"""Layers that exist only when the job runs under bubblewrap."""

ALWAYS_ON: dict[Layer, str] = {
    Layer.PROCESS_GROUP: "own session and process group",
    Layer.RLIMITS: "cpu, address space, nproc, files, file size, core",
    Layer.WALL_CLOCK_KILL: "SIGKILL to the whole tree at the deadline",
    Layer.BYTE_CAPS: "stdout/stderr kept up to a cap, rest drained",
    Layer.SCRUBBED_ENV: "empty environment plus an allow-list",
}
"""Layers every box always provides, with how (a box may say it in its own words)."""


@dataclass(frozen=True)
class LayerStatus:
    """Whether one layer is active; ``detail`` says why not, or how it is provided."""

    active: bool
    detail: str = ""


@dataclass(frozen=True)
class IsolationReport:
    """The status of every layer.

    Constructing one with a layer left out, or a missing layer without a
    reason, is an error: a layer is never silently skipped.
    """

    layers: Mapping[Layer, LayerStatus]

    def __post_init__(self) -> None:
        absent = [layer.value for layer in Layer if layer not in self.layers]
        if absent:
            raise ValueError(f"isolation report is silent about: {', '.join(absent)}")
        unexplained = [
            layer.value for layer, s in self.layers.items() if not (s.active or s.detail)
        ]
        if unexplained:
            raise ValueError(f"missing layers need a reason: {', '.join(unexplained)}")

    def is_active(self, layer: Layer) -> bool:
        """Whether ``layer`` was active."""
        return self.layers[layer].active

    @property
    def active(self) -> tuple[Layer, ...]:
        """The active layers, in declaration order."""
        return tuple(layer for layer in Layer if self.layers[layer].active)

    @property
    def missing(self) -> dict[Layer, str]:
        """Each missing layer with the reason it is missing."""
        return {layer: self.layers[layer].detail for layer in Layer if not self.is_active(layer)}

    def replace(self, changes: Mapping[Layer, LayerStatus]) -> IsolationReport:
        """A copy with some layers' statuses replaced."""
        return IsolationReport({**self.layers, **changes})

    def summary(self) -> str:
        """One line, e.g. ``active: rlimits, ...; missing: bubblewrap (not installed: ...)``."""
        active = ", ".join(layer.value for layer in self.active) or "none"
        missing = "; ".join(f"{layer.value} ({why})" for layer, why in self.missing.items())
        return f"active: {active}; missing: {missing or 'none'}"

    def to_dict(self) -> dict[str, dict[str, object]]:
        """A JSON-ready form for grading logs."""
        return {
            layer.value: {"active": status.active, "detail": status.detail}
            for layer, status in self.layers.items()
        }


INTERPRETER_PATHS: tuple[str, ...] = (sys.executable, sys.prefix, sys.base_prefix)
"""What a job's uid must reach to start this Python outside bubblewrap."""


# --- unprivileged identity -------------------------------------------------------------


def resolve_user(user: str | int | None) -> tuple[int, int] | None:
    """``(uid, gid)`` for a user name or a bare numeric uid (gid = uid); None for None.

    A numeric uid needs no passwd entry: giving each concurrent job its own uid
    makes RLIMIT_NPROC per job instead of shared by every job run as ``nobody``.
    """
    if user is None:
        return None
    if isinstance(user, int):
        return user, user
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _may(path: str, uid: int, gid: int, want: int) -> bool:
    """Whether mode bits grant ``want`` (an rwx bit mask) on ``path`` to uid/gid; ACLs ignored."""
    info = os.stat(path)
    if info.st_uid == uid:
        bits = info.st_mode >> 6
    elif info.st_gid == gid:
        bits = info.st_mode >> 3
    else:
        bits = info.st_mode
    return bits & want == want


def unreachable_path(paths: Sequence[Path | str], uid: int, gid: int) -> str | None:
    """The first of ``paths`` that ``uid`` cannot reach and read, with why; None if all fine.

    Outside bubblewrap the job sees the host filesystem, so dropping to another
    uid only works if that uid can traverse to the interpreter and the work dir.
    """
    for target in paths:
        real = Path(os.path.realpath(target))
        for parent in reversed(real.parents):
            if not _may(str(parent), uid, gid, 0o1):
                return f"uid {uid} cannot enter {parent} (needed for {target})"
        if not _may(str(real), uid, gid, 0o5):
            return f"uid {uid} cannot read {real}"
    return None


def job_identity(user: str | int | None) -> tuple[tuple[int, int] | None, str]:
    """The uid/gid to run the job as, or None with the reason it keeps the driver's uid."""
    if user is None:
        return None, "disabled by the caller (user=None)"
    if os.geteuid() != 0:
        return None, (
            f"driver runs as uid {os.geteuid()}, not root, so the job keeps that uid and "
            "can read the driver's files unless bubblewrap hides them"
        )
    try:
        identity = resolve_user(user)
    except KeyError:
        return None, f"no such user {user!r}"
    if identity is None or identity[0] == 0:
        return None, f"user {user!r} is root"
    return identity, f"job runs as uid {identity[0]}, gid {identity[1]}"


# --- interpreter ---------------------------------------------------------------------------


def uses_isolated_python(argv: Sequence[str]) -> bool:
    """Whether ``argv`` starts a Python interpreter with ``-I`` among its options."""
    if not argv or not os.path.basename(argv[0]).startswith("python"):
        return False
    args = iter(argv[1:])
    for arg in args:
        if not arg.startswith("-") or arg == "-":
            return False  # a script (or stdin): options have ended
        if arg.startswith("--"):
            continue
        for index, flag in enumerate(arg[1:], start=1):
            if flag == "I":
                return True
            if flag in "cm":
                return False  # the rest is the command or module name
            if flag in "WX":
                if index == len(arg) - 1:
                    next(args, None)  # the option's value is the next argument
                break
    return False


# --- bubblewrap ----------------------------------------------------------------------------


def find_bwrap(executable: str | None = None) -> str | None:
    """Path of the bwrap binary (``executable`` overrides the PATH lookup)."""
    if executable is not None:
        return executable if os.access(executable, os.X_OK) else None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=8)
def bwrap_failure(bwrap: str) -> str | None:
    """Start a trivial Python inside a real sandbox; None if it works, else why not.

    bwrap may be installed yet unusable (no user namespaces for a non-root
    driver, seccomp in a container), so only an actual start proves it.
    """
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as workdir:
        spec = BwrapSpec(workdir=Path(workdir), keep_setuid_caps=os.geteuid() == 0)
        argv = build_bwrap_argv(bwrap, spec, [sys.executable, "-I", "-c", "pass"])
        try:
            probe = subprocess.run(argv, capture_output=True, timeout=60, env={}, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap could not start: {exc}"
    if probe.returncode != 0:
        message = probe.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap fails here (exit {probe.returncode}): {message[-1] if message else ''}"
    return None


class SandboxUnavailable(RuntimeError):
    """A required isolation layer cannot be provided (e.g. ``use_bwrap=True`` without bwrap)."""


def choose_bwrap(
    use_bwrap: bool | None, executable: str | None = None, *, probe: bool = True
) -> tuple[str | None, str | None]:
    """``(bwrap path, None)`` when jobs are to run under bubblewrap, else ``(None, why not)``.

    ``use_bwrap``: True requires it (else :class:`SandboxUnavailable`), False disables
    it, None uses it when it works. ``probe``: prove it works by starting a sandbox;
    without, being installed is enough (the caller falls back if it fails to start).
    """
    if use_bwrap is False:
        return None, "disabled by the caller (use_bwrap=False)"
    bwrap = find_bwrap(executable)
    problem = "not installed: apt-get install bubblewrap" if bwrap is None else None
    if bwrap is not None and probe:
        problem = bwrap_failure(bwrap)
    if problem is not None and use_bwrap:
        raise SandboxUnavailable(f"bubblewrap required but {problem}")
    return (None, problem) if problem else (bwrap, None)


def bwrap_unavailable(executable: str | None = None) -> str | None:
    """None when bubblewrap is usable, else the reason it is not."""
    return choose_bwrap(None, executable)[1]


def detect_layers(
    *, user: str | int | None = "nobody", bwrap: str | None = None
) -> IsolationReport:
    """Which layers a job run on this machine can have, with reasons for missing ones.

    The interpreter layer assumes the caller starts Python with ``-I``; the
    report of an actual run checks its real argv.
    """
    identity, why = job_identity(user)
    if identity is not None:
        reachable = unreachable_path(INTERPRETER_PATHS, *identity)
        if reachable is not None:
            why += f"; only under bubblewrap, since {reachable}"
    bwrap_problem = bwrap_unavailable(bwrap)
    ipc_why = "bubblewrap's namespaces and /dev/shm, per job"
    if bwrap_problem is not None:
        ipc_why = "launcher unshares them per job" if os.geteuid() == 0 else "needs root"
    return layer_report(
        isolated=LayerStatus(True, "when the job is started as python -I"),
        subreaper=LayerStatus(True, "launcher adopts orphans and kills them at exit"),
        uid=LayerStatus(identity is not None, why),
        bwrap_problem=bwrap_problem,
        private_ipc=LayerStatus(bwrap_problem is None or os.geteuid() == 0, ipc_why),
        job_memory=LayerStatus(True, "launcher sums the job's memory and kills it past the cap"),
    )


def layer_report(
    *,
    isolated: LayerStatus,
    subreaper: LayerStatus,
    uid: LayerStatus,
    bwrap_problem: str | None,
    private_ipc: LayerStatus,
    job_memory: LayerStatus,
    bwrap_detail: str = "via bubblewrap",
    details: Mapping[Layer, str] | None = None,
) -> IsolationReport:
    """The one way every box reports its layers: the :data:`ALWAYS_ON` ones (``details``
    replacing how a box provides one), the interpreter, the subreaper, the uid, the
    bubblewrap layers (active unless ``bwrap_problem`` says why not), the job's private
    IPC (System V, POSIX mqueues, ``/dev/shm``, abstract sockets) and the bound on the
    memory of all its processes together."""
    layers = {
        layer: LayerStatus(True, (details or {}).get(layer, how))
        for layer, how in ALWAYS_ON.items()
    }
    layers[Layer.ISOLATED_INTERPRETER] = isolated
    layers[Layer.SUBREAPER] = subreaper
    layers[Layer.UNPRIVILEGED_UID] = uid
    layers[Layer.PRIVATE_IPC] = private_ipc
    layers[Layer.JOB_MEMORY] = job_memory
    for layer in BWRAP_LAYERS:
        layers[layer] = LayerStatus(bwrap_problem is None, bwrap_problem or bwrap_detail)
    if private_ipc.active and bwrap_problem is not None:  # its namespaces include the network
        layers[Layer.NO_NETWORK] = LayerStatus(True, "the job's own network namespace")
    return IsolationReport(layers)
