"""``python -m dlcourse.demo``: train, gradient-check and time the NumPy references."""

from __future__ import annotations

import sys

from dlcourse.demo import gradchecks, network, speed


def main() -> int:
    print("1/3  Training a small CNN built from the NumPy layers on the digits dataset")
    result = network.train_on_digits()
    hist = result.history
    print(
        f"     trained {hist.num_epochs} epochs on {result.num_train} images; "
        f"best validation accuracy {hist.best_val_acc:.3f} (epoch {(hist.best_epoch or 0) + 1})"
    )
    print(f"     test accuracy: {result.test_accuracy:.3f} on {result.num_test} held-out images")

    print("\n2/3  Gradient checks: analytic backward vs centered differences (float64)")
    checks = gradchecks.run_all()
    width = max(len(c.name) for c in checks)
    for c in checks:
        detail = ", ".join(f"d{k} {v:.1e}" for k, v in c.errors.items())
        print(f"     {c.name:<{width}}  {'ok  ' if c.passed else 'FAIL'}  {detail}")
    failed = [c.name for c in checks if not c.passed]

    print("\n3/3  Convolution speed: loops vs vectorized")
    s = speed.conv_speedup()
    print(
        f"     {s.shape}: naive {s.naive_seconds * 1e3:.1f} ms, "
        f"fast {s.fast_seconds * 1e3:.2f} ms -> {s.ratio:.0f}x faster"
    )

    print()
    if failed:
        print(f"FAILED gradient checks: {', '.join(failed)}")
        return 1
    print(f"All {len(checks)} gradient checks passed (relative error < {gradchecks.THRESHOLD:g}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
