"""Does the demo's main job deliver what it prints: a trained network and passing checks?"""

from __future__ import annotations

from dlcourse.demo import gradchecks, network, speed


def test_every_layer_in_the_demo_passes_its_gradient_check():
    checks = gradchecks.run_all()
    failed = {c.name: c.errors for c in checks if not c.passed}
    assert not failed, f"gradient checks failed: {failed}"
    # Every parameter-free activation, every loss and every layer family is covered.
    names = {c.name for c in checks}
    assert {"linear", "relu", "softmax cross-entropy", "layer norm", "group norm"} <= names


def test_the_demo_network_learns_the_digits_well_above_chance():
    result = network.train_on_digits(num_epochs=4, progress=False)
    assert result.test_accuracy > 0.9, f"test accuracy {result.test_accuracy:.3f}"
    assert result.history.loss[-1] < result.history.loss[0]


def test_the_speed_comparison_reports_both_timings():
    s = speed.conv_speedup(repeat=1)
    assert s.naive_seconds > 0 and s.fast_seconds > 0
    assert s.ratio == s.naive_seconds / s.fast_seconds
