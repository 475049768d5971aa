"""The student edition of the real course: what students install, and its release proof.

Issue 11, rows 1 and 2: students set up from the repository had the solutions and the
references. The edition holds the released notebooks and a library whose graded
references are stripped (found by their code), and nothing of the grader.
"""

from __future__ import annotations

import ast
import inspect
import json
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from autograder.course import CourseError
from autograder.instructor.config import load_course
from autograder.instructor.edition import MARK, build_edition, handed_out_hashes, prove_edition
from autograder.instructor.terms import current_term
from autograder.instructor.withheld import body_hash, function_nodes, hash_body, withheld_references
from dlcourse.functional.conv_fast import conv_forward_fast
from dlcourse.functional.losses import mse_loss
from dlcourse.widgets.base import WITHHELD_MARK

REPO = Path(__file__).resolve().parents[2]
AFTER_EVERY_DUE_DATE = datetime(2027, 1, 1)
LOSSES = "lib/dlcourse/functional/losses.py"


@pytest.fixture(scope="module")
def course():
    return load_course(REPO / "course" / "course.toml")


@pytest.fixture(scope="module")
def locked(course):
    return withheld_references(course)


@pytest.fixture(scope="module")
def handed_out(course):
    return handed_out_hashes(course)


@pytest.fixture(scope="module")
def edition(course, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("edition") / "student-edition"
    assert build_edition(course, current_term(REPO), dest) == []
    return dest


def _run_in_edition(edition: Path, code: str) -> str:
    """Run ``code`` with the edition's library first on the path, as a student would."""
    prelude = f"import sys; sys.path.insert(0, {str(edition / 'lib')!r})\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, check=False, cwd=edition,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_edition_holds_what_students_need_and_nothing_of_the_grader(edition):
    names = {path.relative_to(edition).as_posix() for path in edition.rglob("*")}
    for needed in ("README.md", "environment.yml", "pyproject.toml", "lib/dlcourse/__init__.py"):
        assert needed in names
    released = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "assignments").rglob("*")
        if path.is_file() and path.name != ".release.json"
    }
    assert released and released <= names  # every released notebook and check file
    for name in released:  # as proved by the release (check-sync holds them to it)
        assert (edition / name).read_bytes() == (REPO / name).read_bytes(), name
    assert not [
        n for n in names if n.endswith(".ipynb") and "BEGIN SOLUTION" in (edition / n).read_text()
    ]
    assert not any(name.endswith(".specs.py") for name in names)
    assert not any(part in {"solutions", "autograder"} for n in names for part in n.split("/"))
    assert "conda env create -f environment.yml" in (edition / "README.md").read_text()
    assert "-e ." in (edition / "environment.yml").read_text()
    record = json.loads((edition / "EDITION.json").read_text())
    course = load_course(REPO / "course" / "course.toml")
    assert record["unlocked"] == []
    assert set(record["withheld"]) == {assignment.name for assignment in course.assignments}


def test_every_module_imports_and_a_reference_says_what_to_write(edition):
    out = _run_in_edition(
        edition,
        """
        import importlib, pkgutil
        import dlcourse
        assert dlcourse.__file__.startswith(sys.path[0]), dlcourse.__file__
        for info in pkgutil.walk_packages(dlcourse.__path__, "dlcourse."):
            importlib.import_module(info.name)  # widgets included
        from dlcourse.functional.conv_fast import conv_forward_fast
        try:
            conv_forward_fast(None, None, None)
        except NotImplementedError as error:
            print(error)
        from dlcourse.widgets.base import resolve_impl
        from dlcourse.functional.activations import relu_forward
        print(resolve_impl("relu_forward", {}, relu_forward).notice)

        import numpy as np
        from dlcourse.widgets.activations import ActivationExplorer

        def relu_forward(x):  # the student's own
            return np.maximum(x, 0), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)

        app = ActivationExplorer(namespace=dict(relu_forward=relu_forward,
                                                relu_backward=relu_backward))
        app.controls["name"].value = "relu"
        print("student's relu drawn:", app.update().uses_student)
        app.controls["name"].value = "sigmoid"
        assert app.update() is None
        print(app.status_html.value)
        """,
    )
    assert "student's relu drawn: True" in out
    assert "sigmoid_forward is not in the student edition" in out
    assert "conv_forward_fast is not in the student edition" in out
    assert "assignment a3" in out
    assert "Your function is missing (the student edition has no reference for assignment a1" in out


