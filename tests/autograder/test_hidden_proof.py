"""Proof (f): the graded references can be neither imported nor read inside the sandbox.

Run against the real sandbox (a cold box over a real student build): under bubblewrap
the proof holds; a runtime that lets the references in, or a sandbox without bubblewrap
(where the job sees the host's files), fails it, naming what leaked.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from warm_fixtures import discard_box, make_box, needs_root

import dlcourse
from autograder.box.cold import ColdBox
from autograder.box.warm import DEFAULT_ENTRY
from autograder.instructor import hidden
from autograder.instructor.hidden import graded_modules, library_roots, prove_hidden
from autograder.sandbox.layers import bwrap_unavailable
from autograder.specs import load_specs
from autograder.studentlib import DEFAULT_ALLOW, build_runtime, is_allowed

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
REGISTRIES = [load_specs(path) for path in sorted((REPO / "solutions").glob("*/*.specs.py"))]


@pytest.fixture(scope="module")
def builds() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="runtime-hidden-"))
    parent.chmod(0o755)
    try:
        yield parent
    finally:
        shutil.rmtree(parent)


def test_the_graded_modules_are_derived_from_the_specs_and_the_exercises():
    names = {module.name for module in graded_modules(REGISTRIES)}
    # The exercises, and the library modules their references call into.
    assert {
        "dlcourse.exercises.a1.activations",
        "dlcourse.exercises.a2.optimizers",
        "dlcourse.functional.activations",
        "dlcourse.optim.optimizers",
        "dlcourse.data.preprocess",
        "dlcourse.train.early_stopping",
    } <= names
    assert not any(is_allowed(name, DEFAULT_ALLOW) for name in names)
    assert Path(dlcourse.__path__[0]).resolve() in library_roots()


@pytest.mark.skipif(bwrap_unavailable() is not None, reason=f"no bwrap: {bwrap_unavailable()}")
def test_under_bubblewrap_no_graded_reference_is_reachable(builds: Path):
    with ColdBox(build_runtime(builds / "default")) as box:
        assert prove_hidden(REGISTRIES, box) == []


@needs_root
@pytest.mark.skipif(bwrap_unavailable() is not None, reason=f"no bwrap: {bwrap_unavailable()}")
def test_in_the_warm_box_no_graded_reference_is_reachable(builds: Path):
    """The warm box brings back only outputs/ and results.json: the probe reports there."""
    box = make_box(build_runtime(builds / "default"), entry=DEFAULT_ENTRY, slots=1)
    try:
        assert prove_hidden(REGISTRIES, box) == []
    finally:
        discard_box(box)


def test_a_runtime_that_lets_the_references_in_fails_the_proof(builds: Path, monkeypatch):
    everything = ("dlcourse.*",)
    monkeypatch.setattr(hidden, "DEFAULT_ALLOW", everything)
    with ColdBox(build_runtime(builds / "open", allow=everything), use_bwrap=False) as box:
        failures = prove_hidden(REGISTRIES, box)
    assert "graded module dlcourse.exercises.a1.losses is on the grading runtime's allow-list" in (
        failures
    )
    assert (
        "inside the sandbox dlcourse.exercises.a1.losses imports as the real module, not the stub"
        in failures
    )
    assert "inside the sandbox dlcourse.optim.optimizers.adam_step can be imported" in failures


def test_without_bubblewrap_the_source_files_are_readable_and_the_proof_says_so(builds: Path):
    source = Path(dlcourse.__path__[0]).resolve()
    with ColdBox(build_runtime(builds / "default"), use_bwrap=False, user=None) as box:
        failures = prove_hidden(REGISTRIES, box)
    assert f"inside the sandbox {source / 'exercises' / 'a2' / 'optimizers.py'} can be read" in (
        failures
    )
    assert f"inside the sandbox the folder {source} can be listed" in failures
    assert not any("imports" in failure or "can be imported" in failure for failure in failures)
