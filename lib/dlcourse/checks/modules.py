"""Call patterns for PyTorch modules: the student's class in, plain arrays out.

A test of a module passes the student's *class*: ``check("basic_block_test",
BasicBlock)``. Every case builds it afresh from the case's inputs, named by prefix:

- ``arg_<name>``: a keyword argument of the constructor (a 0-d array is passed as a
  Python ``int``, ``float`` or ``bool`` after its dtype, a 1-d array as a tuple of them);
- ``state_<key>``: one entry of the ``state_dict`` the module is loaded with, ``.`` in the
  key written ``__`` (``state_conv1__weight`` is ``conv1.weight``). The trusted side draws
  these weights with the reference class, so the student's module must have exactly the
  same parameters and buffers, under the same names and shapes, as the notebook asks;
- ``x``: the input batch (float64), ``dout``: the gradient of the output
  (``module_backward``), ``x_shape``: the shape of a batch of zeros (``module_shape``);
- ``training`` (optional, 0-d): 1 runs the module in training mode; the default is
  evaluation mode, so batch normalization uses the loaded running statistics.

Patterns (added to :data:`dlcourse.checks.calls.CALLS`):

- ``"module_forward"``: ``out``;
- ``"module_backward"``: ``out``, ``dx`` and ``grad_<key>`` per parameter, after
  ``out.backward(dout)``;
- ``"module_params"``: ``count``, the number of parameter values (weights and biases);
- ``"module_shape"``: ``shape``, the shape of the output for a batch of zeros.

The package's ``__init__`` imports this module, which adds the patterns to ``CALLS``
(this module builds on the helpers of :mod:`dlcourse.checks.calls`, never the reverse).

The module runs in float64 on :func:`check_device` (CUDA where the process sees a GPU: a GPU
runner's sandbox is given the device nodes, a CPU job's is not); results come back to the
CPU as NumPy arrays, so only numbers ever leave the student's process. PyTorch is
imported on first use: NumPy notebooks never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse.checks.calls import (
    CALLS,
    CallError,
    Outputs,
    ResultError,
    _functions,
    _invoke,
    as_output,
    function_name,
)

ARG_PREFIX = "arg_"
STATE_PREFIX = "state_"
GRAD_PREFIX = "grad_"
DEVICE_VARIABLE = "DLCOURSE_CHECK_DEVICE"
"""Names the device the module patterns run on (see :func:`check_device`)."""


def state_name(key: str) -> str:
    """The input name of a ``state_dict`` key: ``conv1.weight`` -> ``state_conv1__weight``."""
    return STATE_PREFIX + key.replace(".", "__")


def state_key(name: str) -> str:
    """The ``state_dict`` key of an input name (the inverse of :func:`state_name`)."""
    return name[len(STATE_PREFIX) :].replace("__", ".")


def constructor_arguments(inputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The ``arg_*`` inputs as Python values: ``arg_stride`` (0-d int) -> ``stride=2``."""
    arguments: dict[str, Any] = {}
    for name, value in inputs.items():
        if name.startswith(ARG_PREFIX):
            array = np.asarray(value)
            if array.ndim > 1:
                raise CallError(f"constructor argument {name} must be a number or a 1-d array")
            arguments[name[len(ARG_PREFIX) :]] = (
                tuple(array.tolist()) if array.ndim == 1 else array.item()
            )
    return arguments


def check_device() -> Any:
    """Where the module patterns run: :data:`DEVICE_VARIABLE` when set, else CUDA when this
    process sees a GPU (a GPU runner's sandbox, a student's GPU machine), else the CPU."""
    import torch

    named = os.environ.get(DEVICE_VARIABLE, "")
    if named:
        return torch.device(named)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _build(cls: Callable[..., Any], inputs: Mapping[str, np.ndarray]) -> Any:
    """The student's module, constructed, in float64 on the check device, its mode set."""
    import torch

    module = _invoke(cls, **constructor_arguments(inputs))
    name = function_name(cls)
    if not isinstance(module, torch.nn.Module):
        raise ResultError(f"{name}(...) made a {type(module).__name__}, not a torch.nn.Module")
    module = _invoke(module.to, device=check_device(), dtype=torch.float64)
    training = bool(np.asarray(inputs.get("training", 0)).item())
    _invoke(module.train, training)
    return module


