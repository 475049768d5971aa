"""Release with proof, the leak check, the sync check and the changelog, end to end.

One real release (nbgrader + the sandboxed autograder) is shared by the module; the
refused release is the only other real run. Checks that change files work on copies.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from instructor_course import make_course

from autograder.box.cold import ColdBox
from autograder.instructor import changelog, check_sync, new_term, release
from autograder.instructor.cli import main
from autograder.instructor.leaks import find_leaks
from autograder.instructor.record import RECORD_FILE, file_hash
from autograder.intake import load_template
from autograder.specs import load_specs
from autograder.studentlib import build_runtime

pytestmark = pytest.mark.slow
SEED = 11


@pytest.fixture(scope="module")
def box() -> Iterator[ColdBox]:
    parent = Path(tempfile.mkdtemp(prefix="runtime-release-"))
    parent.chmod(0o755)
    try:
        with ColdBox(build_runtime(parent / "builds")) as cold:
            yield cold
    finally:
        shutil.rmtree(parent)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, box: ColdBox):
    root = make_course(tmp_path_factory.mktemp("course"))
    return root, release(root, "mini", box=box)


@pytest.fixture()
def course_copy(released, tmp_path: Path) -> Path:
    """A private copy of the released course, to edit."""
    return Path(shutil.copytree(released[0], tmp_path / "copy"))


def _folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _leaks(release_dir: Path, solutions: Path):
    return find_leaks(
        release_dir,
        [load_template(solutions / "mini.ipynb")],
        [solutions / "mini.specs.py"],
        [load_specs(solutions / "mini.specs.py")],
        SEED,
    )


# --- the release ----------------------------------------------------------------------


def test_a_proved_release_is_written_with_its_record(released):
    root, report = released
    assert report.ok, report.render()
    (item,) = report.assignments
    assert item.written and item.failures == []
    assert any("proved: solution 17/17, blank 0" in note for _, note in item.notes)
    folder = root / "assignments" / "mini"
    record = json.loads((folder / RECORD_FILE).read_text())
    assert record["term_id"] == "2026-fall" and record["assignment"] == "mini"
    assert record["source_hashes"] == {
        name: file_hash(root / "solutions" / "mini" / name)
        for name in ("mini.ipynb", "mini.specs.py")
    }
    assert record["release_hashes"]["mini.ipynb"] == file_hash(folder / "mini.ipynb")
    assert not list(root.joinpath("assignments").glob(".mini.*"))


def test_the_release_has_checks_but_no_solutions_hidden_tests_or_specs(released):
    root, _ = released
    folder = root / "assignments" / "mini"
    text = (folder / "mini.ipynb").read_text()
    assert "raise NotImplementedError()" in text
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "check_hidden(", "np.maximum(x, 0)"):
        assert secret not in text
    assert not list(folder.rglob("*.specs.py"))
    specs = load_specs(root / "solutions" / "mini" / "mini.specs.py")
    shipped = sorted(path.stem for path in (folder / "checks").glob("*.npz"))
    assert shipped == sorted(specs.test_ids)
    assert _leaks(folder, root / "solutions" / "mini") == []


def test_a_broken_solution_is_refused_and_assignments_stay_untouched(course_copy, box):
    source = course_copy / "solutions" / "mini" / "mini.ipynb"
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        cell.source = cell.source.replace("dx = np.where(x > 0, dout, 0.0)", "dx = dout")
    nbformat.write(notebook, source)
    before = _folder_hash(course_copy / "assignments")
    report = release(course_copy, "mini", box=box)
    assert not report.ok
    (item,) = report.assignments
    assert not item.written
    # Both proofs see it: the grader's verdict, and the visible check that stops the
    # top-to-bottom run in a real kernel.
    reasons = dict.fromkeys(reason for _, reason in item.failures)
    assert {nb for nb, _ in item.failures} == {"mini"}
    assert all("relu_backward_test" in reason for reason in reasons)
    assert any(reason.startswith("the solution fails test") for reason in reasons)
    assert any(reason.startswith("the solution stops with an error") for reason in reasons)
    assert "NOT released" in report.render()
    assert _folder_hash(course_copy / "assignments") == before


# --- leaks ----------------------------------------------------------------------------


def _planted(root: Path, tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(root / "assignments" / "mini", tmp_path / "planted"))
    return folder


def test_a_hidden_test_line_in_the_release_is_a_leak(released, tmp_path):
    root, _ = released
    folder = _planted(root, tmp_path)
    notebook = nbformat.read(folder / "mini.ipynb", as_version=4)
    test_cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                     == "relu_forward_test")  # fmt: skip
    test_cell.source += '\ncheck_hidden("relu_forward_test", relu_forward)'
    nbformat.write(notebook, folder / "mini.ipynb")
    leaks = _leaks(folder, root / "solutions" / "mini")
    assert [leak.file for leak in leaks] == ["mini.ipynb"]
    assert 'check_hidden("relu_forward_test", relu_forward)' in leaks[0].reason


def test_a_solution_line_a_specs_file_or_a_foreign_check_file_is_a_leak(released, tmp_path):
    root, _ = released
    folder = _planted(root, tmp_path)
    (folder / "notes.md").write_text("Hint: `shifted = scores - scores.max(axis=1, keepdims=True)`")
    shutil.copy(root / "solutions" / "mini" / "mini.specs.py", folder / "helpers.py")
    shutil.copy(folder / "checks" / "mse_loss_test.npz", folder / "checks" / "other_test.npz")
    found = {leak.file: leak.reason for leak in _leaks(folder, root / "solutions" / "mini")}
    assert set(found) == {"notes.md", "helpers.py", "checks/other_test.npz"}
    assert "solution or hidden-test line" in found["notes.md"]
    assert "specs" in found["helpers.py"]


# --- sync -----------------------------------------------------------------------------


def test_check_sync_passes_right_after_the_release(released):
    assert check_sync(released[0]) == []
    assert main(["--course", str(released[0]), "check-sync"]) == 0


def test_check_sync_fires_after_a_hand_edit_of_a_release_file(course_copy, capsys):
    released_nb = course_copy / "assignments" / "mini" / "mini.ipynb"
    released_nb.write_text(released_nb.read_text().replace("Mini assignment", "Mini homework"))
    (problem,) = check_sync(course_copy)
    assert "mini.ipynb changed" in problem and "edited by hand" in problem
    assert "python -m autograder.instructor release mini" in problem
    assert main(["--course", str(course_copy), "check-sync"]) == 1
    assert "edited by hand" in capsys.readouterr().out


def test_check_sync_fires_after_a_solution_change_and_a_new_term(course_copy):
    specs = course_copy / "solutions" / "mini" / "mini.specs.py"
    specs.write_text(specs.read_text() + "\n# retuned\n")
    (problem,) = check_sync(course_copy)
    assert "the source changed since the release (mini.specs.py changed" in problem
    new_term(course_copy, "2027-fall", make_current=True)
    problems = check_sync(course_copy)
    assert any("released for term '2026-fall', the current term is '2027-fall'" in p
               for p in problems)  # fmt: skip


# --- changelog ------------------------------------------------------------------------


def test_the_changelog_names_changed_added_and_removed_tests(released, tmp_path):
    root, _ = released
    old = root / "assignments" / "mini"
    new = Path(shutil.copytree(old, tmp_path / "new"))
    notebook = nbformat.read(new / "mini.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "mse_loss_test":
            cell.metadata.nbgrader["points"] = 2
        elif grade_id == "torch_linear_test":
            cell.metadata.nbgrader["grade_id"] = "torch_affine_test"
    nbformat.write(notebook, new / "mini.ipynb")
    shutil.copy(new / "mini.ipynb", new / "extra.ipynb")
    log = changelog(old, new)
    assert log.notebooks_added == ["extra"] and log.notebooks_changed == ["mini"]
    assert log.tests_changed == ["mini/mse_loss_test (points 1 -> 2)"]
    assert log.tests_added == [
        *(f"extra/{t}" for t in sorted(load_template(new / "extra.ipynb").points_by_id)),
        "mini/torch_affine_test",
    ]
    assert log.tests_removed == ["mini/torch_linear_test"]
    assert changelog(old, old).render() == "no changes"


def test_the_release_builds_the_student_edition(released):
    root, report = released
    assert report.edition == (root / "student-edition").resolve() and not report.edition_failures
    assert (report.edition / "assignments/mini/mini.ipynb").read_bytes() == (
        root / "assignments/mini/mini.ipynb"
    ).read_bytes()
    assert not list(report.edition.rglob("*.specs.py"))
