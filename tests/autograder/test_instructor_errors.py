"""Bad input to the instructor's term commands stops them with a message naming the fix;
collecting from an nbgrader exchange takes each student's latest submission."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from instructor_course import SYNTHETIC_TOML, make_course, write_synthetic

from autograder.course import CourseError
from autograder.instructor import release
from autograder.instructor.cli import main
from autograder.instructor.collect import collect_exchange
from autograder.instructor.synthetic import build_class
from autograder.instructor.workspace import open_workspace

EDIT = """\
[[student]]
id = "{id}"
summary = "a mistake"
failing = {failing}

[[student.edit]]
notebook = "{notebook}"
cell = "{cell}"
old = "{old}"
new = "db = 0"
"""
GOOD = {
    "id": "mini-typo",
    "failing": '["linear_backward_test"]',
    "notebook": "mini",
    "cell": "linear_backward",
    "old": "db = dout.sum(axis=0)",
}


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course whose release exists (no grading proofs: these tests grade nothing)."""
    root = make_course(tmp_path_factory.mktemp("course"))
    assert release(root, prove=False).ok
    return root


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"old": "db = dout.mean(axis=0)"}, "'old' text 'db = dout.mean(axis=0)' does not occur"),
        ({"old": "x2d"}, "occurs 2 times in the solution region of mini/linear_backward"),
        ({"old": "x, w = cache"}, "does not occur in the solution region"),
        ({"failing": '["linear_test"]'}, "'failing' names ['linear_test'], which are not"),
        ({"failing": "[]"}, "'failing' must list the grade ids"),
        ({"id": "Mini_Typo"}, "id 'Mini_Typo' must be lowercase letters, digits and '-'"),
        ({"id": "blank"}, "'blank' is used twice"),
        ({"notebook": "layers"}, "notebook 'layers' is not in this assignment"),
        ({"cell": "linear_backward_test"}, "mini has no answer cell 'linear_backward_test'"),
    ],
)
def test_a_bad_partial_student_names_the_file_the_student_and_the_fix(
    released: Path, tmp_path: Path, change: dict[str, str], message: str
):
    synthetic = tmp_path / "synthetic-root"
    write_synthetic(synthetic, EDIT.format(**{**GOOD, **change}))
    assignment = open_workspace(released, workspace=tmp_path / "ws").course.assignment("mini")
    with pytest.raises(CourseError) as caught:
        build_class(assignment, synthetic)
    text = str(caught.value)
    assert message in text
    if "used twice" not in text:
        assert text.startswith("synthetic/mini/mini.toml: student[0]")


def test_a_good_partial_student_is_the_reference_with_its_edit(released: Path, tmp_path: Path):
    write_synthetic(tmp_path, SYNTHETIC_TOML)
    assignment = open_workspace(released, workspace=tmp_path / "ws").course.assignment("mini")
    students = {s.student_id: s for s in build_class(assignment, tmp_path)}
    reference, partial = students["reference"], students["mini-no-bias-grad"]
    cell = _answer(partial.notebooks["mini"], "linear_backward")
    assert "db = np.zeros(dout.shape[1])" in cell and "BEGIN SOLUTION" not in cell
    assert "db = dout.sum(axis=0)" in _answer(reference.notebooks["mini"], "linear_backward")
    assert "raise NotImplementedError" in _answer(
        students["blank"].notebooks["mini"], "relu_forward"
    )
    assert "os._exit(0)" in _answer(students["adv-early-exit"].notebooks["mini"], "relu_forward")
    assert (partial.expected, reference.expected) == (14.0, 17.0)


