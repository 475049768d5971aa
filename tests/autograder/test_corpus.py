"""The adversarial corpus against the real driver, local executor and default box.

Three levels:

- the corpus itself (fast): it builds, covers every attack class, plants its canaries;
- a quick subset (default suite, well under a minute of grading): six attacks of the most
  direct kinds beside two controls, judged by every harm figure;
- the full corpus (``slow``): every attack, the controls, a neighbour control after each
  disruptive attack, the controls graded again alone, and the audit's positive
  control: escaping attacks graded *without* isolation, which the audit must catch.

The figures and the evidence behind them come from :mod:`corpus.audit`; each assertion
prints the evidence when it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus.attacks import BASE_SCORE, QUICK_ATTACKS, all_attacks
from corpus.audit import HARMS
from corpus.build import CANARY_PLACES, build_corpus, new_marker
from corpus.controls import CONTROLS
from corpus.draft import ESCAPE_PREFIX, AttackClass
from corpus.grading import INSECURE_JOB_FN
from corpus.notebooks import AUTOGRADED_MAX
from corpus.scan import canary_hits, clean_up, escape_files, processes_with
from corpus.session import Session, run_session

ESCAPING_ATTACKS = ("read-known-paths", "secret-proc", "net-tcp", "gb-sqlite")
"""Attacks that succeed on a machine without isolation (and do no damage there)."""

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the insecure positive control runs jobs as root"
)


def _attacks(ids: tuple[str, ...]) -> list:
    chosen = [attack for attack in all_attacks() if attack.id in ids]
    assert len(chosen) == len(ids), "an attack id of the test is not in the corpus"
    return chosen


def _controls(*ids: str) -> tuple:
    return tuple(control for control in CONTROLS if control.id in ids)


# --- the corpus itself ------------------------------------------------------------------


def test_corpus_covers_every_attack_class(tmp_path: Path) -> None:
    attacks = all_attacks()
    assert len(attacks) >= 30
    assert {attack.kind for attack in attacks} == set(AttackClass)
    course = build_corpus(tmp_path / "course", loopback_port=9)
    assert len(course.attacks()) == len(attacks)
    for student in course.students:
        folder = course.root / "submitted" / student / "mini"
        assert any(folder.iterdir()), f"{student} submitted nothing"


def test_every_attack_changes_the_base_submission(tmp_path: Path) -> None:
    course = build_corpus(tmp_path / "course", loopback_port=9)
    wrong = next(s for s in course.controls() if s.name == "wrong")
    base = (course.root / "submitted" / wrong.id / "mini" / "mini.ipynb").read_bytes()
    for student in course.attacks():
        folder = course.root / "submitted" / student.id / "mini"
        notebook = folder / "mini.ipynb"
        same = notebook.is_file() and not notebook.is_symlink() and notebook.read_bytes() == base
        assert not same or len(list(folder.iterdir())) > 1, f"{student.name} changed nothing"


def test_canaries_are_planted_where_the_audit_expects_them(tmp_path: Path) -> None:
    course = build_corpus(tmp_path / "course", loopback_port=9)
    assert set(course.canaries) == set(CANARY_PLACES)
    for place, files in course.planted.items():
        for path in files:
            assert course.canaries[place].encode() in path.read_bytes(), (place, path)
    assert course.planted["env"] == ()  # lives in the grading process's environment only


def test_the_scans_find_a_marked_orphan_escape_files_and_canaries(tmp_path: Path) -> None:
    marker = new_marker()
    # An orphan (its parent exits at once), as a daemon left by a job would be.
    sleeper = f"[sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}]"
    spawn = f"import subprocess, sys; subprocess.Popen({sleeper})"
    subprocess.run([sys.executable, "-c", spawn], check=True)
    escape = tmp_path / "deep" / f"{ESCAPE_PREFIX}{marker}-x"
    escape.parent.mkdir()
    escape.write_text("canary-solution-0123 was here", encoding="utf-8")
    try:
        orphans = processes_with(marker)
        assert [p.evidence for p in orphans] == ["cmdline"]
        assert escape_files(marker, [tmp_path]) == [escape]
        hits = canary_hits({"solution": "canary-solution-0123", "victim": "nope"}, [tmp_path])
        assert hits == [("solution", escape)]
    finally:
        assert clean_up(marker, [tmp_path]) == 2
    assert processes_with(marker) == [] and not escape.exists()


# --- a quick subset (default suite) -------------------------------------------------------


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return run_session(
        tmp_path_factory.mktemp("quick"),
        attacks=_attacks(QUICK_ATTACKS),
        controls=_controls("correct", "wrong"),
        neighbours=False,
        grade_alone=False,
        grace_seconds=1.0,  # no persistence attack in the subset
    )


def test_quick_subset_does_no_harm(quick: Session) -> None:
    report = quick.report
    assert report.harm_counts() == dict.fromkeys(report.harm_counts(), 0), report.to_dict()
    assert report.scores[next(s.id for s in quick.course.controls() if s.name == "correct")] == (
        AUTOGRADED_MAX
    )


# --- the full corpus ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return run_session(tmp_path_factory.mktemp("full"))


@pytest.mark.slow
def test_every_student_has_a_result_and_the_batch_completed(full: Session) -> None:
    report = full.report
    assert report.batch_aborts == []
    assert set(report.scores) == set(full.course.students)
    control_errors = [e for e in report.grader_errors if "-ctl-" in e or "-nbr-" in e]
    assert control_errors == []


@pytest.mark.slow
def test_no_attack_scores_above_its_wrong_base(full: Session) -> None:
    assert BASE_SCORE == 0
    assert full.report.score_inflations == []


@pytest.mark.slow
def test_controls_get_their_expected_scores(full: Session) -> None:
    assert full.report.control_mismatches == []
    expected = {s.id: s.expected for s in full.course.controls()}
    assert {s: full.report.scores[s] for s in expected} == expected


@pytest.mark.slow
def test_cohort_scores_equal_the_scores_graded_alone(full: Session) -> None:
    assert full.report.others_changed == []


@pytest.mark.slow
def test_no_canary_leaves_its_place_and_nothing_reaches_the_network(full: Session) -> None:
    assert full.report.canary_leaks == []
    assert full.report.network_reached == []


@pytest.mark.slow
def test_nothing_is_written_outside_the_sandbox_and_no_record_is_tampered(full: Session) -> None:
    assert full.report.escapes == []
    assert full.report.tampering == []


@pytest.mark.slow
def test_no_process_outlives_its_job(full: Session) -> None:
    assert full.report.leftover_processes == []


@pytest.mark.slow
def test_jobs_report_their_isolation_layers(full: Session) -> None:
    for layer in ("process_group", "rlimits", "wall_clock_kill", "scrubbed_env"):
        assert layer in full.report.layers_active


# --- the audit's positive control -----------------------------------------------------------


@pytest.mark.slow
@needs_root
def test_the_audit_catches_escapes_when_isolation_is_off(tmp_path: Path) -> None:
    """Same attacks, no bubblewrap and root jobs: the harm figures must light up."""
    session = run_session(
        tmp_path,
        attacks=_attacks(ESCAPING_ATTACKS),
        controls=_controls("wrong", "victim"),
        neighbours=False,
        grade_alone=False,
        job_fn=INSECURE_JOB_FN,
    )
    report = session.report
    assert report.network_reached, report.to_dict()
    assert report.escapes
    leaked = {entry.split(" ->")[0] for entry in report.canary_leaks}
    assert {"solution", "specs", "victim", "env"} <= leaked
    assert any("gradebook" in entry for entry in report.tampering)


# --- the benchmark script -------------------------------------------------------------------


@pytest.mark.slow
def test_adversarial_benchmark_quick_run_exits_zero_with_its_figures(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_adversarial.py"
    out = tmp_path / "adversarial.json"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["attacks_tried"] == len(QUICK_ATTACKS)
    assert set(data["harm_counts"]) == set(HARMS)
    assert sum(data["harm_counts"].values()) == 0
    assert "layers_active" in data and "worst_overshoot_seconds" in data
