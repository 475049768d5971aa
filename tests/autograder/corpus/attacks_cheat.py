"""Attacks that try to cheat the comparison from inside the notebook.

Monkeypatching, importing the reference, IPython hooks, hidden errors, lying return
values and grading-mode detection. Every function stays wrong, so any point earned is an
inflation.
"""

from __future__ import annotations

from corpus.cellcode import FORGE_OUTPUTS, PATCH_CHECKS, PATCH_NUMPY, hostile
from corpus.draft import Attack, AttackClass

# --- monkeypatching the comparison --------------------------------------------------------


PATCH_CALLS = """
import dlcourse.checks.calls as _calls
import dlcourse.checks.record as _record
def _echo(fns, inputs):
    first = next(iter(inputs.values()))
    return {"out": first, "loss": np.asarray(0.0), "dscores": first, "dx": first}
for _name in list(_calls.CALLS):
    _calls.CALLS[_name] = _echo
_record.is_recording = lambda: False
"""

PATCH_BUILTINS = """
import builtins, math, operator
math.isclose = lambda *a, **k: True
operator.eq = lambda a, b: True
builtins.all = lambda *a, **k: True
builtins.abs = lambda x: 0
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
"""
# --- using the reference instead of one's own code ----------------------------------------

IMPORT_REFERENCE = """
try:
    from dlcourse.functional import activations as _ra, linear as _rl, losses as _rs
    from dlcourse import convarith as _rc
    for _mod in (_ra, _rl, _rs, _rc):
        for _n in dir(_mod):
            if _n in globals() and callable(getattr(_mod, _n)):
                globals()[_n] = getattr(_mod, _n)
    _exfiltrate("imported the reference library")
except Exception as _e:
    print("no reference:", type(_e).__name__)
"""

IMPORT_GRADER = """
try:
    from autograder.specs import load_specs as _load_specs
    _reg = _load_specs(_COURSE + "/source/mini/mini.specs.py")
    def relu_forward(x):
        return _reg["relu_forward_test"].reference({"x": x})["out"], x
    def conv_output_size(size, kernel, stride, pad):
        args = {"size": np.asarray(size), "kernel": np.asarray(kernel),
                "stride": np.asarray(stride), "pad": np.asarray(pad)}
        return _reg["conv_output_size_test"].reference(args)["out"]
    _exfiltrate("loaded the grader's specs")
except Exception as _e:
    print("no grader:", type(_e).__name__)
"""

IMPORT_SOURCE_FILE = """
import importlib.util as _ilu, glob as _glob
for _path in _glob.glob("/work/*/lib/dlcourse/functional/activations.py") + _glob.glob(
    "/**/dlcourse/functional/activations.py", recursive=False
):
    try:
        _spec = _ilu.spec_from_file_location("_stolen", _path)
        _mod = _ilu.module_from_spec(_spec)
        _spec.loader.exec_module(_mod)
        relu_forward = _mod.relu_forward
        _exfiltrate("loaded the reference source file " + _path)
        break
    except Exception as _e:
        print("cannot load", _path, type(_e).__name__)
"""
# --- IPython hooks --------------------------------------------------------------------------

TRANSFORM_TO_PASS = """
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
"""

AST_DROP_CHECKS = """
import ast as _ast
class _DropChecks(_ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, _ast.Name) and node.func.id in ("check", "check_hidden"):
            return _ast.Constant(None)
        return node
get_ipython().ast_transformers.append(_DropChecks())
"""


EVENTS_PRE = (
    FORGE_OUTPUTS
    + PATCH_NUMPY
    + """
get_ipython().events.register("pre_run_cell", lambda *a: _forge_outputs())
"""
)

EVENTS_POST = (
    FORGE_OUTPUTS
    + """
get_ipython().events.register("post_run_cell", lambda *a: _forge_outputs())
"""
)

