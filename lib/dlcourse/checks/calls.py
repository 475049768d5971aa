"""Call patterns: how a test calls the student's functions on one case.

``CALLS`` maps a pattern name to a function ``(fns, inputs) -> outputs`` where ``inputs``
and ``outputs`` are dicts of NumPy arrays (see ``docs/AUTOGRADER.md``):

- ``"call"``: ``fns[0](**inputs)``; one result is ``out``, a tuple is ``out0, out1, ...``.
- ``"forward"``: ``out, cache = fns[0](**inputs)``; the output is ``out`` alone (the
  cache is private to the student's layer, so it is not graded).
- ``"forward_backward"``: ``out, cache = fns[0](**forward_inputs)``, then
  ``grads = fns[1](dout, cache)``; outputs ``out`` and ``d<name>`` per forward input.
- ``"loss"``: ``loss, dscores = fns[0](**inputs)``.
- ``"module_forward"``, ``"module_backward"``, ``"module_params"``, ``"module_shape"``:
  a PyTorch module class built, loaded with the trusted side's weights and run
  (:mod:`dlcourse.checks.modules`).

Whatever the student returns is turned into plain numeric arrays here, strictly: a
NumPy array of numbers is copied, anything else must convert with
``np.asarray(value, dtype=float64)``. Anything that does not (a dict, an object with odd
dunder methods, text) raises :class:`ResultError`, so nothing but numbers ever leaves
the student's process. An exception raised by the student's own code is wrapped in
:class:`StudentCodeError` so callers can tell "your code raised" from "your code
returned the wrong thing".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse.checks.casefile import NUMERIC_KINDS

Outputs = dict[str, np.ndarray]
CallPattern = Callable[[Sequence[Callable[..., Any]], Mapping[str, np.ndarray]], Outputs]


class StudentCodeError(Exception):
    """The student's function raised; ``error`` is the original exception."""

    def __init__(self, function_name: str, error: BaseException) -> None:
        self.function_name = function_name
        self.error = error
        super().__init__(f"{function_name} raised {describe_exception(error)}")


class ResultError(Exception):
    """The student's function returned something that is not the expected arrays."""


class ReturnedNoneError(ResultError):
    """The student's function returned None: usually a forgotten ``return``. Its own type,
    so the grader, which reads only the type of a recorded error, can say so too."""


class CallError(TypeError):
    """The test cell passed the wrong functions for its call pattern."""


def describe_exception(error: BaseException) -> str:
    """``"Type: message"``, robust to exceptions whose ``__str__`` itself fails."""
    try:
        message = str(error)
    except Exception:  # a student's exception class may break str(); keep the type
        message = "<message unavailable>"
    kind = type(error).__name__
    return f"{kind}: {message}" if message else kind


def function_name(fn: object) -> str:
    """The name to show for a student's function, never raising."""
    try:
        name = fn.__name__  # type: ignore[attr-defined]
    except Exception:  # objects may define __getattr__ that raise anything
        name = None
    return name if isinstance(name, str) else type(fn).__name__


def as_output(value: object, what: str) -> np.ndarray:
    """Convert one returned value to a plain numeric array, or raise :class:`ResultError`."""
    if value is None:  # np.asarray(None, float) is a NaN of shape (): say what happened
        raise ReturnedNoneError(f"{what} is None: the function returned None (a missing `return`?)")
    if isinstance(value, np.ndarray):
        array = np.array(value, copy=True, subok=False)
    elif isinstance(value, bool | int | float | np.number | np.bool_):
        array = np.asarray(value)
    elif isinstance(value, str | bytes):  # np.asarray("0.5", float) would parse text
        raise ResultError(f"{what} is a {type(value).__name__}; expected numbers, not text")
    else:
        try:
            array = np.asarray(value, dtype=np.float64)
        except Exception as error:  # any conversion failure means "not numbers"
            hint = (
                " (convert a torch tensor with .detach().numpy())"
                if type(value).__name__ == "Tensor"
                else ""
            )
            raise ResultError(
                f"{what} is a {type(value).__name__}, which cannot be read as an array of "
                f"numbers ({type(error).__name__}){hint}"
            ) from None
    if array.dtype.kind not in NUMERIC_KINDS:
        raise ResultError(f"{what} has dtype {array.dtype}; expected an array of numbers")
    return array


