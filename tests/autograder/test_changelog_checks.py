"""``changelog`` reports changed visible-check data, through the real command."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.instructor.cli import main


def _release(folder: Path, seed: int) -> Path:
    """A release folder holding only visible-check files, drawn from ``seed``."""
    checks = folder / "checks"
    checks.mkdir(parents=True)
    values = np.random.default_rng(seed).normal(size=3)
    np.savez(checks / "relu_forward_test.npz", x=values)
    np.savez(checks / "fixed_test.npz", x=np.arange(3))
    return folder


def test_a_new_term_s_check_data_is_reported(tmp_path: Path, capsys) -> None:
    old, new = _release(tmp_path / "old", 1), _release(tmp_path / "new", 2)
    (new / "checks" / "added_test.npz").write_bytes((new / "checks/fixed_test.npz").read_bytes())
    assert main(["changelog", str(old), str(new)]) == 0
    printed = capsys.readouterr().out
    assert "check data changed:" in printed
    assert "checks/relu_forward_test.npz\n" in printed
    assert "checks/added_test.npz (added)" in printed
    assert "fixed_test" not in printed  # same data, not listed
    assert main(["changelog", str(old), str(old)]) == 0
    assert capsys.readouterr().out.strip() == "no changes"