OVERRIDE_RUN_CELL = """
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
_ip = get_ipython()
_real_run_cell = _ip.run_cell
def _fake_run_cell(raw_cell, *args, **kwargs):
    if "check" in raw_cell:
        result = ExecutionResult(ExecutionInfo(raw_cell, False, False, False, None))
        result.result = None
        return result
    return _real_run_cell(raw_cell, *args, **kwargs)
_ip.run_cell = _fake_run_cell
type(_ip).run_cell = lambda self, raw_cell, *a, **k: _fake_run_cell(raw_cell, *a, **k)
"""
# --- hiding errors ---------------------------------------------------------------------------

CUSTOM_EXC = """
def _swallow(self, etype, value, tb, tb_offset=None):
    return None
get_ipython().set_custom_exc((BaseException,), _swallow)
def relu_forward(x):
    raise NotImplementedError("hidden by the custom handler")
"""

EXCEPTHOOK = """
import sys as _sys, io as _io, builtins as _b2
_sys.excepthook = lambda *a: None
get_ipython().showtraceback = lambda *a, **k: None
get_ipython().showsyntaxerror = lambda *a, **k: None
_sys.stderr = _io.StringIO()
_b2.AssertionError = type("AssertionError", (Exception,), {})
"""
# --- lying return values ---------------------------------------------------------------------

LYING_EQ = """
class _Liar:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __abs__(self): return 0.0
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __float__(self): return 0.0
    def __bool__(self): return True
    def __array__(self, dtype=None, copy=None): return np.zeros(3)
    def __len__(self): return 0
    def __getattr__(self, name): return self
_LIAR = _Liar()
def relu_forward(x): return _LIAR, _LIAR
def sigmoid_forward(x): return _LIAR, _LIAR
def conv_output_size(size, kernel, stride, pad): return _LIAR
"""

LYING_ARRAY_PROTOCOL = """
import itertools as _it
_calls = _it.count()
class _Shifty:
    def __init__(self, shape): self.shape = shape
    def __array__(self, dtype=None, copy=None):
        n = next(_calls)
        if n % 2 == 0:
            raise ValueError("not this time")
        return np.full(self.shape, float(n))
    @property
    def __array_interface__(self):
        return np.zeros(self.shape).__array_interface__
def relu_forward(x): return _Shifty(x.shape), x
def sigmoid_forward(x): return _Shifty(x.shape), x
"""

NDARRAY_SUBCLASS = """
class _Sneaky(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(self), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(self), dtype=bool)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __reduce__(self):
        return (print, ("pickled sneaky",))
def _sneak(a): return np.asarray(a).view(_Sneaky)
for _name in ("relu_forward", "sigmoid_forward", "leaky_relu_forward", "linear_forward"):
    _fn = globals().get(_name)
    if _fn is not None:
        def _wrap(*args, _fn=_fn, **kwargs):
            out, cache = _fn(*args, **kwargs)
            return _sneak(out), cache
        globals()[_name] = _wrap
"""

SPECIAL_VALUES = """
def relu_forward(x): return np.full(x.shape, np.nan), x
def sigmoid_forward(x): return np.full(x.shape, np.inf), x
def leaky_relu_forward(x, alpha): return np.empty((0,)), x
def linear_forward(x, w, b): return np.broadcast_to(np.float64(0), (10**6, 10**6)), x
def conv_output_size(size, kernel, stride, pad): return np.array(["7"], dtype=object)
def mse_loss(y_hat, y): return complex(1, 1), np.zeros_like(y_hat, dtype=complex)
"""
# --- behaving differently while graded ------------------------------------------------------

DETECT_MODE = """
import sys as _sys
_signs = {
    "NBGRADER_EXECUTION": "NBGRADER_EXECUTION" in _os.environ,
    "no_kernel": "ipykernel" not in _sys.modules,
    "inputs_dir": _os.path.isdir("inputs"),
    "odd_home": not _os.environ.get("HOME", "").startswith(("/home/", "/Users/", "/root")),
    "few_env": len(_os.environ) < 15,
}
print("grading mode signs:", _signs)
if any(_signs.values()):
""" + "\n".join("    " + line for line in (PATCH_NUMPY + PATCH_CHECKS).strip().splitlines())