def _load(module: Any, name: str, inputs: Mapping[str, np.ndarray]) -> None:
    """Load the case's ``state_*`` inputs into ``module``, saying which names differ."""
    import torch

    state = {
        state_key(key): torch.as_tensor(np.array(value, copy=True))
        for key, value in inputs.items()
        if key.startswith(STATE_PREFIX)
    }
    if not state:
        raise CallError("a module test needs the weights to load (inputs named state_*)")
    own = _invoke(module.state_dict)
    missing = sorted(set(state) - set(own))
    extra = sorted(set(own) - set(state))
    if missing or extra:
        raise ResultError(
            f"{name} does not have the parameters the notebook asks for: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unexpected {', '.join(extra)}" if extra else "",
                )
                if part
            )
            + " (keep the attribute names and the layer order of the notebook)"
        )
    wrong = [
        f"{key} {tuple(own[key].shape)} instead of {tuple(value.shape)}"
        for key, value in state.items()
        if tuple(own[key].shape) != tuple(value.shape)
    ]
    if wrong:
        raise ResultError(f"{name} has parameters of the wrong shape: {'; '.join(wrong)}")
    _invoke(module.load_state_dict, state, strict=True)


def _array(value: object, what: str) -> np.ndarray:
    """A returned tensor (or anything else) as a plain NumPy array on the CPU."""
    import torch

    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64).numpy()
    return as_output(value, what)


def _forward(
    fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray], *, grad: bool
) -> tuple[Any, Any, Any, str]:
    import torch

    (cls,) = _functions(fns, 1, "the module class")
    name = function_name(cls)
    if "x" not in inputs:
        raise CallError("a module test needs an input named 'x'")
    module = _build(cls, inputs)
    _load(module, name, inputs)
    x = torch.tensor(np.asarray(inputs["x"]), dtype=torch.float64, device=check_device())
    x.requires_grad_(grad)
    out = _invoke(module, x)
    if not isinstance(out, torch.Tensor):
        raise ResultError(f"{name}.forward returned a {type(out).__name__}, not a tensor")
    return module, x, out, name


def module_forward(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``out = cls(**args).load_state_dict(state)(x)``."""
    import torch

    with torch.no_grad():
        _, _, out, name = _forward(fns, inputs, grad=False)
    return {"out": _array(out, f"the output of {name}")}


def module_backward(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``out``, then ``out.backward(dout)``: ``dx`` and ``grad_<key>`` per parameter."""
    import torch

    if "dout" not in inputs:
        raise CallError("a module_backward test needs an input named 'dout'")
    module, x, out, name = _forward(
        fns, {k: v for k, v in inputs.items() if k != "dout"}, grad=True
    )
    dout = torch.tensor(np.asarray(inputs["dout"]), dtype=torch.float64, device=x.device)
    if tuple(out.shape) != tuple(dout.shape):
        raise ResultError(
            f"the output of {name} has shape {tuple(out.shape)}, expected {tuple(dout.shape)}"
        )
    _invoke(out.backward, dout)
    outputs = {"out": _array(out, f"the output of {name}")}
    outputs["dx"] = _array(
        x.grad if x.grad is not None else torch.zeros_like(x), f"the gradient of x in {name}"
    )
    for key, parameter in sorted(_invoke(module.named_parameters)):
        grad = parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)
        outputs[GRAD_PREFIX + key.replace(".", "__")] = _array(grad, f"the gradient of {key}")
    return outputs


def module_params(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``count``: the number of parameter values of ``cls(**args)``."""
    (cls,) = _functions(fns, 1, "the module class")
    module = _build(cls, inputs)
    count = sum(int(p.numel()) for p in _invoke(module.parameters))
    return {"count": np.asarray(count)}


def module_shape(fns: Sequence[Callable[..., Any]], inputs: Mapping[str, np.ndarray]) -> Outputs:
    """``shape``: the output shape of ``cls(**args)`` on zeros of shape ``x_shape``."""
    import torch

    (cls,) = _functions(fns, 1, "the module class")
    if "x_shape" not in inputs:
        raise CallError("a module_shape test needs an input named 'x_shape'")
    module = _build(cls, inputs)
    shape = tuple(int(s) for s in np.asarray(inputs["x_shape"]).reshape(-1))
    with torch.no_grad():
        out = _invoke(module, torch.zeros(shape, dtype=torch.float64, device=check_device()))
    if not isinstance(out, torch.Tensor):
        raise ResultError(f"{function_name(cls)}.forward returned a {type(out).__name__}")
    return {"shape": np.asarray(tuple(out.shape), dtype=np.int64)}


PATTERNS = {
    "module_forward": module_forward,
    "module_backward": module_backward,
    "module_params": module_params,
    "module_shape": module_shape,
}

CALLS.update(PATTERNS)
