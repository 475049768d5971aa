"""The journal: atomic one-file-per-job storage, validated reads, fingerprint checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from driver_fakes import ASSIGNMENT, TERM_SEED, make_course, prepared_result

from autograder.course_layout import CourseLayout
from autograder.job import GradingJob, JobResult, JobStatus
from autograder.journal import TEMP_PREFIX, Journal, JournalError


@pytest.fixture
def jobs(tmp_path: Path) -> list[GradingJob]:
    course = make_course(tmp_path / "course", students=("s01", "s02"))
    return CourseLayout.open(course).build_jobs(ASSIGNMENT, TERM_SEED)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "workspace" / "results")


def settled_result(job: GradingJob, status: JobStatus = JobStatus.GRADED) -> JobResult:
    result = JobResult.from_dict(prepared_result(job))
    result.status = status
    result.fingerprint = job.fingerprint()
    return result


def test_written_entry_reads_back_equal_at_its_documented_path(journal, jobs):
    result = settled_result(jobs[0])
    path = journal.write(result)
    assert path == journal.root / ASSIGNMENT / "s01" / "part1.json"
    assert journal.read(path).to_dict() == result.to_dict()
    assert json.loads(path.read_text())["student_id"] == "s01"


def test_rewriting_replaces_the_entry_and_leaves_no_temporary_file(journal, jobs):
    first = settled_result(jobs[0])
    journal.write(first)
    second = settled_result(jobs[0])
    second.score = 0.25
    path = journal.write(second)
    assert journal.read(path).score == 0.25
    assert sorted(p.name for p in path.parent.iterdir()) == ["part1.json"]


def test_a_write_that_fails_before_the_rename_keeps_the_old_entry(journal, jobs, monkeypatch):
    path = journal.write(settled_result(jobs[0]))
    before = path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    changed = settled_result(jobs[0])
    changed.score = 0.0
    # A full disk is named with the folder it filled, not passed on as a bare OSError.
    with pytest.raises(JournalError, match=f"cannot write the journal in {path.parent}: No space"):
        journal.write(changed)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["part1.json"]


def test_truncated_entry_is_refused_with_its_path_and_the_fix(journal, jobs):
    path = journal.write(settled_result(jobs[0]))
    path.write_text(path.read_text()[:40])
    with pytest.raises(JournalError) as caught:
        journal.read(path)
    assert str(path) in str(caught.value) and "delete it" in str(caught.value)


def test_entry_with_wrong_types_is_refused(journal, jobs):
    path = journal.write(settled_result(jobs[0]))
    data = json.loads(path.read_text())
    data["score"] = "10"
    path.write_text(json.dumps(data))
    with pytest.raises(JournalError, match="score must be a finite number"):
        journal.read(path)


def test_entry_stored_under_another_students_path_is_refused(journal, jobs):
    result = settled_result(jobs[0])
    path = journal.write(result)
    moved = path.parent.parent / "s02" / "part1.json"
    moved.parent.mkdir()
    path.rename(moved)
    with pytest.raises(JournalError, match="belongs in"):
        journal.read(moved)


def test_has_is_true_only_for_a_final_entry_with_the_current_fingerprint(journal, jobs):
    job = jobs[0]
    assert journal.settled(job) is None
    journal.write(settled_result(job))
    assert journal.settled(job) is not None
    journal.write(settled_result(job, JobStatus.TIMEOUT))
    assert journal.settled(job) is not None
    for status in (JobStatus.ERROR, JobStatus.AWAITING_GPU):
        journal.write(settled_result(job, status))
        assert journal.settled(job) is None, status


def test_has_is_false_once_the_submission_changes(journal, jobs):
    job = jobs[0]
    journal.write(settled_result(job))
    job.submission_path.write_text(job.submission_path.read_text() + " ")
    assert journal.settled(job) is None


def test_damaged_entry_counts_as_missing_so_the_job_is_graded_again(journal, jobs):
    job = jobs[0]
    path = journal.write(settled_result(job))
    path.write_text("{not json")
    assert journal.get(job) is None
    assert journal.settled(job) is None
    assert journal.exists(job)


def test_names_that_would_leave_the_journal_folder_are_refused(journal, jobs):
    result = settled_result(jobs[0])
    for bad in ("../escape", ".hidden", "", "a/b"):
        result.student_id = bad
        with pytest.raises(JournalError, match="journal path component"):
            journal.write(result)
    assert not (journal.root.parent / "escape").exists()


def test_entries_are_sorted_and_report_bad_files_without_stopping(journal, jobs):
    for job in jobs:
        journal.write(settled_result(job))
    bad = journal.root / ASSIGNMENT / "s01" / "part2.json"
    bad.write_text("[]")
    (journal.root / ASSIGNMENT / "s02" / f"{TEMP_PREFIX}left.json").write_text("{")
    listed = list(journal.entries(ASSIGNMENT))
    assert [path.relative_to(journal.root).as_posix() for path, _ in listed] == [
        "hw1/s01/part1.json",
        "hw1/s01/part2.json",
        "hw1/s02/part1.json",
        "hw1/s02/part2.json",
    ]
    assert isinstance(listed[1][1], JournalError)
    assert all(isinstance(entry, JobResult) for i, (_, entry) in enumerate(listed) if i != 1)


def test_remove_temporaries_deletes_only_leftover_temporary_files(journal, jobs):
    path = journal.write(settled_result(jobs[0]))
    leftover = path.parent / f"{TEMP_PREFIX}abc.json"
    leftover.write_text("{")
    assert journal.remove_temporaries(ASSIGNMENT) == 1
    assert not leftover.exists() and path.exists()
