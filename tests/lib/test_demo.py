"""Does the demo's main job deliver what it prints: a trained network and passing checks?"""

from __future__ import annotations

import numpy as np

from dlcourse.demo import gradchecks, network, speed
from dlcourse.functional import losses


def test_every_layer_in_the_demo_passes_its_gradient_check():
    checks = gradchecks.run_all()
    failed = {c.name: c.errors for c in checks if not c.passed}
    assert not failed, f"gradient checks failed: {failed}"
    # Every parameter-free activation, every loss and every layer family is covered.
    names = {c.name for c in checks}
    assert {"linear", "relu", "softmax cross-entropy", "layer norm", "group norm"} <= names
    assert "soft cross-entropy" in names


def test_the_demo_gradient_check_fails_a_wrong_gradient():
    """The check can fail: a loss whose gradient is off by a factor 2 is caught."""

    def doubled(scores, y):
        loss, dscores = losses.mse_loss(scores, y)
        return loss, 2 * dscores

    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert gradchecks._loss_check("mse", losses.mse_loss, scores, y).passed
    broken = gradchecks._loss_check("mse, gradient doubled", doubled, scores, y)
    assert not broken.passed and broken.worst > 0.1


def test_the_demo_network_learns_the_digits_well_above_chance():
    result = network.train_on_digits(num_epochs=4, progress=False)
    assert result.test_accuracy > 0.9, f"test accuracy {result.test_accuracy:.3f}"
    assert result.history.loss[-1] < result.history.loss[0]


def test_the_speed_comparison_times_a_warmed_up_call_and_reports_the_median(monkeypatch):
    # A fake clock: each timed call lasts 5, 1 and 3 time units in turn.
    ticks = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(ticks))
    calls = []
    assert speed._median_seconds(lambda: calls.append(1), repeat=3) == 3.0
    assert len(calls) == 4  # one untimed warm-up call, then the three timed ones


def test_the_speed_comparison_reports_both_timings():
    s = speed.conv_speedup(repeat=1)
    assert s.naive_seconds > 0 and s.fast_seconds > 0
    assert "(8, 3, 16, 16)" in s.shape
