"""Small timing helpers shared by the benchmark scripts.

Thread counts must be fixed *before* NumPy (and its BLAS) is first imported, so a
benchmark script calls :func:`limit_threads` at the very top and imports NumPy after.
This module itself imports nothing heavy for that reason.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Ask OpenMP, OpenBLAS and MKL for ``threads`` threads; call before importing NumPy."""
    if "numpy" in sys.modules:
        raise RuntimeError("limit_threads() must run before numpy is imported")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def time_interleaved(
    fns: Sequence[Callable[[], object]], repeat: int, warmup: int = 1
) -> list[dict[str, float]]:
    """Time several functions in turn for ``repeat`` rounds; return their medians and minima.

    Rounds interleave the functions (a, b, a, b, ...) rather than running each in a block,
    so the functions being compared see the same background load. Within a round, every
    timed call directly follows ``warmup`` untimed calls of the *same* function: the
    previous function's leftovers (OpenMP worker threads that keep spinning after a
    parallel region, on 2 cores a real theft; evicted caches) then land on the untimed
    call, not on the measurement. Returns, per function, ``{"median_ms": ..., "min_ms": ...}``.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for times, fn in zip(samples, fns, strict=True):
            for _ in range(warmup):
                fn()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return [
        {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times)}
        for times in samples
    ]
