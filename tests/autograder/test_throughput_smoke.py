"""Smoke tests of ``benchmarks/bench_throughput.py``: it runs, writes its JSON, scores everyone.

The default-suite test grades four submissions with our local executor only; the slow
one adds stock nbgrader and the Dask cluster, and needs every score to match stock's.
No timing is asserted: the figures are measurements.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_throughput.py"
TOP_KEYS = {
    "submissions",
    "workers",
    "box",
    "cpu_count",
    "machine",
    "target_speedup",
    "modes",
    "speedups_over_stock",
    "expected_scores",
    "scores_identical",
    "problems",
}
MODE_KEYS = {"name", "seconds", "scores", "error", "box_hint", "notebooks_per_minute"}


def run_benchmark(tmp_path: Path, *options: str) -> dict:
    out = tmp_path / "throughput.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out), *options],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_quick_run_scores_every_submission(tmp_path: Path) -> None:
    data = run_benchmark(tmp_path, "--no-stock", "--no-dask")
    assert set(data) == TOP_KEYS
    assert data["submissions"] == 4 and data["scores_identical"] is True
    (mode,) = data["modes"].values()
    assert set(mode) == MODE_KEYS and mode["error"] == ""
    assert mode["scores"] == data["expected_scores"]
    assert all(score is not None for score in mode["scores"].values())
    assert data["speedups_over_stock"] == {}


@pytest.mark.slow
def test_quick_run_matches_stock_nbgrader_in_every_mode(tmp_path: Path) -> None:
    data = run_benchmark(tmp_path)
    assert data["problems"] == [] and data["scores_identical"] is True
    assert len(data["modes"]) == 3
    stock = data["modes"]["stock nbgrader"]["scores"]
    assert stock == data["expected_scores"]
    for mode in data["modes"].values():
        assert mode["scores"] == stock
    assert set(data["speedups_over_stock"]) == {"ours, local (2 workers)", "ours, Dask (2 workers)"}
