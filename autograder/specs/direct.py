"""Hidden checks under stock ``nbgrader autograde``: compare directly with the reference.

On the instructor's machine nbgrader runs the notebook in a Jupyter kernel whose working
directory is the notebook's folder, and ``check_hidden`` lands here. The specs are
found without any configuration when the specs file sits next to the notebook as
``<notebook>.specs.py`` (any ``*.specs.py`` in the working directory that defines the
test id); the environment variable ``DLCOURSE_SPECS`` may instead point at a specs file
or at a folder of them (e.g. ``solutions/a1``), which keeps the specs out of the
release folder.

The cases come from a fixed seed, so every student is checked on the same inputs, and
the assertion message follows the hidden-feedback rules (no input or reference values).
``dlcourse.checks`` finds :func:`direct_check` through the entry point this package
declares (group ``dlcourse.hidden_checks`` in ``pyproject.toml``), never by importing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from autograder.files import SPECS_SUFFIX
from autograder.specs.cases import case_numbers, make_case_inputs, reference_outputs
from autograder.specs.spec import SpecError, SpecRegistry, load_specs
from dlcourse.checks.run import run_cases

SPECS_ENV = "DLCOURSE_SPECS"
#: The fixed seed and pseudo student of direct checks (distinct from any real student).
DIRECT_SEED = 0
DIRECT_STUDENT = "__direct__"


def find_registry(test_id: str, folder: Path | None = None) -> SpecRegistry:
    """The registry that defines ``test_id``: from ``$DLCOURSE_SPECS`` or the folder."""
    configured = os.environ.get(SPECS_ENV)
    if configured:
        place = Path(configured)
        candidates = sorted(place.glob(f"*{SPECS_SUFFIX}")) if place.is_dir() else [place]
        origin = f"${SPECS_ENV}={configured}"
    else:
        place = folder or Path.cwd()
        candidates = sorted(place.glob(f"*{SPECS_SUFFIX}"))
        origin = f"the notebook's folder {place}"
    for path in candidates:
        registry = _load(path.resolve(), path.stat().st_mtime_ns)
        if test_id in registry:
            return registry
    raise SpecError(
        f"no specs define test {test_id!r} in {origin}; put <notebook>{SPECS_SUFFIX} next "
        f"to the notebook or set {SPECS_ENV} to the specs file or its folder"
    )


@lru_cache(maxsize=32)
def _load(path: Path, mtime_ns: int) -> SpecRegistry:
    """Load a specs file once per version (the mtime is part of the cache key)."""
    del mtime_ns  # only there to invalidate the cache when the file changes
    return load_specs(path)


def direct_check(test_id: str, *fns: Callable[..., Any]) -> None:
    """Run the hidden cases of ``test_id`` on ``fns``; raise AssertionError on a mismatch.

    The case loop is the visible checks' own (:func:`dlcourse.checks.run.run_cases`),
    with ``reveal=False``: no input or reference values in the message.
    """
    spec = find_registry(test_id)[test_id]
    hidden = case_numbers(spec, "hidden")
    inputs = [make_case_inputs(spec, DIRECT_SEED, DIRECT_STUDENT, case) for case in hidden]
    cases = [(case, reference_outputs(spec, case)) for case in inputs]
    run_cases(
        test_id,
        "hidden",
        fns,
        cases,
        call=spec.call,
        rtol=spec.rtol,
        atol=spec.atol,
        hint=spec.hint,
        reveal=False,
    )
