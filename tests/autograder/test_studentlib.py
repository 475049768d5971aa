"""The student build hides every reference, keeps the tools, and is built once per content.

Imports are checked in a real isolated interpreter that starts exactly as a cold box's
job does (the runtime bootstrap), so the driver's editable install cannot leak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.box.cold import RUNTIME_CHECK_FAILED, runtime_bootstrap
from autograder.studentlib import (
    DEFAULT_EXCLUDE,
    STUB_MESSAGE,
    build_runtime,
    content_hash,
    runtime_files,
)

KEPT = (
    "dlcourse.checks",
    "dlcourse.checks.record",
    "dlcourse.gradcheck",
    "dlcourse._validate",
    "dlcourse.nn.module",
    "dlcourse.data.datasets",
    "autograder.runner",
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_runtime(tmp_path_factory.mktemp("builds"))


def run_in_runtime(runtime: Path, code: str) -> dict:
    """Run ``code`` in ``python -I`` after the box bootstrap; it sets ``answer`` (JSON)."""
    script = runtime_bootstrap(runtime) + code + "\nimport json\nprint(json.dumps(answer))\n"
    process = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        cwd=tempfile.gettempdir(),
        env={"PATH": os.environ.get("PATH", "")},
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr.decode()
    return json.loads(process.stdout.decode().splitlines()[-1])


IMPORT_ERROR = """
answer = {}
for statement in STATEMENTS:
    try:
        exec(statement, {})
        answer[statement] = "imported"
    except ImportError as error:
        answer[statement] = str(error)
"""


def test_importing_an_excluded_reference_fails_with_the_reason(runtime: Path) -> None:
    statements = [
        "from dlcourse.functional.activations import relu_forward",
        "import dlcourse.functional as F; F.relu_forward",
        "from dlcourse.nn.layers import Linear",
        "from dlcourse.optim.optimizers import SGD",
        "from dlcourse.data.augment import color",
        "from dlcourse.functional import *",
    ]
    answer = run_in_runtime(runtime, f"STATEMENTS = {statements!r}\n" + IMPORT_ERROR)
    for statement in statements:
        assert STUB_MESSAGE in answer[statement], statement


def test_kept_modules_import_from_the_runtime(runtime: Path) -> None:
    code = (
        "import importlib\n"
        f"answer = {{name: importlib.import_module(name).__file__ for name in {KEPT!r}}}\n"
    )
    answer = run_in_runtime(runtime, code)
    for name in KEPT:
        assert answer[name].startswith(str(runtime) + "/"), (name, answer[name])


def test_grader_modules_are_not_importable_from_the_runtime(runtime: Path) -> None:
    code = (
        "answer = {}\n"
        "for name in ('autograder.specs', 'autograder.pipeline', 'autograder.intake'):\n"
        "    try:\n"
        "        __import__(name)\n"
        "        answer[name] = 'imported'\n"
        "    except ImportError:\n"
        "        answer[name] = 'refused'\n"
    )
    answer = run_in_runtime(runtime, code)
    assert set(answer.values()) == {"refused"}


def test_the_bootstrap_never_falls_back_to_the_drivers_install(tmp_path: Path) -> None:
    # An empty directory as the runtime: dlcourse must not come from the editable install.
    script = runtime_bootstrap(tmp_path)
    process = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, timeout=120, check=False
    )
    assert process.returncode != 0
    assert b"No module named 'dlcourse'" in process.stderr or (
        RUNTIME_CHECK_FAILED.encode() in process.stderr
    )


def test_stubs_keep_dunder_probes_as_attribute_errors(runtime: Path) -> None:
    code = (
        "import dlcourse.functional as F, pickle\n"
        "answer = [hasattr(F, '__wrapped__'), F.__name__, "
        "isinstance(F.ReferenceNotAvailableError('x'), ImportError)]\n"
    )
    assert run_in_runtime(runtime, code) == [False, "dlcourse.functional", True]


def test_every_default_exclusion_is_a_stub_and_nothing_else_is(runtime: Path) -> None:
    for path in (runtime / "dlcourse").rglob("*.py"):
        relative = path.relative_to(runtime).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        name = ".".join(parts)
        excluded = any(name == e or name.startswith(e + ".") for e in DEFAULT_EXCLUDE)
        assert (STUB_MESSAGE in path.read_text()) is excluded, name


def test_build_is_reused_when_nothing_changed(tmp_path: Path) -> None:
    first = build_runtime(tmp_path / "builds")
    marker = first / "reused.txt"
    marker.write_text("same directory")
    assert build_runtime(tmp_path / "builds") == first
    assert marker.exists()
    assert [p.name for p in (tmp_path / "builds").iterdir()] == [first.name]


def test_a_different_exclusion_builds_a_different_runtime(tmp_path: Path) -> None:
    full = build_runtime(tmp_path / "builds")
    fewer = build_runtime(tmp_path / "builds", exclude=("dlcourse.functional",))
    assert full != fewer
    assert STUB_MESSAGE not in (fewer / "dlcourse" / "optim" / "__init__.py").read_text()


def test_content_hash_changes_with_any_byte() -> None:
    files = runtime_files()
    changed = dict(files)
    changed["dlcourse/__init__.py"] = files["dlcourse/__init__.py"] + b"\n"
    assert content_hash(files) != content_hash(changed)


def test_the_runtime_is_readable_by_everyone(runtime: Path) -> None:
    for path in [runtime, *runtime.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), path


@pytest.mark.parametrize(
    ("exclude", "problem"),
    [
        (("dlcourse.functionnal",), "does not exist"),
        (("numpy.linalg",), "not inside the dlcourse package"),
        (("dlcourse.checks",), "the runner needs"),
    ],
)
def test_bad_exclusions_are_refused(tmp_path: Path, exclude: tuple, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build_runtime(tmp_path, exclude=exclude)
    assert not any(tmp_path.iterdir())


def test_a_build_writable_by_others_is_not_reused(tmp_path: Path) -> None:
    built = build_runtime(tmp_path / "builds")
    built.chmod(0o777)
    with pytest.raises(ValueError, match="writable by no one else"):
        build_runtime(tmp_path / "builds")
