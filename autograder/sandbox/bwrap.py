"""Building the bubblewrap (``bwrap``) command line for one job.

The sandbox root is an empty tmpfs. Only what the job needs is bound into it:
the system directories that run Python, the interpreter and its venv, the
caller's read-only and writable paths, and the private work dir. The host's
``/`` is never bound, so the source notebooks, other students' work and the
gradebook are simply absent unless a caller passes them in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

WORKDIR_MOUNT = "/home/sandbox"
"""Where the job sees its work dir (also its HOME and cwd).

Not ``/work``: a driver checked out under ``/work`` (as here) binds its venv
there, and the two mounts would shadow each other.
"""

SYSTEM_DIRS: tuple[str, ...] = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Top-level system directories: bound read-only, or recreated as the symlinks they are."""

ETC_FILES: tuple[str, ...] = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/localtime",
)
"""The few pieces of ``/etc`` that the dynamic loader, libc and Python look up."""

# The job's uid must be able to traverse the directories bwrap creates on the
# way to a mount point; bwrap itself makes them 0700.
_DIR_MODE = "0755"


def interpreter_roots() -> tuple[Path, ...]:
    """The directories holding the running interpreter: its venv and the base install.

    On this project's machines the venv's ``python`` is a symlink into a pyenv
    tree under ``/root``, so ``sys.base_prefix`` must be bound as well as ``sys.prefix``.
    """
    real_prefix = Path(os.path.realpath(sys.executable)).parent.parent
    roots = dict.fromkeys(Path(p) for p in (sys.prefix, sys.base_prefix, real_prefix))
    return tuple(root for root in roots if not _is_within(root, Path("/usr")))


@dataclass(frozen=True)
class BwrapSpec:
    """Everything that shapes the sandbox's filesystem view."""

    workdir: Path
    """Host directory bound read-write at ``workdir_mount``; the job's cwd and HOME."""

    workdir_mount: str = WORKDIR_MOUNT
    """Path of the work dir inside the sandbox."""

    read_only_paths: tuple[Path, ...] = ()
    """Host paths bound read-only at the same path inside."""

    writable_paths: tuple[Path, ...] = ()
    """Host paths bound read-write at the same path inside."""

    interpreter_paths: tuple[Path, ...] = field(default_factory=interpreter_roots)
    """Interpreter trees bound read-only at the same path inside."""

    files: tuple[tuple[Path, str], ...] = ()
    """Extra host files bound read-only at a chosen path inside (e.g. the reaper script)."""

    tmpfs_bytes: int = 256 * 2**20
    """Size cap of the private /tmp and /dev/shm (RAM-backed)."""

    keep_setuid_caps: bool = False
    """Root driver: keep only CAP_SETUID/SETGID/KILL so the reaper can drop to the job uid."""

    devices: tuple[str, ...] = ()
    """Host device nodes bound into the sandbox's minimal ``/dev`` (a GPU job's
    :func:`gpu_device_nodes`); a node that vanished is skipped (``--dev-bind-try``)."""

    keep_admin_cap: bool = False
    """With ``keep_setuid_caps``, also CAP_SYS_ADMIN: the warm box's zygote gives each
    child its own namespaces and mounts (the children drop every capability)."""


@dataclass(frozen=True)
class _Mount:
    """One bwrap filesystem operation; ``kind`` is the bwrap flag without dashes."""

    kind: str
    dst: str
    src: str = ""

    @property
    def depth(self) -> int:
        return len(PurePosixPath(self.dst).parts)

    def args(self, tmpfs_bytes: int) -> list[str]:
        if self.kind in ("ro-bind", "ro-bind-try", "bind", "symlink", "dev-bind-try"):
            return [f"--{self.kind}", self.src, self.dst]
        if self.kind == "tmpfs":
            # /dev/shm as on any Linux (sticky, world-writable): the job's uid may use it.
            perms = ["--perms", "1777"] if self.dst == "/dev/shm" else []
            return [*perms, "--size", str(tmpfs_bytes), "--tmpfs", self.dst]
        if self.kind == "dir":
            return ["--perms", _DIR_MODE, "--dir", self.dst]
        return [f"--{self.kind}", self.dst]  # proc, dev


def _is_within(path: Path | PurePosixPath, root: Path | PurePosixPath) -> bool:
    """Whether ``path`` is ``root`` or lies below it (purely lexical)."""
    return path == root or root in path.parents