def _invoke(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; wrap anything it raises in StudentCodeError."""
    __tracebackhide__ = True  # IPython and pytest show the student's frames, not this one
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        raise StudentCodeError(function_name(fn), error) from error


def _functions(fns: Sequence[object], count: int, roles: str) -> list[Callable[..., Any]]:
    if len(fns) != count:
        raise CallError(f"this test calls {count} function(s) ({roles}), but got {len(fns)}")
    for fn in fns:
        if not callable(fn):
            raise CallError(f"expected a function ({roles}), got a {type(fn).__name__}")
    return list(fns)  # type: ignore[arg-type]


def _pair(result: object, fn: Callable[..., Any], names: str) -> tuple[Any, Any]:
    """Unpack a 2-tuple result, saying what was expected when it is not one."""
    if result is None:
        raise ReturnedNoneError(
            f"{function_name(fn)} returned None instead of a pair {names} (a missing `return`?)"
        )
    if not isinstance(result, tuple | list) or len(result) != 2:
        got = f"{len(result)} values" if isinstance(result, tuple | list) else "one value"
        raise ResultError(
            f"{function_name(fn)} should return a pair {names}, but returned {got} "
            f"({type(result).__name__})"
        )
    return result[0], result[1]


def call(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``fns[0](**inputs)``: one result is ``out``, a tuple is ``out0, out1, ...``."""
    (fn,) = _functions(fns, 1, "the function under test")
    result = _invoke(fn, **inputs)
    name = function_name(fn)
    if isinstance(result, tuple):
        return {
            f"out{i}": as_output(v, f"value {i} returned by {name}") for i, v in enumerate(result)
        }
    return {"out": as_output(result, f"the value returned by {name}")}


def forward(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``out, cache = fns[0](**inputs)``; only ``out`` is an output."""
    (fn,) = _functions(fns, 1, "the forward function")
    out, _ = _pair(_invoke(fn, **inputs), fn, "(out, cache)")
    return {"out": as_output(out, f"out returned by {function_name(fn)}")}


def forward_backward(
    fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]
) -> Outputs:
    """Forward on every input but ``dout``, then backward on ``(dout, cache)``."""
    fwd, bwd = _functions(fns, 2, "forward, backward")
    if "dout" not in inputs:
        raise CallError("a forward_backward test needs an input named 'dout'")
    forward_inputs = {name: value for name, value in inputs.items() if name != "dout"}
    out, cache = _pair(_invoke(fwd, **forward_inputs), fwd, "(out, cache)")
    outputs = {"out": as_output(out, f"out returned by {function_name(fwd)}")}
    grads = _invoke(bwd, inputs["dout"], cache)
    names = [f"d{name}" for name in forward_inputs]
    # Conventions: a bare array when the forward takes one array, else a tuple in order.
    if len(names) == 1 and not isinstance(grads, tuple | list):
        grads = (grads,)
    if not isinstance(grads, tuple | list) or len(grads) != len(names):
        got = len(grads) if isinstance(grads, tuple | list) else 1
        raise ResultError(
            f"{function_name(bwd)} should return {len(names)} gradient(s) "
            f"({', '.join(names)}), but returned {got}"
        )
    for name, grad in zip(names, grads, strict=True):
        outputs[name] = as_output(grad, f"{name} returned by {function_name(bwd)}")
    return outputs


def loss(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``loss, dscores = fns[0](**inputs)``."""
    (fn,) = _functions(fns, 1, "the loss function")
    value, dscores = _pair(_invoke(fn, **inputs), fn, "(loss, dscores)")
    name = function_name(fn)
    return {
        "loss": as_output(value, f"the loss returned by {name}"),
        "dscores": as_output(dscores, f"the gradient returned by {name}"),
    }


CALLS: dict[str, CallPattern] = {
    "call": call,
    "forward": forward,
    "forward_backward": forward_backward,
    "loss": loss,
}

# dlcourse.checks.modules adds the PyTorch module patterns to CALLS when the package
# loads (it builds on the helpers above, so it imports this module, not the reverse).


def expected_output_names(pattern: str, input_names: Sequence[str]) -> tuple[str, ...] | None:
    """The output names a pattern produces for these inputs; None when it depends on the
    result (``"call"`` may return one value or a tuple)."""
    if pattern in ("forward", "module_forward"):
        return ("out",)
    if pattern == "module_params":
        return ("count",)
    if pattern == "module_shape":
        return ("shape",)
    if pattern == "loss":
        return ("loss", "dscores")
    if pattern == "forward_backward":
        return ("out", *(f"d{name}" for name in input_names if name != "dout"))
    return None
