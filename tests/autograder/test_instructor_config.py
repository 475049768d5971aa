"""The course file and the term files: typed, checked, and every error names key and fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from instructor_course import COURSE_TOML, make_course

from autograder.course import DEFAULT_RUNTIME_BUDGET, CourseError
from autograder.instructor import current_term, load_course, load_term, new_term
from autograder.instructor.cli import main


@pytest.fixture()
def course_dir(tmp_path: Path) -> Path:
    return make_course(tmp_path)


def _course_error(course_dir: Path, text: str) -> str:
    (course_dir / "course" / "course.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CourseError) as caught:
        load_course(course_dir / "course" / "course.toml")
    return str(caught.value)


def test_the_course_file_gives_typed_assignments_with_defaults(course_dir):
    course = load_course(course_dir / "course" / "course.toml")
    (mini,) = course.assignments
    assert course.course_id == "dl-test" and mini.name == "mini"
    assert mini.source == course_dir.resolve() / "solutions" / "mini"
    assert mini.release == course_dir.resolve() / "assignments" / "mini"
    (notebook,) = mini.notebooks
    assert (notebook.points, notebook.needs_gpu) == (19, False)
    assert notebook.runtime_budget == DEFAULT_RUNTIME_BUDGET


def test_the_intake_caps_of_the_course_file_reach_every_grading_job(course_dir, tmp_path):
    from autograder.course_layout import CourseLayout
    from autograder.instructor.workspace import open_workspace
    from autograder.intake import IntakeConfig

    assert load_course(course_dir / "course" / "course.toml").intake == IntakeConfig()
    caps = "[intake]\nmax_notebook_bytes = 5000\nmax_submission_files = 7\n\n"
    text = COURSE_TOML.replace("[[assignments]]", caps + "[[assignments]]", 1)
    (course_dir / "course" / "course.toml").write_text(text, encoding="utf-8")
    space = open_workspace(course_dir, workspace=tmp_path / "ws")
    assert space.course.intake == IntakeConfig(max_bytes=5000, max_files=7)
    layout = CourseLayout.open(space.root)
    (space.root / "submitted" / "s1" / "mini").mkdir(parents=True)
    (job,) = layout.build_jobs("mini", 1, intake=layout.term().intake)
    assert job.intake == IntakeConfig(max_bytes=5000, max_files=7)
    message = _course_error(course_dir, text.replace("= 7", "= 0"))
    assert "must be at least 1" in message


def test_an_unknown_key_names_its_place_and_the_close_match(course_dir):
    message = _course_error(course_dir, COURSE_TOML.replace("points = 19", "point = 19"))
    assert message == (
        "course.toml: assignments[0].notebooks[0]: unknown key 'point' (did you mean 'points'?)"
    )


def test_a_missing_required_key_says_what_to_add(course_dir):
    message = _course_error(course_dir, COURSE_TOML.replace('course_id = "dl-test"\n', ""))
    assert "missing required key 'course_id'" in message and 'course_id = "dl101"' in message


def test_a_wrong_type_names_the_key_and_the_type_wanted(course_dir):
    message = _course_error(
        course_dir, COURSE_TOML.replace("runtime_budget = 120", 'runtime_budget = "2m"')
    )
    assert "assignments[0].notebooks[0]: 'runtime_budget' must be an integer" in message


def test_a_listed_notebook_missing_on_disk_is_refused(course_dir):
    message = _course_error(
        course_dir, COURSE_TOML.replace('name = "mini"\npoints', 'name = "gone"\npoints')
    )
    assert "gone.ipynb does not exist" in message and "notebooks[0]" in message


def test_points_that_disagree_with_the_notebook_give_the_right_value(course_dir):
    message = _course_error(course_dir, COURSE_TOML.replace("points = 19", "points = 20"))
    assert "'points' is 20 but mini.ipynb is worth 19: set points = 19" in message


def test_a_term_file_reads_seed_dates_and_late_policy(course_dir):
    term = load_term(course_dir / "course" / "terms" / "2026-fall.toml")
    assert (term.term_id, term.seed) == ("2026-fall", 11)
    assert term.dates["mini"].due == date(2026, 9, 21)
    assert term.late_policy.max_late_days == 3
    assert current_term(course_dir) == term


def test_a_missing_current_term_file_says_how_to_write_it(course_dir):
    (course_dir / "course" / "current_term").unlink()
    with pytest.raises(CourseError, match="echo 2026-fall > course/current_term"):
        current_term(course_dir)


def test_new_term_shifts_dates_by_52_weeks_with_a_fresh_seed(course_dir):
    path = new_term(course_dir, "2027-fall")
    old, new = current_term(course_dir), load_term(path)
    assert new.term_id == "2027-fall" and new.seed != old.seed
    assert new.dates["mini"].release == date(2027, 9, 6)  # 364 days later: same weekday
    assert new.dates["mini"].release.weekday() == old.dates["mini"].release.weekday()
    assert new.late_policy == old.late_policy


def test_new_term_takes_the_callers_shift_and_refuses_to_overwrite(course_dir):
    path = new_term(course_dir, "2027-spring", from_term="2026-fall", shift_days=21)
    assert load_term(path).dates["mini"].due == date(2026, 10, 12)
    before = path.read_bytes()
    with pytest.raises(CourseError, match="already exists"):
        new_term(course_dir, "2027-spring")
    assert path.read_bytes() == before
    with pytest.raises(CourseError, match="multiple of 7"):
        new_term(course_dir, "2027-x", shift_days=10)


def test_the_cli_writes_a_term_and_exits_2_on_a_config_error(course_dir, capsys):
    assert main(["--course", str(course_dir), "new-term", "2028-fall", "--shift-weeks", "104",
                 "--make-current"]) == 0  # fmt: skip
    assert current_term(course_dir).dates["mini"].release == date(2028, 9, 4)
    assert main(["--course", str(course_dir), "new-term", "2028-fall"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_names_that_become_folders_follow_the_one_name_rule(course_dir):
    message = _course_error(course_dir, COURSE_TOML.replace('name = "mini"', 'name = "../mini"', 1))
    assert "assignments[0]: name '../mini' cannot be used in a file name" in message
    with pytest.raises(CourseError, match="term id 'a b' must be a plain name"):
        new_term(course_dir, "a b")


def test_a_course_id_that_differs_from_nbgrader_config_stops_every_command(course_dir, capsys):
    config = course_dir / "course" / "nbgrader_config.py"
    config.write_text('c = get_config()\nc.CourseDirectory.course_id = "dl-old"\n')
    for argv in (["check-sync"], ["grade", "mini"], ["collect", "mini", "--exchange", "x"]):
        assert main(["--course", str(course_dir), *argv]) == 2
        err = capsys.readouterr().err
        assert "course_id 'dl-test' differs from CourseDirectory.course_id 'dl-old'" in err
    config.write_text('c = get_config()\nc.CourseDirectory.course_id = "dl-test"\n')
    assert load_course(course_dir / "course" / "course.toml").course_id == "dl-test"