def test_a_reference_copied_from_the_installed_library_earns_nothing(edition):
    """Row 2: the student's notebook takes the loss from the installed dlcourse."""
    out = _run_in_edition(
        edition,
        """
        import numpy as np
        from dlcourse.functional.losses import mse_loss
        try:
            mse_loss(np.ones((2, 3)), np.zeros((2, 3)))
        except NotImplementedError:
            print("withheld")
        """,
    )
    assert out.strip() == "withheld"


def test_the_proof_finds_a_reference_by_its_code_under_any_name(
    edition, locked, handed_out, tmp_path
):
    copy = tmp_path / "edition"
    shutil.copytree(edition, copy)
    source = textwrap.dedent(inspect.getsource(conv_forward_fast))
    renamed = source.replace("def conv_forward_fast(", "def my_helper(", 1)
    notes = copy / "lib" / "dlcourse" / "notes.py"
    notes.write_text("# reformatted and renamed, still the reference\n\n" + renamed)
    failures = prove_edition(copy, locked, [], handed_out)
    assert any(
        "notes.py: my_helper has the code of the reference "
        "dlcourse.functional.conv_fast.conv_forward_fast (a3)" in failure
        for failure in failures
    ), failures
    notes.unlink()
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("%matplotlib inline\n"))
    notebook.cells.append(nbformat.v4.new_code_cell(renamed))
    nbformat.write(notebook, copy / "assignments" / "a1" / "mine.ipynb")
    assert any(
        "mine.ipynb: my_helper" in failure
        for failure in prove_edition(copy, locked, [], handed_out)
    )


def test_the_proof_finds_a_seed_and_grader_files(edition, locked, handed_out, tmp_path):
    copy = tmp_path / "edition"
    shutil.copytree(edition, copy)
    assert prove_edition(copy, locked, [123456789123], handed_out) == []
    (copy / "lib" / "seed.txt").write_text("seed = 123456789123\n")
    (copy / "solutions").mkdir()
    (copy / "assignments" / "a1" / "losses.specs.py").write_text("SPECS = []\n")
    failures = prove_edition(copy, locked, [123456789123], handed_out)
    assert "lib/seed.txt: holds a term seed" in failures
    assert any(failure.startswith("solutions:") for failure in failures)
    assert any("losses.specs.py" in failure for failure in failures)


def test_references_unlock_only_after_the_due_date(course, tmp_path):
    term = current_term(REPO)
    with pytest.raises(CourseError, match="--unlock a1: a1 is due 2026-09-28 23:59:59 UTC"):
        build_edition(course, term, tmp_path / "e", ["a1"], now=datetime(2026, 9, 28, 12))
    dest = tmp_path / "e"
    assert build_edition(course, term, dest, ["a1"], now=AFTER_EVERY_DUE_DATE) == []
    record = json.loads((dest / "EDITION.json").read_text())
    assert record["unlocked"] == ["a1"] and "a1" not in record["withheld"]
    losses = dict(function_nodes(ast.parse((dest / LOSSES).read_text())))
    assert hash_body(losses["mse_loss"]) == body_hash(mse_loss)  # a1's: back
    # a3 builds on a1, not the other way round: a3's loss stays withheld.
    assert "NotImplementedError" in ast.unparse(losses["soft_cross_entropy_loss"])
    assert "not in the student edition" in (dest / "lib/dlcourse/functional/pooling.py").read_text()


def test_the_widgets_read_the_mark_the_edition_sets():
    assert MARK == WITHHELD_MARK


def test_helpers_the_references_own_alone_leave_shared_ones_stay(locked):
    """im2col answers a3's fast convolution; the learning-rate check serves torchoptim too."""
    names = {f"{item.module}.{item.qualname}": item.assignment for item in locked}
    assert names["dlcourse.functional.conv_fast._im2col_forward"] == "a3"
    assert names["dlcourse.functional.activations.relu_forward"] == "a1"  # a3 builds on it
    assert "dlcourse.optim.optimizers._check_lr" not in names