def _answer(notebook: nbformat.NotebookNode, grade_id: str) -> str:
    return next(
        c.source
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def test_a_release_that_is_missing_is_named_with_the_command_to_make_it(tmp_path: Path):
    root = make_course(tmp_path / "course")
    with pytest.raises(CourseError, match="python -m autograder.instructor release mini"):
        build_class(open_workspace(root).course.assignment("mini"), root)


def test_a_missing_term_names_the_command_that_creates_it(released: Path, capsys):
    code = main(["--course", str(released), "grade", "mini", "--term", "2030-spring"])
    assert code == 2
    assert "new-term 2030-spring" in capsys.readouterr().err


def test_collect_with_an_unmatched_student_exits_1_naming_it(
    released: Path, tmp_path: Path, capsys
):
    archive = tmp_path / "mini.zip"
    notebook = (released / "assignments/mini/mini.ipynb").read_text()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("doejane_101_5001_mini.ipynb", notebook)
        handle.writestr("roerich_999_5002_mini.ipynb", notebook)
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id\n101,jdoe\n")
    argv = ["--course", str(released), "--nbgrader-root", str(tmp_path / "ws")]
    code = main([*argv[:2], "collect", "mini", *argv[2:], "--lms-zip", str(archive),
                 "--roster", str(roster)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "unmatched LMS id 999: roerich_999_5002_mini.ipynb" in captured.out
    assert captured.err.startswith("error: 1 entries were not imported: add a row lms_id,")
    assert (tmp_path / "ws/submitted/jdoe/mini/mini.ipynb").read_text() == notebook


def test_collect_from_an_lms_zip_needs_a_roster(released: Path, capsys):
    code = main(["--course", str(released), "collect", "mini", "--lms-zip", "x.zip"])
    assert code == 2 and "--lms-zip needs --roster" in capsys.readouterr().err


def test_collect_from_the_exchange_takes_each_students_latest(released: Path, tmp_path: Path):
    inbound = tmp_path / "exchange" / "dl-test" / "inbound"
    for folder, text in [
        ("alice+mini+2026-09-20 10:00:00.000000 UTC+abc", "first"),
        ("alice+mini+2026-09-21 09:00:00.000000 UTC+def", "second"),
        ("bob+mini+2026-09-19 08:00:00.000000 UTC", "only"),
        ("bob+other+2026-09-30 08:00:00.000000 UTC", "another assignment"),
    ]:
        (inbound / folder).mkdir(parents=True)
        (inbound / folder / "mini.ipynb").write_text(text)
        (inbound / folder / "timestamp.txt").write_text(folder.split("+")[2])
    # Every folder here belongs to the test's account, so the owner check is off.
    report = collect_exchange(
        "mini", tmp_path / "exchange", released, workspace=tmp_path / "ws", check_owner=False
    )
    assert report.collected == {
        "alice": "alice+mini+2026-09-21 09:00:00.000000 UTC+def",
        "bob": "bob+mini+2026-09-19 08:00:00.000000 UTC",
    }
    submitted = tmp_path / "ws" / "submitted"
    assert (submitted / "alice/mini/mini.ipynb").read_text() == "second"
    assert (submitted / "alice/mini/timestamp.txt").read_text().startswith("2026-09-21")
    assert (submitted / "bob/mini/mini.ipynb").read_text() == "only"
    # An older submission is the ordinary case, not a problem: the collect exits 0.
    assert report.superseded == ["alice+mini+2026-09-20 10:00:00.000000 UTC+abc"]
    assert report.skipped == [] and report.problem == ""


def test_collect_from_a_folder_that_is_no_exchange_says_what_it_expects(released: Path, tmp_path):
    with pytest.raises(CourseError, match="no nbgrader inbound folder at .*dl-test/inbound"):
        collect_exchange("mini", tmp_path, released, workspace=tmp_path / "ws")


def test_a_workspace_inside_the_solutions_is_refused(released: Path):
    with pytest.raises(CourseError, match="student work must stay out"):
        open_workspace(released, workspace=released / "solutions" / "ws")


def test_the_workspace_follows_the_solutions_and_the_term(released: Path, tmp_path: Path):
    space = open_workspace(released, workspace=tmp_path / "ws")
    assert json.loads((space.root / "term.json").read_text())["seed"] == 11
    specs = released / "solutions/mini/mini.specs.py"
    original = specs.read_text()
    try:
        specs.write_text(original + "\n# retuned\n")
        open_workspace(released, workspace=tmp_path / "ws")
        assert (space.root / "source/mini/mini.specs.py").read_text().endswith("# retuned\n")
    finally:
        specs.write_text(original)
