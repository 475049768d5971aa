"""Check specs: how each graded test cell's inputs are made and its outputs judged.

One Python file per notebook defines ``SPECS: list[CheckSpec]``; :func:`load_specs`
imports it by path and returns a :class:`SpecRegistry` keyed by test id (the grade id
of the test cell). Mistakes in a specs file are the course team's, so they raise
:class:`SpecError` naming the file and the spec.

A graded exercise is one line, :func:`exercise`: its reference is the function of
:mod:`dlcourse.exercises` with the notebook's signature, run through the same call
pattern as the student's code, so the output names and the student's conventions
(a bare ``dx`` or a tuple of gradients, ``(loss, dscores)``) are never written twice.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.checks.calls import CALLS, ResultError, StudentCodeError
from dlcourse.checks.casefile import TEST_ID_PATTERN

Inputs = dict[str, np.ndarray]
Outputs = dict[str, np.ndarray]

_module_counter = itertools.count()
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class SpecError(ValueError):
    """A specs file or a spec in it is wrong (the course team's bug, not a student's)."""


@dataclass(frozen=True)
class CheckSpec:
    """How to test one graded cell: inputs per case, the reference, and the tolerance."""

    test_id: str
    """The grade_id of the test cell."""
    call: str
    """A call pattern name from :data:`dlcourse.checks.calls.CALLS`."""
    make_inputs: Callable[[np.random.Generator], Inputs]
    """One case's inputs from a generator; keys are the function's parameter names."""
    reference: Callable[[Inputs], Outputs]
    """The expected outputs of one case, named as the call pattern names them."""
    num_visible: int = 2
    num_hidden: int = 3
    rtol: float = 1e-6
    atol: float = 1e-8
    partial: bool = True
    """Points scale with the fraction of cases passed; otherwise all or nothing."""
    hint: str = ""
    """Where to look in the notebook when the test fails."""
    forbid: tuple[str, ...] = ()
    """Modules the exercise must be written without (``("torch", "scipy")`` in a NumPy
    exercise; its own reference module, ``ex.__name__``). Calls into them during the
    graded calls are flagged; the term's ``forbidden_calls`` decides what they cost."""

    def __post_init__(self) -> None:
        where = f"spec {self.test_id!r}"
        if not isinstance(self.test_id, str) or not TEST_ID_PATTERN.fullmatch(self.test_id):
            raise SpecError(f"{where}: test_id must be a grade id (letters, digits, '_', '-')")
        if self.call not in CALLS:
            raise SpecError(f"{where}: call {self.call!r} is not one of {sorted(CALLS)}")
        if not callable(self.make_inputs) or not callable(self.reference):
            raise SpecError(f"{where}: make_inputs and reference must be functions")
        for name in ("num_visible", "num_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
                raise SpecError(f"{where}: {name} must be an integer in [0, 1000], got {value!r}")
        if self.num_visible + self.num_hidden == 0:
            raise SpecError(f"{where}: needs at least one case (num_visible + num_hidden)")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"{where}: {name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise SpecError(f"{where}: {name} must be finite and >= 0, got {value!r}")
        if not isinstance(self.partial, bool) or not isinstance(self.hint, str):
            raise SpecError(f"{where}: partial must be a bool and hint a string")
        if isinstance(self.forbid, str) or not all(
            isinstance(name, str) and _MODULE_NAME.fullmatch(name) for name in self.forbid
        ):
            raise SpecError(
                f"{where}: forbid must be a tuple of module names such as ('torch', 'scipy'), "
                f"got {self.forbid!r}"
            )
        object.__setattr__(self, "forbid", tuple(self.forbid))

    @property
    def num_cases(self) -> int:
        return self.num_visible + self.num_hidden


@dataclass(frozen=True)
class ReferenceCall:
    """A spec's reference: ``functions`` (the notebook's signatures) run through ``call``."""

    call: str
    functions: tuple[Callable[..., Any], ...]

    def __call__(self, inputs: Inputs) -> Outputs:
        try:
            return CALLS[self.call](self.functions, inputs)
        except (StudentCodeError, ResultError) as error:
            cause = error.error if isinstance(error, StudentCodeError) else error
            raise SpecError(f"the reference failed: {error}") from cause


def exercise(
    test_id: str,
    call: str,
    make_inputs: Callable[[np.random.Generator], Inputs],
    *references: Callable[..., Any],
    **options: Any,
) -> CheckSpec:
    """The spec of one graded test: ``references`` are called exactly as the student's
    functions are (``check(test_id, *fns)``); ``options`` are :class:`CheckSpec`'s."""
    if not references:
        raise SpecError(f"spec {test_id!r}: name the reference function(s) of the exercise")
    return CheckSpec(test_id, call, make_inputs, ReferenceCall(call, references), **options)


def reference_functions(spec: CheckSpec) -> tuple[Callable[..., Any], ...]:
    """The reference functions of an :func:`exercise` spec (none for a hand-written one)."""
    return spec.reference.functions if isinstance(spec.reference, ReferenceCall) else ()


@dataclass(frozen=True)
class SpecRegistry:
    """The specs of one notebook, by test id, remembering which file they came from."""

    specs: tuple[CheckSpec, ...]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for spec in self.specs:
            if not isinstance(spec, CheckSpec):
                raise SpecError(
                    f"{self.source}: SPECS holds a {type(spec).__name__}, not a CheckSpec"
                )
            if spec.test_id in seen:
                raise SpecError(f"{self.source}: two specs have test_id {spec.test_id!r}")
            seen.add(spec.test_id)

    @property
    def test_ids(self) -> tuple[str, ...]:
        return tuple(spec.test_id for spec in self.specs)

    def __getitem__(self, test_id: str) -> CheckSpec:
        for spec in self.specs:
            if spec.test_id == test_id:
                return spec
        raise KeyError(
            f"no spec for test id {test_id!r} in {self.source}; it has {list(self.test_ids)}"
        )

    def __contains__(self, test_id: object) -> bool:
        return test_id in self.test_ids

    def __iter__(self) -> Iterator[CheckSpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)


def load_specs(path: str | PathLike[str]) -> SpecRegistry:
    """Import a specs file by path and return its registry.

    The file is imported under a fresh module name each time, so two notebooks' specs
    files (or one file re-read after an edit) never share a module.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"specs file {path} does not exist")
    digest = hashlib.blake2b(str(path.resolve()).encode(), digest_size=6).hexdigest()
    module_name = f"_dlcourse_specs_{digest}_{next(_module_counter)}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"specs file {path} cannot be imported (is it a .py file?)")
    module = importlib.util.module_from_spec(loader_spec)
    # Registered while it runs, as dataclasses and pickling look modules up by name.
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise SpecError(
            f"importing specs file {path} raised {type(error).__name__}: {error}"
        ) from error
    specs = getattr(module, "SPECS", None)
    if not isinstance(specs, list | tuple):
        raise SpecError(f"specs file {path} must define SPECS as a list of CheckSpec")
    return SpecRegistry(tuple(specs), source=str(path))
