"""Entry functions for the warm-box tests; copied into the test's student runtime.

Each runs *inside* a forked zygote child as ``entry(workdir, cell_timeout=...)``,
under the job's uid, and returns its exit status. They import only the standard
library at the top (so a zygote that preloads this module needs no file access for
them) and reach numpy or torch through ``sys.modules``, which the zygote preloaded.
Jobs that coordinate with each other or with the test read the path of a shared
"witness" directory from ``witness.txt`` in their work dir.
"""

from __future__ import annotations

import ctypes

# getaddrinfo() imports this codec lazily; a plain-mode job's uid cannot read the
# interpreter's files on a machine whose venv lives under /root, so load it here.
import encodings.idna  # noqa: F401
import json
import os
import random
import signal
import socket
import sys
import time
from pathlib import Path

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
_libc = ctypes.CDLL(None, use_errno=True)


def _witness() -> Path:
    return Path(Path("witness.txt").read_text().strip())


def _wait_for(path: Path, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def hello(workdir: Path, cell_timeout: float) -> int:
    """A well-behaved job: both streams, a report, an output file."""
    print("hello from", workdir.name)
    print("careful", file=sys.stderr)
    (workdir / "results.json").write_text(json.dumps({"cells": [], "timeout": cell_timeout}))
    (workdir / "outputs").mkdir(exist_ok=True)
    (workdir / "outputs" / "case.txt").write_text("recorded")
    return 0


def exit_3(workdir: Path, cell_timeout: float) -> int:
    sys.exit(3)


def identity(workdir: Path, cell_timeout: float) -> int:
    """Print who and where the job is, as JSON."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    report = {
        "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
        "groups": os.getgroups(),
        "own_session": os.getsid(0) == os.getpid(),
        "cwd": os.getcwd(),
        "workdir": str(workdir),
        "workdir_mode": oct(os.stat(".").st_mode & 0o777),
        "env": dict(os.environ),
        "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")},
        "no_new_privs": status["NoNewPrivs"].strip(),
        "fds": sorted(os.listdir("/proc/self/fd")),
        "stdin": sys.stdin.read(),
        "preloaded": {name: name in sys.modules for name in ("numpy", "torch", "IPython")},
        "nproc": list(__import__("resource").getrlimit(__import__("resource").RLIMIT_NPROC)),
    }
    print(json.dumps(report))
    return 0


def interval(workdir: Path, cell_timeout: float) -> int:
    """Sleep a second and report (uid, start, end) wall-clock times."""
    start = time.time()
    time.sleep(1.0)
    print(json.dumps([os.getuid(), start, time.time()]))
    return 0


def patch_numpy(workdir: Path, cell_timeout: float) -> int:
    """Monkeypatch the preloaded numpy and show the patch took effect here."""
    numpy = sys.modules["numpy"]
    numpy.sum = lambda *args, **kwargs: 42
    numpy.patched_by_a_job = True
    print(numpy.sum([1, 2]))
    return 0


def check_numpy(workdir: Path, cell_timeout: float) -> int:
    numpy = sys.modules["numpy"]
    print(json.dumps([int(numpy.sum([1, 2])), hasattr(numpy, "patched_by_a_job")]))
    return 0


def draws(workdir: Path, cell_timeout: float) -> int:
    """One draw from each global generator."""
    numpy = sys.modules["numpy"]
    torch = sys.modules.get("torch")
    values = [random.random(), float(numpy.random.random())]
    if torch is not None:
        values.append(float(torch.rand(1)[0]))
    print(json.dumps(values))
    return 0


def spin(workdir: Path, cell_timeout: float) -> int:
    """Ignore every catchable signal and loop forever."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    print("spinning", flush=True)
    while True:
        pass


def fork_bomb(workdir: Path, cell_timeout: float) -> int:
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.05)


def daemon(workdir: Path, cell_timeout: float) -> int:
    """Leave a setsid'ed, double-forked daemon behind that writes a marker later."""
    witness = _witness()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            (witness / "daemon-started").write_text(str(os.getpid()))
            time.sleep(1.0)
            (witness / "daemon-survived").write_text("alive")
        os._exit(0)
    _wait_for(witness / "daemon-started")
    print("parent exits")
    return 0


def memory_bomb(workdir: Path, cell_timeout: float) -> int:
    blocks = []
    try:
        while True:
            blocks.append(bytearray(64 * 2**20))
    except MemoryError:
        print("MemoryError after", len(blocks), "blocks")
        return 7


def print_20mb(workdir: Path, cell_timeout: float) -> int:
    sys.stdout.write("x" * 20_000_000)
    sys.stdout.flush()
    print("done", file=sys.stderr)
    return 0


def connect(workdir: Path, cell_timeout: float) -> int:
    """Try the TCP port named in port.txt on the loopback."""
    port = int(Path("port.txt").read_text())
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        print("connected")
    except OSError as exc:
        print("blocked", type(exc).__name__)
    return 0


def segfault(workdir: Path, cell_timeout: float) -> int:
    ctypes.string_at(0)
    return 0


def sleep_long(workdir: Path, cell_timeout: float) -> int:
    """Announce the start in the witness dir, then sleep far past any test."""
    (_witness() / "sleeper-started").write_text(str(os.getpid()))
    time.sleep(120)
    return 0


