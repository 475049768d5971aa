"""The seed of the graded inputs is the course team's secret; the visible checks' is public.

Issue 11, row 3: a student who reads the term seed can recompute their own hidden inputs.
The seed that draws every graded input lives in ``course/secrets/<term>.toml``
(git-ignored); the committed term file holds only the public ``visible_seed`` of the
shipped checks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from instructor_course import TERM_TOML, make_course

from autograder.course import CourseError
from autograder.instructor import current_term, load_term, new_term
from autograder.instructor.terms import SECRETS_DIR, secret_path, term_path

REPO = Path(__file__).resolve().parents[2]


def test_new_term_keeps_the_secret_seed_out_of_the_term_file(tmp_path):
    root = make_course(tmp_path)
    path = new_term(root, "2027-fall")
    term = load_term(path)
    text = path.read_text()
    assert f"visible_seed = {term.visible_seed}" in text
    assert str(term.seed) not in text and term.seed != term.public_seed
    secret = secret_path(root, "2027-fall")
    assert f"seed = {term.seed}" in secret.read_text()
    assert secret.stat().st_mode & 0o077 == 0  # the course team's account only
    # Reading it again gives the same secret (graded inputs stay the same on regrade).
    assert load_term(path).seed == term.seed


def test_a_missing_secret_is_created_once_with_a_sentence(tmp_path, capsys):
    root = make_course(tmp_path)
    path = term_path(root, "2026-fall")
    path.write_text(TERM_TOML.replace("seed = 11", "visible_seed = 11"))
    first = current_term(root)
    assert "got a fresh secret seed" in capsys.readouterr().err
    assert first.public_seed == 11 and first.seed != 11
    assert current_term(root).seed == first.seed
    assert capsys.readouterr().err == ""


def test_a_committed_secret_next_to_a_visible_seed_is_refused(tmp_path):
    root = make_course(tmp_path)
    term_path(root, "2026-fall").write_text(
        TERM_TOML.replace("seed = 11", "seed = 11\nvisible_seed = 12")
    )
    with pytest.raises(CourseError, match="must not be in a committed term file"):
        current_term(root)


def test_the_course_commits_no_secret_seed():
    """Every term file of the repository splits its seeds, the secrets folder is ignored
    by git, and no tracked file holds the current term's secret seed."""
    terms = sorted((REPO / "course" / "terms").glob("*.toml"))
    assert terms
    for path in terms:
        assert "visible_seed" in path.read_text(), f"{path.name} still commits its seed"
    secret = current_term(REPO).seed
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(SECRETS_DIR / "2026-fall.toml")], cwd=REPO, check=False
    )
    assert ignored.returncode == 0, "course/secrets/ must be git-ignored"
    found = subprocess.run(
        ["git", "grep", "-l", "-F", str(secret)], cwd=REPO, capture_output=True, text=True
    )
    assert found.stdout == "", f"the secret seed is committed in {found.stdout}"


def test_a_new_term_and_the_sync_check_need_no_secret(tmp_path, capsys):
    root = make_course(tmp_path)
    term_path(root, "2026-fall").write_text(TERM_TOML.replace("seed = 11", "visible_seed = 11"))
    new_term(root, "2027-fall")
    assert current_term(root, secret=False).seed == 11
    assert not secret_path(root, "2026-fall").exists() and capsys.readouterr().err == ""
