"""Time the loop convolution against the vectorized one on the same small input."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dlcourse.functional.conv_fast import conv_forward_fast
from dlcourse.functional.conv_naive import conv_forward_naive


@dataclass(frozen=True)
class SpeedUp:
    shape: str
    naive_seconds: float
    fast_seconds: float

    @property
    def ratio(self) -> float:
        return self.naive_seconds / self.fast_seconds


def _median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up: first calls pay for allocation and imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def conv_speedup(repeat: int = 3, seed: int = 0) -> SpeedUp:
    """Forward pass of a 3x3 convolution, batch 8, 3 -> 16 channels at 16x16, padding 1."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 3, 16, 16)).astype(np.float32)
    w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    b = np.zeros(16, np.float32)
    naive = _median_seconds(lambda: conv_forward_naive(x, w, b, pad=1), repeat)
    fast = _median_seconds(lambda: conv_forward_fast(x, w, b, pad=1), repeat * 10)
    return SpeedUp("x (8, 3, 16, 16) * w (16, 3, 3, 3), pad 1, float32", naive, fast)
