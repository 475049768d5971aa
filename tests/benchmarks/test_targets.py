"""The benchmarks' shared target rule: report a miss, and exit 1 on it only when asked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _targets import add_enforce_flag, targets_status  # noqa: E402


def test_met_targets_exit_0_with_or_without_the_switch(capsys):
    assert targets_status([], enforce=False) == 0
    assert targets_status([], enforce=True) == 0
    assert capsys.readouterr().out == "all targets met\nall targets met\n"


def test_a_miss_is_printed_and_exits_1_only_when_enforced(capsys):
    misses = ["conv forward: 1.80 > 1.5"]
    assert targets_status(misses, enforce=False) == 0
    reported = capsys.readouterr().out
    assert "TARGETS MISSED (1): conv forward: 1.80 > 1.5" in reported
    assert "--enforce-targets" in reported  # says how to make it fatal
    assert targets_status(misses, enforce=True) == 1
    assert "TARGETS MISSED (1)" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "expected"), [([], False), (["--enforce-targets"], True)])
def test_the_switch_is_off_by_default(argv, expected):
    parser = argparse.ArgumentParser()
    add_enforce_flag(parser)
    assert parser.parse_args(argv).enforce_targets is expected


@pytest.mark.parametrize(
    "script", sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("bench_*.py"))
)
def test_every_benchmark_offers_the_switch(script):
    source = script.read_text(encoding="utf-8")
    assert "add_enforce_flag(parser)" in source and "targets_status(" in source


def test_a_report_lands_as_json_in_a_folder_made_for_it(tmp_path, capsys):
    from _targets import write_report

    path = tmp_path / "results" / "bench.json"
    write_report(path, {"ratio": 0.97, "rows": [1, 2]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"ratio": 0.97, "rows": [1, 2]}
    assert f"wrote {path}" in capsys.readouterr().out
