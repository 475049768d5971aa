"""Attacks through IPC: one job leaves objects for another, a later or a concurrent one.

``ipc-drop`` creates one object of every kind a job can share without a file in its work
dir (System V shared memory, semaphores and message queues, a POSIX message queue, a file
in ``/dev/shm``, a socket in the abstract namespace), all named after the corpus run, and
keeps them alive for a while before leaving them behind. ``ipc-look`` (twice, so one runs
beside the dropper and one after it on two workers) polls for them and, for each it can
see, writes ``IPC-SEEN <marker> <kind>`` to its stderr, which the audit finds in the
journal (``ipc_shared``). Both attacks score the honest-but-wrong base.
"""

from __future__ import annotations

from corpus.cellcode import hostile
from corpus.draft import Attack, AttackClass

_IPC_TOOLS = """
import ctypes as _ct, socket as _sk
_libc = _ct.CDLL(None, use_errno=True)
_NAME = "corpus-" + _MARK
def _mq(flags):
    try:
        _rt = _ct.CDLL("librt.so.1", use_errno=True)
    except OSError:
        return -1
    _attr = (_ct.c_long * 8)(0, 4, 64, 0)
    return _rt.mq_open(("/" + _NAME).encode(), flags, 0o666, _attr)
"""

DROP = (
    _IPC_TOOLS
    + """
_made = [_libc.shmget(0, 4096, 0o1666), _libc.semget(0, 1, 0o1666), _libc.msgget(0, 0o1666)]
_made.append(_mq(_os.O_CREAT | _os.O_RDWR))
try:
    with open("/dev/shm/" + _NAME, "w") as _handle:
        _handle.write(_MARK)
    _os.chmod("/dev/shm/" + _NAME, 0o666)
except OSError as _e:
    print("no /dev/shm file:", type(_e).__name__)
_listener = _sk.socket(_sk.AF_UNIX, _sk.SOCK_STREAM)
_listener.bind("\\0" + _NAME)
_listener.listen(4)
print("ipc objects made:", _made)
_time.sleep(8)  # long enough for a job on the other worker to look meanwhile
"""
)

LOOK = (
    _IPC_TOOLS
    + """
_seen = set()
_until = _time.monotonic() + 10
while _time.monotonic() < _until and len(_seen) < 6:
    for _kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{_kind}") as _handle:
                if len(_handle.read().splitlines()) > 1:
                    _seen.add(_kind)
        except OSError:
            pass
    if _mq(_os.O_RDONLY) >= 0:
        _seen.add("mqueue")
    if _os.path.exists("/dev/shm/" + _NAME):
        _seen.add("dev_shm")
    _probe = _sk.socket(_sk.AF_UNIX, _sk.SOCK_STREAM)
    try:
        _probe.connect("\\0" + _NAME)
        _seen.add("abstract_socket")
    except OSError:
        pass
    finally:
        _probe.close()
    _time.sleep(0.5)
for _kind in sorted(_seen):
    _os.write(2, f"IPC-SEEN {_MARK} {_kind}\\n".encode())
"""
)


def ipc_attacks() -> list[Attack]:
    """The dropper and two lookers (a concurrent and a later one, on two workers)."""
    c = AttackClass
    return [
        Attack("ipc-drop", c.IPC, "leave IPC objects of every kind for others", hostile(DROP)),
        Attack("ipc-look", c.IPC, "look for another job's IPC objects", hostile(LOOK)),
        Attack("ipc-look-late", c.IPC, "look again, after the dropper", hostile(LOOK)),
    ]
