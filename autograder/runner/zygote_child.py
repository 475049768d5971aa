"""What a forked zygote child does to become one job, then runs the job's entry.

In order: its own session; ``/dev/null`` as stdin and the driver's pipes as
stdout/stderr; every other descriptor closed (above all the zygote's control
socket); signal handlers and mask reset; its own IPC, network and mount namespaces
with a fresh ``/dev/shm`` and ``/dev/mqueue`` (where the zygote can); the job's hard
rlimits; no new privileges; the job's own uid and gid with no supplementary groups
(setuid away from root empties the permitted and effective capabilities, and the
inheritable set is cleared here); a parent-death signal; the job's work dir as cwd, HOME and TMPDIR
parent; fresh seeds for the global random generators. Only then is the entry
(``"module:function"``) called as ``entry(workdir, **kwargs)``; its int is the exit
status, and the process ends with :func:`os._exit` whatever happens.

Runs inside the sandbox as part of the zygote: standard library and the supervisor only
(plus whatever modules the zygote preloaded, reached through ``sys.modules``).
"""

from __future__ import annotations

import ctypes
import importlib
import os
import resource
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

from autograder.runner.contract import TMP_DIRNAME
from autograder.runner.supervisor import (
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    THREAD_VARIABLES,
    apply_rlimits,
    become,
    exit_after,
    prctl,
    private_namespaces,
)

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

SETUP_FAILED = 125
"""Exit status of a child that could not become the job (it never ran the entry)."""

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _clear_capabilities() -> None:
    """Empty every capability set capset(2) controls.

    setuid() away from root already empties the permitted and effective sets, but
    not the inheritable one, which bubblewrap fills with the zygote's kept caps.
    Lowering needs no privilege.
    """
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _resolve(entry: str) -> Callable[..., Any]:
    """The function named ``"package.module:function"``."""
    module_name, _, attribute = entry.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def _reseed() -> None:
    """Fresh OS entropy for every global generator the zygote has loaded.

    A fresh process seeds ``random``, numpy's and (in this torch) torch's global
    generators from OS entropy; forked children would all share the zygote's state.
    ``random`` reseeds itself after fork; the other two are reseeded here, and only if
    loaded (importing them here would cost time).
    """
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None and hasattr(numpy_random, "seed"):
        numpy_random.seed()
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "seed"):
        torch.seed()


def _become_job(request: dict[str, Any], fds: list[int], zygote_pid: int) -> None:
    """Everything between fork and the entry call; raises if any step fails."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    # The control socket, other jobs' pipes, the selector: none may reach the job.
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    if request.get("private_ipc"):  # the zygote proved it can: failing now is fatal
        private_namespaces(int(request.get("tmpfs_bytes", 2**20)))
    apply_rlimits(request["rlimits"])
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    become(int(request["uid"]), int(request["uid"]))
    _clear_capabilities()
    # Set after setuid, which clears it; the getppid check closes the race with a
    # zygote that died before prctl.
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != zygote_pid:
        raise RuntimeError("the zygote is gone")
    workdir = str(request["workdir"])
    os.chdir(workdir)
    os.environ["HOME"] = workdir
    os.environ["TMPDIR"] = os.path.join(workdir, TMP_DIRNAME)
    tempfile.tempdir = None  # cached by the zygote's imports; recompute from TMPDIR
    threads = str(int(request.get("threads", 1)))
    for name in THREAD_VARIABLES:
        os.environ[name] = threads
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(int(threads))
    _reseed()


def run_child(request: dict[str, Any], fds: list[int], zygote_pid: int) -> NoReturn:
    """Become the job and call its entry; never returns into the zygote's loop."""
    try:
        _become_job(request, fds, zygote_pid)
    except BaseException:
        with suppress(OSError):
            os.write(2, f"zygote: job setup failed:\n{traceback.format_exc()}".encode())
        os._exit(SETUP_FAILED)

    def call_entry() -> object:  # inside exit_after: nothing may raise into the zygote's loop
        entry = _resolve(str(request["entry"]))
        return entry(Path(str(request["workdir"])), **request.get("kwargs", {}))

    exit_after(call_entry)