def _system_mounts() -> list[_Mount]:
    mounts: list[_Mount] = []
    for name in SYSTEM_DIRS:
        host = Path(name)
        if host.is_symlink():
            mounts.append(_Mount("symlink", name, os.readlink(host)))
        elif host.is_dir():
            mounts.append(_Mount("ro-bind", name, name))
    mounts += [_Mount("ro-bind-try", name, name) for name in ETC_FILES]
    mounts += [_Mount("proc", "/proc"), _Mount("dev", "/dev")]
    mounts += [_Mount("tmpfs", "/tmp"), _Mount("tmpfs", "/dev/shm")]
    return mounts


def _caller_mounts(spec: BwrapSpec) -> list[_Mount]:
    """The interpreter, caller paths, extra files and work dir, validated."""
    inside_workdir = PurePosixPath(spec.workdir_mount)
    mounts: list[_Mount] = []
    chosen: dict[str, str] = {}
    binds = [("ro-bind", p, str(p)) for p in (*spec.interpreter_paths, *spec.read_only_paths)]
    binds += [("bind", p, str(p)) for p in spec.writable_paths]
    binds += [("ro-bind", p, dst) for p, dst in spec.files]
    for kind, src, dst in binds:
        src_path = Path(src).absolute()
        if src_path == Path("/"):
            raise ValueError("refusing to bind the host's / into the sandbox")
        if not src_path.exists():
            raise ValueError(f"sandbox path does not exist: {src_path}")
        dst_path = PurePosixPath(os.path.normpath(dst))
        if _is_within(dst_path, inside_workdir) or _is_within(inside_workdir, dst_path):
            raise ValueError(f"{dst_path} overlaps the sandbox work dir {inside_workdir}")
        if chosen.get(str(dst_path), kind) != kind:
            raise ValueError(f"{dst_path} is requested both read-only and writable")
        if str(dst_path) not in chosen:
            chosen[str(dst_path)] = kind
            mounts.append(_Mount(kind, str(dst_path), str(src_path)))
    mounts.append(_Mount("bind", str(inside_workdir), str(Path(spec.workdir).absolute())))
    for node in spec.devices:
        if not _is_within(PurePosixPath(node), PurePosixPath("/dev")) or node == "/dev":
            raise ValueError(f"device node {node!r} is not a file under /dev")
        mounts.append(_Mount("dev-bind-try", node, node))
    return mounts


def gpu_device_nodes(dev: Path = Path("/dev")) -> tuple[str, ...]:
    """The NVIDIA device nodes of this host (``nvidiactl``, ``nvidia0``..., ``nvidia-uvm``),
    which CUDA opens; none on a machine without an NVIDIA driver."""
    return tuple(sorted(str(path) for path in dev.glob("nvidia*") if not path.is_dir()))


def _with_parent_dirs(mounts: list[_Mount]) -> list[_Mount]:
    """Add world-traversable ``--dir`` operations for the parents bwrap would create.

    A parent that lies inside a bound host tree already exists (and creating it
    in a writable bind would touch the host), so only parents on tmpfs — the
    sandbox root, /tmp, /dev — are created.
    """
    by_dst = {m.dst: m for m in mounts}
    extra: dict[str, _Mount] = {}
    for mount in mounts:
        for parent in PurePosixPath(mount.dst).parents:
            if parent == PurePosixPath("/") or str(parent) in by_dst:
                continue
            enclosing = [m for m in mounts if _is_within(parent, PurePosixPath(m.dst))]
            owner = max(enclosing, key=lambda m: m.depth, default=None)
            if owner is None or owner.kind in ("tmpfs", "dev"):
                extra.setdefault(str(parent), _Mount("dir", str(parent)))
    return [*extra.values(), *mounts]


def build_bwrap_argv(bwrap: str, spec: BwrapSpec, command: Sequence[str]) -> list[str]:
    """The full ``bwrap ... -- command`` argv for one job.

    Mounts are emitted shallowest first, so a nested bind (say a notebook dir
    under /tmp) lands on top of its parent mount instead of being hidden by it.
    """
    argv = [
        bwrap,
        # Every namespace but the user one: as root, a user namespace would map
        # the job's uid away and stop the reaper from dropping privileges.
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        # A new session stops the job injecting keystrokes into a terminal (TIOCSTI).
        "--new-session",
    ]
    if spec.keep_setuid_caps:
        argv += ["--cap-drop", "ALL"]
        admin = ("CAP_SYS_ADMIN",) if spec.keep_admin_cap else ()
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", *admin):
            argv += ["--cap-add", cap]
    mounts = _with_parent_dirs([*_system_mounts(), *_caller_mounts(spec)])
    # sorted() is stable: same-depth mounts keep their (meaningful) order.
    for mount in sorted(mounts, key=lambda m: m.depth):
        argv += mount.args(spec.tmpfs_bytes)
    argv += ["--chdir", spec.workdir_mount, "--", *command]
    return argv