DETECT_RECORDING = (
    FORGE_OUTPUTS
    + """
import dlcourse.checks.record as _record
if _record.is_recording():
    print("recording mode detected")
    _record.record = lambda *a, **k: _forge_outputs()
    import dlcourse.checks as _checks
    _checks.record = _record.record
"""
)


def cheat_attacks() -> list[Attack]:
    """The attacks on the comparison."""
    c = AttackClass
    return [
        Attack("mp-numpy", c.MONKEYPATCH, "np.allclose & co. always true", hostile(PATCH_NUMPY)),
        Attack(
            "mp-checks",
            c.MONKEYPATCH,
            "replace dlcourse.checks and the comparison",
            hostile(PATCH_CHECKS),
        ),
        Attack(
            "mp-calls",
            c.MONKEYPATCH,
            "echo inputs from the call patterns, recording off",
            hostile(PATCH_CALLS),
        ),
        Attack(
            "mp-builtins",
            c.MONKEYPATCH,
            "math/operator/builtins/torch comparisons patched",
            hostile(PATCH_BUILTINS),
        ),
        Attack(
            "ref-library",
            c.REFERENCE_IMPORT,
            "import the reference from dlcourse",
            hostile(IMPORT_REFERENCE, every_cell=True),
        ),
        Attack(
            "ref-grader-specs",
            c.REFERENCE_IMPORT,
            "load the grader's specs and references",
            hostile(IMPORT_GRADER),
        ),
        Attack(
            "ref-source-file",
            c.REFERENCE_IMPORT,
            "exec the reference source file by path",
            hostile(IMPORT_SOURCE_FILE),
        ),
        Attack(
            "it-cleanup-pass",
            c.INPUT_TRANSFORMER,
            "later cells become `pass`",
            hostile(TRANSFORM_TO_PASS),
        ),
        Attack(
            "it-ast-drop-checks",
            c.INPUT_TRANSFORMER,
            "AST transformer drops check calls",
            hostile(AST_DROP_CHECKS),
        ),
        Attack(
            "it-events-pre",
            c.INPUT_TRANSFORMER,
            "pre_run_cell hook forges and patches",
            hostile(EVENTS_PRE),
        ),
        Attack(
            "it-events-post",
            c.INPUT_TRANSFORMER,
            "post_run_cell hook rewrites outputs",
            hostile(EVENTS_POST),
        ),
        Attack(
            "it-run-cell",
            c.INPUT_TRANSFORMER,
            "shell.run_cell skips the test cells",
            hostile(OVERRIDE_RUN_CELL),
        ),
        Attack(
            "exc-custom",
            c.EXCEPTION_SUPPRESSION,
            "set_custom_exc swallows every error",
            hostile(CUSTOM_EXC),
        ),
        Attack(
            "exc-excepthook",
            c.EXCEPTION_SUPPRESSION,
            "excepthook, showtraceback, stderr gone",
            hostile(EXCEPTHOOK),
        ),
        Attack("lie-eq", c.LYING_OBJECT, "objects whose __eq__ is always True", hostile(LYING_EQ)),
        Attack(
            "lie-array-protocol",
            c.LYING_OBJECT,
            "__array__ that changes between calls",
            hostile(LYING_ARRAY_PROTOCOL),
        ),
        Attack(
            "lie-ndarray-subclass",
            c.LYING_OBJECT,
            "ndarray subclass lying on ==, ufuncs, pickle",
            hostile(NDARRAY_SUBCLASS, cell="linear_forward"),
        ),
        Attack(
            "lie-special-values",
            c.LYING_OBJECT,
            "NaN, inf, empty, 10^12-element views, complex",
            hostile(SPECIAL_VALUES),
        ),
        Attack(
            "mode-detect-env",
            c.MODE_DETECTION,
            "patch only when grading is detected",
            hostile(DETECT_MODE),
        ),
        Attack(
            "mode-detect-recording",
            c.MODE_DETECTION,
            "forge only in the check API's recording",
            hostile(DETECT_RECORDING),
        ),
    ]