def hold_secret(workdir: Path, cell_timeout: float) -> int:
    """Keep a world-readable secret in the work dir until the snooper is done."""
    witness = _witness()
    Path("secret.txt").write_text("answers")
    os.chmod("secret.txt", 0o644)
    holder = {"dir": os.getcwd(), "pid": os.getpid(), "uid": os.getuid()}
    (witness / "holder.json").write_text(json.dumps(holder))
    return 0 if _wait_for(witness / "snooped") else 1


def snoop(workdir: Path, cell_timeout: float) -> int:
    """Try to list, read and signal the concurrent holder job."""
    witness = _witness()
    _wait_for(witness / "holder.json")
    holder = json.loads((witness / "holder.json").read_text())
    seen: dict[str, object] = {"holder_uid": holder["uid"], "my_uid": os.getuid()}
    attempts = {
        "list": lambda: os.listdir(holder["dir"]),
        "read": lambda: Path(holder["dir"], "secret.txt").read_text(),
        "signal": lambda: os.kill(holder["pid"], signal.SIGKILL),
    }
    for name, attempt in attempts.items():
        try:
            seen[name] = repr(attempt())
        except OSError as exc:
            seen[name] = type(exc).__name__
    (witness / "snooped").write_text("done")
    print(json.dumps(seen))
    return 0


def attack_zygote(workdir: Path, cell_timeout: float) -> int:
    """Try to kill the zygote (our parent) and the namespace's init."""
    seen = {}
    for name, pid in (("parent", os.getppid()), ("init", 1)):
        try:
            os.kill(pid, signal.SIGKILL)
            seen[name] = "killed"
        except OSError as exc:
            seen[name] = type(exc).__name__
    print(json.dumps(seen))
    return 0


def make_shm(workdir: Path, cell_timeout: float) -> int:
    """Create a System V shared memory segment and leave it behind."""
    ident = _libc.shmget(IPC_PRIVATE, 2**20, IPC_CREAT | 0o666)
    print(ident)
    return 0 if ident >= 0 else 1


def list_shm(workdir: Path, cell_timeout: float) -> int:
    rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    print(json.dumps([int(row.split()[1]) for row in rows]))
    return 0


def tricky_outputs(workdir: Path, cell_timeout: float) -> int:
    """Outputs holding links and a fifo next to real files; results.json is a link."""
    outputs = workdir / "outputs"
    (outputs / "deeper").mkdir(parents=True)
    (outputs / "real.txt").write_text("kept")
    (outputs / "deeper" / "nested.txt").write_text("kept too")
    (outputs / "passwd").symlink_to("/etc/passwd")
    (outputs / "up").symlink_to("..")
    os.mkfifo(outputs / "pipe")
    (workdir / "results.json").symlink_to("/etc/passwd")
    return 0


IPC_NAME = "dlcourse-ipc-probe"
"""The name every IPC probe object carries (POSIX mqueue, /dev/shm file, abstract socket)."""


def _mq(flags: int) -> int:
    """mq_open(3) through ctypes (Python has no binding); the descriptor, or -errno."""
    librt = ctypes.CDLL("librt.so.1", use_errno=True)
    librt.mq_open.restype = ctypes.c_int
    attr = (ctypes.c_long * 8)(0, 4, 64, 0)  # flags, maxmsg, msgsize, curmsgs
    fd = librt.mq_open(f"/{IPC_NAME}".encode(), flags, 0o666, attr)
    return fd if fd >= 0 else -ctypes.get_errno()


def make_ipc(workdir: Path, cell_timeout: float) -> int:
    """Create one IPC object of every kind; with a witness, hold them until told to stop."""
    made = {
        "shm": _libc.shmget(IPC_PRIVATE, 2**16, IPC_CREAT | 0o666),
        "sem": _libc.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666),
        "msg": _libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o666),
        "mqueue": _mq(os.O_CREAT | os.O_RDWR),
    }
    Path("/dev/shm", IPC_NAME).write_text("left behind")
    os.chmod(f"/dev/shm/{IPC_NAME}", 0o666)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"\0{IPC_NAME}")
    listener.listen(1)
    print(json.dumps(made))
    witness = Path("witness.txt")
    if witness.exists():  # the concurrent variant: keep everything alive meanwhile
        shared = Path(witness.read_text())
        (shared / "made").write_text("ready")
        _wait_for(shared / "looked")
    return 0 if min(made.values()) >= 0 else 1


def find_ipc(workdir: Path, cell_timeout: float) -> int:
    """Print which IPC objects of another job this one can see or open."""
    witness = Path("witness.txt")
    if witness.exists():
        shared = Path(witness.read_text())
        _wait_for(shared / "made")
    seen = {
        kind: len(Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:])
        for kind in ("shm", "sem", "msg")
    }
    seen["mqueue"] = _mq(os.O_RDONLY) >= 0
    seen["dev_shm"] = sorted(os.listdir("/dev/shm"))
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(f"\0{IPC_NAME}")
        seen["abstract"] = True
    except OSError:
        seen["abstract"] = False
    if witness.exists():
        (shared / "looked").write_text("done")
    print(json.dumps(seen))
    return 0


def memory_team(workdir: Path, cell_timeout: float) -> int:
    """Four processes of 160 MiB each: every one under RLIMIT_AS, together over a job cap."""
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            hold = bytearray(160 * 2**20)
            hold[::4096] = b"x" * len(hold[::4096])  # touch every page: resident
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    hold = bytearray(160 * 2**20)
    hold[::4096] = b"x" * len(hold[::4096])
    time.sleep(60)
    print("never stopped")
    return 0
