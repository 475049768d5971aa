"""Collecting from the exchange takes time and identity from the course's side: the
kernel's change times and the folder's owner, never the student's stamp or name alone.
(The same attacks graded end to end: ``test_front_door.py``.)"""

from __future__ import annotations

import getpass
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from instructor_course import make_course

from autograder.course_layout import CourseLayout
from autograder.driver import _student_timed, prepare_run
from autograder.instructor.cli import main
from autograder.instructor.collect import STAMP_GRACE, collect_exchange

EARLY = "2026-09-01 08:00:00.000000 UTC"
ME = getpass.getuser()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@pytest.fixture()
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "repo")


def _submit(exchange: Path, name: str, stamp: str, text: str = "{}") -> Path:
    """A folder as nbgrader submit leaves it, made by this test's account."""
    folder = exchange / "dl-test" / "inbound" / f"{name}+mini+{stamp}+r4nd"
    folder.mkdir(parents=True)
    (folder / "mini.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text(stamp)
    return folder


def test_a_forged_early_stamp_is_timed_by_the_exchange_not_by_the_student(course, tmp_path):
    folder = _submit(tmp_path / "ex", ME, EARLY)
    early = datetime(2026, 9, 1, 8).timestamp()
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (early, early))  # the owner may set modification times; not ctime
    before = _utcnow()
    report = collect_exchange("mini", tmp_path / "ex", course, workspace=tmp_path / "ws")
    assert report.collected == {ME: folder.name}
    when, from_course = CourseLayout(tmp_path / "ws").submission_time(ME, "mini")
    assert from_course and before - timedelta(minutes=5) <= when <= _utcnow()
    # The student's copy is still there, as nbgrader collect leaves it, but unused.
    assert (tmp_path / "ws/submitted" / ME / "mini/timestamp.txt").read_text() == EARLY


def test_nbgraders_own_stamp_is_kept_when_it_is_just_before_the_exchange_time(course, tmp_path):
    stamp = _utcnow() - STAMP_GRACE / 4
    folder = _submit(tmp_path / "ex", ME, stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    collect_exchange("mini", tmp_path / "ex", course, workspace=tmp_path / "ws")
    when, _ = CourseLayout(tmp_path / "ws").submission_time(ME, "mini")
    assert when == stamp, folder


def test_a_folder_under_someone_elses_name_is_refused_with_one_sentence(course, tmp_path):
    claimed = "classmate" if ME != "classmate" else "other"
    folder = _submit(tmp_path / "ex", claimed, EARLY, "blank")
    report = collect_exchange("mini", tmp_path / "ex", course, workspace=tmp_path / "ws")
    assert report.collected == {}
    assert report.refused == [
        (
            folder.name,
            f"submitted under {claimed}'s name by {ME}, who owns the folder: not collected, "
            f"and {claimed}'s own work is kept",
        )
    ]
    assert not (tmp_path / "ws/submitted" / claimed).exists()
    assert "REFUSED" in report.summary()


def test_without_a_receipt_the_time_is_the_students_own_and_the_run_says_so(course, tmp_path):
    layout_root = tmp_path / "ws"
    collect_exchange("mini", _empty_exchange(tmp_path), course, workspace=layout_root)
    folder = layout_root / "submitted" / "s1" / "mini"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text(EARLY)
    assert CourseLayout(layout_root).submission_time("s1", "mini") == (
        datetime(2026, 9, 1, 8),
        False,
    )
    (line,) = _student_timed(prepare_run(layout_root, "mini"), ["s1"])
    assert line.startswith("s1: the late penalty rests on the student's own timestamp.txt")


def _empty_exchange(tmp_path: Path) -> Path:
    (tmp_path / "ex" / "dl-test" / "inbound").mkdir(parents=True)
    return tmp_path / "ex"


def test_the_command_line_refuses_by_default_and_can_turn_the_check_off(course, tmp_path, capsys):
    claimed = "classmate" if ME != "classmate" else "other"
    _submit(tmp_path / "ex", claimed, EARLY)
    where = ["--course", str(course), "collect", "mini", "--exchange", str(tmp_path / "ex")]
    assert main([*where, "--nbgrader-root", str(tmp_path / "ws")]) == 1
    assert "1 refused" in capsys.readouterr().out
    assert main([*where, "--nbgrader-root", str(tmp_path / "ws"), "--no-check-owner"]) == 0
    assert (tmp_path / "ws/submitted" / claimed / "mini/mini.ipynb").is_file()
