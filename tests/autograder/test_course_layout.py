"""Finding the work in an nbgrader course directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from driver_fakes import ASSIGNMENT, TERM_SEED, make_course

from autograder.course import CourseError
from autograder.course_layout import CourseLayout
from autograder.driver import prepare_run
from autograder.workdir import copy_extra_file


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course", students=("s01", "s02"))


def test_jobs_cover_every_student_and_notebook_in_order(course: Path):
    jobs = CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED)
    assert [(job.student_id, job.notebook) for job in jobs] == [
        ("s01", "part1"),
        ("s01", "part2"),
        ("s02", "part1"),
        ("s02", "part2"),
    ]
    job = jobs[0]
    assert job.submission_path == course / "submitted" / "s01" / ASSIGNMENT / "part1.ipynb"
    assert job.template_path == course / "source" / ASSIGNMENT / "part1.ipynb"
    assert job.specs_path == course / "source" / ASSIGNMENT / "part1.specs.py"
    assert job.term_seed == TERM_SEED and job.needs_gpu is False


def test_renamed_notebook_is_matched_and_a_missing_one_has_no_submission(course: Path):
    folder = course / "submitted" / "s01" / ASSIGNMENT
    (folder / "part1.ipynb").rename(folder / "Part1-Copy1.ipynb")
    (folder / "part2.ipynb").unlink()
    jobs = CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED, students=["s01"])
    assert [job.submission_path for job in jobs] == [folder / "Part1-Copy1.ipynb", None]


def test_extra_files_are_what_nbgrader_copies_less_hidden_links_and_specs(course: Path):
    source = course / "source" / ASSIGNMENT
    (source / ".secret").write_text("x")
    (source / "nested").mkdir()
    for ignored in ("__pycache__", "feedback", ".ipynb_checkpoints"):
        (source / ignored).mkdir()
    os.symlink("/etc/passwd", source / "link.txt")
    (source / "weights.npz").write_bytes(b"\0")
    layout = CourseLayout.open(course)
    expected = ["data.csv", "nested", "weights.npz"]
    assert [path.name for path in layout.extra_files(ASSIGNMENT)] == expected
    assert layout.build_jobs(ASSIGNMENT, TERM_SEED)[0].extra_files == tuple(
        source / name for name in expected
    )


def test_needs_gpu_comes_from_the_source_notebook_metadata(tmp_path: Path):
    course = make_course(tmp_path / "gpu", students=("s01",), needs_gpu=True)
    assert all(job.needs_gpu for job in CourseLayout.open(course).build_jobs(ASSIGNMENT, 1))
    path = course / "source" / ASSIGNMENT / "part1.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["dlcourse"]["needs_gpu"] = "yes"
    nbformat.write(notebook, path)
    with pytest.raises(CourseError, match="needs_gpu"):
        CourseLayout.open(course).source_notebooks(ASSIGNMENT)


def test_source_notebook_without_specs_names_the_file_to_write(course: Path):
    specs = course / "source" / ASSIGNMENT / "part2.specs.py"
    specs.unlink()
    with pytest.raises(CourseError, match=f"write {specs}"):
        CourseLayout.open(course).source_notebooks(ASSIGNMENT)


def test_hidden_folders_are_not_students(course: Path):
    (course / "submitted" / ".ipynb_checkpoints" / ASSIGNMENT).mkdir(parents=True)
    assert CourseLayout.open(course).students(ASSIGNMENT) == ["s01", "s02"]


def test_skip_drops_jobs_already_graded(course: Path):
    jobs = CourseLayout.open(course).build_jobs(
        ASSIGNMENT, TERM_SEED, skip=lambda job: job.student_id == "s01"
    )
    assert {job.student_id for job in jobs} == {"s02"}


def test_term_seed_given_explicitly_wins_over_the_term_file(course: Path):
    layout = CourseLayout.open(course)
    assert layout.term().seed == TERM_SEED
    assert layout.term(99).seed == 99
    with pytest.raises(CourseError, match="must be an integer"):
        layout.term(True)  # a bool is not a seed


def test_missing_term_seed_names_both_ways_to_give_one(tmp_path: Path):
    course = make_course(tmp_path / "course", students=(), term_seed=None)
    with pytest.raises(CourseError) as caught:
        CourseLayout.open(course).term()
    assert "--term-seed N" in str(caught.value) and "term.json" in str(caught.value)
    (course / "term.json").write_text(json.dumps({"seed": [1]}))
    with pytest.raises(CourseError, match="must be an integer"):
        CourseLayout.open(course).term()


def test_settings_default_to_nbgraders_and_follow_nbgrader_config(course: Path):
    layout = CourseLayout.open(course)
    assert layout.settings().db_url == f"sqlite:///{course / 'gradebook.db'}"
    assert layout.settings().course_id == ""  # nbgrader's CourseDirectory default
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.db_url = 'sqlite:////elsewhere/gb.db'\n"
        "c.CourseDirectory.course_id = 'dl101'\n"
    )
    settings = layout.settings()
    assert (settings.db_url, settings.course_id) == ("sqlite:////elsewhere/gb.db", "dl101")


def test_unknown_assignment_lists_the_known_ones(course: Path):
    with pytest.raises(CourseError, match=r"unknown assignment 'hw2'.*found: hw1"):
        CourseLayout.open(course).source_notebooks("hw2")
    with pytest.raises(CourseError, match="unknown assignment"):
        CourseLayout.open(course).source_notebooks("../course")


def test_student_ids_are_checked_at_intake_with_one_rule(course: Path):
    for name in ("jörg", "bad name", "semi;colon"):
        (course / "submitted" / name / ASSIGNMENT).mkdir(parents=True)
    layout = CourseLayout.open(course)
    # Letters of any script are ids; a space or a ';' is not, and says how to fix it.
    assert layout.students(ASSIGNMENT) == ["jörg", "s01", "s02"]
    refused = layout.refused_students(ASSIGNMENT)
    assert len(refused) == 2
    assert "'bad name' cannot be used in a file name: use letters, digits" in refused[0]
    assert "'semi;colon'" in refused[1] and "rename the folder" in refused[1]
    students = {job.student_id for job in layout.build_jobs(ASSIGNMENT, TERM_SEED)}
    assert students == {"jörg", "s01", "s02"}
    with pytest.raises(CourseError, match="student 'bad name' has no submission"):
        layout.build_jobs(ASSIGNMENT, TERM_SEED, students=["bad name"])


def test_a_data_folder_is_copied_without_what_nbgrader_ignores(tmp_path: Path):
    data = tmp_path / "data"
    for name in ("images/cat.png", "__pycache__/x.pyc", "images/.ipynb_checkpoints/a", "n.ipynb"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("x")
    workdir = tmp_path / "work"
    workdir.mkdir()
    copy_extra_file(data, workdir)
    copied = sorted(str(path.relative_to(workdir)) for path in workdir.rglob("*"))
    assert copied == ["data", "data/images", "data/images/cat.png"]


def test_nbgraders_late_plugin_comes_from_its_config_and_excludes_a_term_policy(course: Path):
    assert CourseLayout.open(course).settings().late_plugin is None
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.LateSubmissionPlugin.penalty_method = 'zero'\n"
    )
    plugin = CourseLayout.open(course).settings().late_plugin
    assert type(plugin).__name__ == "LateSubmissionPlugin"
    assert plugin.late_submission_penalty("s01", 7.5, 3600.0) == 7.5  # nbgrader's 'zero'
    (course / "term.json").write_text(
        '{"seed": 1, "late_policy": {"late_penalty_per_day": 0.1, "max_late_days": 2}}'
    )
    with pytest.raises(CourseError, match="late penalties are configured twice"):
        prepare_run(course, ASSIGNMENT)
