"""Per-test pass-rate table: counts, means, order and output formats."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from reports_fixtures import NOTEBOOK, make_result, make_template

from autograder.job import JobStatus, VerdictStatus
from autograder.reports.passrate import PassRateRow, format_table, pass_rates, write_csv

V = VerdictStatus


def _class_results():
    return [
        make_result("s1", {"relu_forward_test": V.PASSED, "softmax_loss_test": V.PASSED}),
        make_result(
            "s2",
            {"relu_forward_test": V.PARTIAL, "softmax_loss_test": V.FAILED},
            points={"relu_forward_test": 1.0},
        ),
        make_result("s3", {"relu_forward_test": V.MISSING, "gpu_speed_test": V.AWAITING_GPU}),
        make_result("s4", {}, status=JobStatus.ERROR),
        make_result("x1", {"relu_forward_test": V.PASSED}, assignment="a2"),
    ]


def test_counts_and_mean_points_per_test() -> None:
    rows = {row.test_id: row for row in pass_rates(_class_results(), "a1")}
    relu = rows["relu_forward_test"]
    assert (relu.passed, relu.partial, relu.failed, relu.missing) == (1, 1, 0, 1)
    assert relu.not_graded == 1 and relu.awaiting_gpu == 0
    assert relu.mean_points == pytest.approx((2.0 + 1.0 + 0.0) / 3)
    assert relu.pass_rate == pytest.approx(1 / 3)
    softmax = rows["softmax_loss_test"]
    assert (softmax.passed, softmax.failed, softmax.not_graded) == (1, 1, 2)
    assert softmax.mean_points == pytest.approx(1.5)


def test_awaiting_gpu_is_not_averaged_as_zero() -> None:
    rows = {row.test_id: row for row in pass_rates(_class_results(), "a1")}
    gpu = rows["gpu_speed_test"]
    assert gpu.awaiting_gpu == 1 and gpu.scored == 0
    assert math.isnan(gpu.mean_points) and math.isnan(gpu.pass_rate)


def test_templates_give_notebook_order_and_untouched_tests() -> None:
    results = [make_result("s1", {"softmax_loss_test": V.PASSED})]
    rows = pass_rates(results, templates={NOTEBOOK: make_template()})
    assert [row.test_id for row in rows] == [
        "relu_forward_test",
        "softmax_loss_test",
        "gpu_speed_test",
    ]
    assert rows[0].not_graded == 1 and rows[0].max_points == 2.0


def test_mixed_assignments_need_a_choice() -> None:
    with pytest.raises(ValueError, match="results span assignments a1, a2: pass assignment="):
        pass_rates(_class_results())


def test_format_table_aligns_columns() -> None:
    table = format_table(pass_rates(_class_results(), "a1"))
    lines = table.splitlines()
    assert lines[0].split() == [
        "notebook", "test", "passed", "partial", "failed", "missing", "gpu", "ungraded",
        "pass", "rate", "mean", "/", "max", "verdict",
    ]  # fmt: skip
    assert lines[1].split() == [NOTEBOOK, "relu_forward_test", "1", "1", "0", "1", "0", "1",
                                "33%", "1.00", "/", "2", "trusted", "verdict"]  # fmt: skip
    assert lines[3].split()[-6:-2] == ["–", "–", "/", "1"]
    # Right-aligned numbers end in the same column on every line.
    assert len({len(line) for line in lines}) == 1


def test_write_csv_round_trips(tmp_path: Path) -> None:
    rows = pass_rates(_class_results(), "a1")
    path = write_csv(rows, tmp_path / "out" / "passrate.csv")
    with path.open(newline="") as handle:
        parsed = list(csv.DictReader(handle))
    assert [r["test_id"] for r in parsed] == [r.test_id for r in rows]
    assert parsed[0]["passed"] == "1" and float(parsed[0]["mean_points"]) == 1.0
    assert parsed[2]["mean_points"] == "" and parsed[2]["pass_rate"] == ""
    assert PassRateRow.__dataclass_fields__.keys() <= parsed[0].keys()
