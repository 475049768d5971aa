"""The LMS zip import: mapping, resubmissions, and refusing hostile archives."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from autograder.lms import (
    LmsImportConfig,
    LmsZipError,
    Roster,
    RosterError,
    import_lms_zip,
)
from autograder.reports.export import StudentInfo

# With the byte-order mark spreadsheets write, and an empty email.
ROSTER_CSV = (
    "\ufefflms_id,student_id,first_name,last_name,email\n"
    "123,jdoe,Jane,Doe,jd@x.org\n"
    "124,jsmith,John,Smith,\n"
    "125,aturing,Alan,Turing,\n"
)
SMALL = LmsImportConfig(max_file_bytes=4096, ratio_floor_bytes=2048, max_ratio=50.0)


def _zip(path: Path, entries: dict[str, bytes | zipfile.ZipInfo]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _nb(tag: str) -> bytes:
    return json.dumps({"cells": [], "metadata": {}, "tag": tag}).encode()


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return path


def test_canvas_names_are_placed_under_student_ids(tmp_path: Path, roster: Path) -> None:
    archive = _zip(
        tmp_path / "a1.zip",
        {
            "doejane_123_456_a1_activations.ipynb": _nb("jane"),
            "smithjohn_LATE_124_457_a1_activations.ipynb": _nb("john"),
        },
    )
    report = import_lms_zip(archive, tmp_path / "course", "a1", roster)
    submitted = tmp_path / "course" / "submitted"
    assert (submitted / "jdoe" / "a1" / "a1_activations.ipynb").read_bytes() == _nb("jane")
    assert (submitted / "jsmith" / "a1" / "a1_activations.ipynb").read_bytes() == _nb("john")
    late = {item.student_id: item.late for item in report.imported}
    assert late == {"jdoe": False, "jsmith": True}
    assert report.missing_students == ["aturing"]
    assert report.skipped == [] and report.unmatched == []


def test_folder_style_entries_are_accepted(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a1.zip", {"export/u-77/hw.ipynb": _nb("x")})
    report = import_lms_zip(archive, tmp_path / "course", "a1", {"u-77": "s77"})
    assert [item.path for item in report.imported] == [
        tmp_path / "course" / "submitted" / "s77" / "a1" / "hw.ipynb"
    ]


def test_newest_resubmission_wins_and_loses_its_suffix(tmp_path: Path, roster: Path) -> None:
    archive = _zip(
        tmp_path / "a1.zip",
        {
            "doejane_123_456_hw1.ipynb": _nb("first"),
            "doejane_123_900_hw1-2.ipynb": _nb("third"),
            "doejane_123_780_hw1-1.ipynb": _nb("second"),
        },
    )
    report = import_lms_zip(archive, tmp_path / "course", "a1", roster)
    target = tmp_path / "course" / "submitted" / "jdoe" / "a1" / "hw1.ipynb"
    assert target.read_bytes() == _nb("third")
    assert [item.name for item in report.imported] == ["hw1.ipynb"]
    older = sorted(s.entry for s in report.superseded)
    assert older == ["doejane_123_456_hw1.ipynb", "doejane_123_780_hw1-1.ipynb"]
    assert all("older resubmission" in s.reason for s in report.superseded)
    assert report.skipped == []  # an ordinary resubmission is nothing to look at
    assert list(target.parent.iterdir()) == [target]


def test_expected_name_ending_in_a_number_is_not_a_resubmission(
    tmp_path: Path, roster: Path
) -> None:
    archive = _zip(tmp_path / "a1.zip", {"doejane_123_456_layer-2.ipynb": _nb("x")})
    config = LmsImportConfig(expected_names=("layer-2.ipynb",))
    report = import_lms_zip(archive, tmp_path / "course", "a1", roster, config)
    assert [item.name for item in report.imported] == ["layer-2.ipynb"]


def test_unknown_lms_id_is_reported_not_dropped(tmp_path: Path, roster: Path) -> None:
    archive = _zip(
        tmp_path / "a1.zip",
        {"nobody_999_111_hw1.ipynb": _nb("?"), "doejane_123_456_hw1.ipynb": _nb("jane")},
    )
    report = import_lms_zip(archive, tmp_path / "course", "a1", roster)
    assert [(u.lms_id, u.entry) for u in report.unmatched] == [("999", "nobody_999_111_hw1.ipynb")]
    assert [item.student_id for item in report.imported] == ["jdoe"]
    assert "unmatched LMS id 999: nobody_999_111_hw1.ipynb" in report.summary()


def test_hostile_entries_are_skipped_with_reasons(tmp_path: Path, roster: Path) -> None:
    link = zipfile.ZipInfo("doejane_123_456_link.ipynb")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = tmp_path / "a1.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("../../doejane_123_456_evil.ipynb", _nb("slip"))
        zf.writestr("/abs/doejane_123_457_evil.ipynb", _nb("abs"))
        zf.writestr(link, "/etc/passwd")
        zf.writestr("smithjohn_124_458_big.ipynb", b"x" * 5000 + bytes(range(256)) * 8)
        zf.writestr("smithjohn_124_459_bomb.ipynb", b"\0" * 4000)
        zf.writestr("__MACOSX/._doejane_123_456_hw1.ipynb", b"junk")
        zf.writestr("doejane_123_456_notes.pdf", b"%PDF")
        zf.writestr("readme.txt", b"hello")
        zf.writestr("doejane_123_456_hw1.ipynb", _nb("ok"))
    report = import_lms_zip(archive, tmp_path / "course", "a1", roster, SMALL)
    reasons = {s.entry: s.reason for s in report.skipped}
    assert "unsafe path" in reasons["../../doejane_123_456_evil.ipynb"]
    assert "unsafe path" in reasons["/abs/doejane_123_457_evil.ipynb"]
    assert "symbolic link" in reasons["doejane_123_456_link.ipynb"]
    assert "over the 4096-byte cap" in reasons["smithjohn_124_458_big.ipynb"]
    assert "zip bomb" in reasons["smithjohn_124_459_bomb.ipynb"]
    assert "system file" in reasons["__MACOSX/._doejane_123_456_hw1.ipynb"]
    assert "not a notebook" in reasons["doejane_123_456_notes.pdf"]
    assert "no LMS id" in reasons["readme.txt"]
    assert [item.entry for item in report.imported] == ["doejane_123_456_hw1.ipynb"]
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [
        Path("a1.zip"),
        Path("course/submitted/jdoe/a1/hw1.ipynb"),
        Path("roster.csv"),
    ]


def test_reimport_replaces_atomically(tmp_path: Path, roster: Path) -> None:
    first = _zip(tmp_path / "1.zip", {"doejane_123_456_hw1.ipynb": _nb("old")})
    second = _zip(tmp_path / "2.zip", {"doejane_123_457_hw1.ipynb": _nb("new")})
    assert not import_lms_zip(first, tmp_path / "c", "a1", roster).imported[0].replaced
    report = import_lms_zip(second, tmp_path / "c", "a1", roster)
    assert report.imported[0].replaced
    folder = tmp_path / "c" / "submitted" / "jdoe" / "a1"
    assert [p.name for p in folder.iterdir()] == ["hw1.ipynb"]
    assert (folder / "hw1.ipynb").read_bytes() == _nb("new")


def test_student_folder_symlinked_elsewhere_is_not_written_through(
    tmp_path: Path, roster: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "course" / "submitted").mkdir(parents=True)
    (tmp_path / "course" / "submitted" / "jdoe").symlink_to(outside)
    archive = _zip(tmp_path / "a1.zip", {"doejane_123_456_hw1.ipynb": _nb("x")})
    report = import_lms_zip(archive, tmp_path / "course", "a1", roster)
    assert report.imported == []
    assert "leads outside" in report.skipped[0].reason
    assert list(outside.iterdir()) == []


def test_archive_declaring_too_much_is_refused_whole(tmp_path: Path, roster: Path) -> None:
    archive = _zip(
        tmp_path / "a1.zip", {f"doejane_123_{i}_hw1.ipynb": b"0" * 600 for i in range(4)}
    )
    config = LmsImportConfig(max_total_bytes=2000)
    with pytest.raises(LmsZipError, match="unpacks to 2400 bytes, more than max_total_bytes=2000"):
        import_lms_zip(archive, tmp_path / "course", "a1", roster, config)
    assert not (tmp_path / "course").exists()


def test_not_a_zip_is_a_clear_error(tmp_path: Path, roster: Path) -> None:
    bogus = tmp_path / "a1.zip"
    bogus.write_text("<html>login page</html>")
    with pytest.raises(LmsZipError, match="cannot open .* as a zip.*download it again"):
        import_lms_zip(bogus, tmp_path / "course", "a1", roster)


def test_bad_assignment_name_is_refused(tmp_path: Path, roster: Path) -> None:
    archive = _zip(tmp_path / "a1.zip", {})
    with pytest.raises(ValueError, match="assignment '../a1' cannot be used in a file name"):
        import_lms_zip(archive, tmp_path / "course", "../a1", roster)


def test_roster_csv_gives_student_info(roster: Path) -> None:
    loaded = Roster.from_csv(roster)
    assert loaded.entries["123"].student_id == "jdoe"
    assert loaded.entries["124"].info == StudentInfo("John", "Smith", None, lms_user_id="124")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("id,student\n1,a\n", r"needs a header with lms_id and student_id"),
        ("lms_id,student_id\n1,a\n1,b\n", r"line 3: lms_id '1' is listed twice"),
        ("lms_id,student_id\n1,\n", r"line 2: student_id is empty"),
        ("lms_id,student_id\n1,../x\n", r"line 2: student_id '../x' cannot be used"),
    ],
)
def test_bad_roster_names_the_line_and_the_fix(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError, match=match):
        Roster.from_csv(path)


def test_missing_roster_file_is_a_roster_error(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="cannot read roster"):
        Roster.from_csv(tmp_path / "nope.csv")
