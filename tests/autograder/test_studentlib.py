"""The student build hides all but an allow-list, keeps the tools, and is built once per content.

Imports are checked in a real isolated interpreter that starts exactly as a cold box's
job does (the runtime bootstrap), so the driver's editable install cannot leak in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import dlcourse
from autograder.box.cold import RUNTIME_CHECK_FAILED, runtime_bootstrap
from autograder.studentlib import (
    DEFAULT_ALLOW,
    STUB_MESSAGE,
    build_runtime,
    content_hash,
    is_allowed,
    runtime_files,
)

KEPT = (
    "dlcourse.checks",
    "dlcourse.checks.record",
    "dlcourse.gradcheck",
    "dlcourse.data.datasets",
    "dlcourse.widgets.base",
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
        "from dlcourse.exercises.a1.activations import relu_forward",
        "from dlcourse.nn.module import Sequential",
        "from dlcourse._validate import as_float_array",
        "from dlcourse.widgets.optimizer_race import OptimizerRace",
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


def test_everything_off_the_allow_list_is_a_stub_and_nothing_else_is(runtime: Path) -> None:
    names = set()
    for path in (runtime / "dlcourse").rglob("*.py"):
        relative = path.relative_to(runtime).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        name = ".".join(parts)
        names.add(name)
        assert (STUB_MESSAGE not in path.read_text()) is is_allowed(name, DEFAULT_ALLOW), name
    assert {"dlcourse.exercises.a1.activations", "dlcourse.functional.conv_fast"} <= names


def test_a_new_module_is_hidden_without_being_listed(tmp_path, monkeypatch) -> None:
    """A reference module nobody told the grader about is a stub in the student build."""
    library = shutil.copytree(
        dlcourse.__path__[0], tmp_path / "dlcourse", ignore=shutil.ignore_patterns("__pycache__")
    )
    (library / "exercises" / "a9").mkdir()
    (library / "exercises" / "a9" / "__init__.py").write_text("")
    (library / "exercises" / "a9" / "attention.py").write_text("def softmax(x):\n    return x\n")
    (library / "brand_new.py").write_text("ANSWER = 42\n")
    monkeypatch.setattr(dlcourse, "__path__", [str(library)])
    files = runtime_files()
    for path in ("dlcourse/exercises/a9/attention.py", "dlcourse/brand_new.py"):
        assert STUB_MESSAGE.encode() in files[path], path


def test_build_is_reused_when_nothing_changed(tmp_path: Path) -> None:
    first = build_runtime(tmp_path / "builds")
    marker = first / "reused.txt"
    marker.write_text("same directory")
    assert build_runtime(tmp_path / "builds") == first
    assert marker.exists()
    assert [p.name for p in (tmp_path / "builds").iterdir()] == [first.name]


def test_a_different_allow_list_builds_a_different_runtime(tmp_path: Path) -> None:
    default = build_runtime(tmp_path / "builds")
    fewer = build_runtime(tmp_path / "builds", allow=("dlcourse", "dlcourse.checks.*"))
    assert default != fewer
    assert STUB_MESSAGE in (fewer / "dlcourse" / "gradcheck.py").read_text()
    assert STUB_MESSAGE not in (default / "dlcourse" / "gradcheck.py").read_text()


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
    ("allow", "problem"),
    [
        ((*DEFAULT_ALLOW, "dlcourse.gradchek"), "does not exist"),
        ((*DEFAULT_ALLOW, "numpy.linalg"), "not inside the dlcourse package"),
        (("dlcourse", "dlcourse.gradcheck"), "the runner needs it"),
        ((*DEFAULT_ALLOW, "dlcourse.widgets.optimizer_race"), "imports 'dlcourse.exercises.a2"),
    ],
)
def test_bad_allow_lists_are_refused(tmp_path: Path, allow: tuple, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build_runtime(tmp_path, allow=allow)
    assert not any(tmp_path.iterdir())


def test_a_build_writable_by_others_is_not_reused(tmp_path: Path) -> None:
    built = build_runtime(tmp_path / "builds")
    built.chmod(0o777)
    with pytest.raises(ValueError, match="writable by no one else"):
        build_runtime(tmp_path / "builds")
