"""Convolution and max pooling: our NumPy references against PyTorch on the CPU.

Usage::

    python benchmarks/bench_conv.py [--json PATH] [--repeat N] [--quick] [--enforce-targets]

Both libraries get 2 threads. On float32 CIFAR-sized shapes (batch 64, 3x3 kernels,
pad 1) it times our fast convolution's forward and backward against
``torch.nn.functional.conv2d`` and its autograd backward, 2x2 stride-2 max pooling
against ``F.max_pool2d``, and the naive against the fast convolution on a small shape.
Each figure is the median of ``--repeat`` timed runs, ours and torch's interleaved so both
see the same background load, each timed run right after an untimed run of the same
function (see ``_timing.time_interleaved`` for why); the ratio of the fastest runs is
printed beside it (on a busy machine it is the steadier of the two). Targets, checked on
the medians: ours / torch <= 1.5 for forward passes and <= 2.0 for backward passes. A
miss is printed and the exit status stays 0, unless ``--enforce-targets`` is given
(then 1; see ``_targets.py``).
``--quick`` uses tiny shapes and one repeat (for the smoke test).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _targets import add_enforce_flag, targets_status, write_report  # noqa: E402
from _timing import limit_threads, time_interleaved  # noqa: E402

THREADS = 2
limit_threads(THREADS)  # before NumPy and torch are imported

import argparse  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dlcourse.functional.conv_fast import conv_backward_fast, conv_forward_fast  # noqa: E402
from dlcourse.functional.conv_naive import conv_backward_naive, conv_forward_naive  # noqa: E402
from dlcourse.functional.pooling import max_pool_backward, max_pool_forward  # noqa: E402

TARGETS = {"forward": 1.5, "backward": 2.0}

# (N, C, F, H, W) with 3x3 kernels and pad 1: the three CIFAR-10 layer shapes.
CONV_SHAPES = [(64, 3, 32, 32, 32), (64, 32, 64, 16, 16), (64, 64, 64, 32, 32)]
POOL_SHAPES = [(64, 32, 32, 32), (64, 64, 16, 16)]
NAIVE_SHAPE = (4, 3, 8, 16, 16)
QUICK_CONV_SHAPES = [(2, 3, 4, 8, 8), (2, 4, 8, 6, 6)]
QUICK_POOL_SHAPES = [(2, 4, 8, 8)]
QUICK_NAIVE_SHAPE = (1, 2, 3, 6, 6)


def _entry(ours: dict[str, float], theirs: dict[str, float], target: float) -> dict:
    ratio = ours["median_ms"] / theirs["median_ms"]
    return {
        "ours_ms": ours["median_ms"],
        "torch_ms": theirs["median_ms"],
        "ours_min_ms": ours["min_ms"],
        "torch_min_ms": theirs["min_ms"],
        "ratio": ratio,
        "ratio_of_mins": ours["min_ms"] / theirs["min_ms"],
        "target": target,
        "meets_target": ratio <= target,
    }


def bench_conv(shape: tuple[int, ...], repeat: int, rng: np.random.Generator) -> dict:
    """Fast conv forward/backward vs torch conv2d forward / autograd backward."""
    n, c, f, h, w = shape
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((f, c, 3, 3), dtype=np.float32) * np.float32((2 / (9 * c)) ** 0.5)
    b = rng.standard_normal(f, dtype=np.float32)
    dout = rng.standard_normal((n, f, h, w), dtype=np.float32)

    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, wt, b))
    tout = F.conv2d(tx, tw, tb, padding=1)
    tdout = torch.from_numpy(dout)

    def torch_forward() -> object:
        with torch.no_grad():
            return F.conv2d(tx, tw, tb, padding=1)

    def torch_backward() -> object:
        return torch.autograd.grad(tout, (tx, tw, tb), tdout, retain_graph=True)

    out, cache = conv_forward_fast(x, wt, b, pad=1)
    grads = conv_backward_fast(dout, cache)
    torch_grads = torch_backward()
    max_diff = max(
        float(np.abs(out - tout.detach().numpy()).max()),
        *(float(np.abs(g - tg.numpy()).max()) for g, tg in zip(grads, torch_grads, strict=True)),
    )
    fwd = time_interleaved([lambda: conv_forward_fast(x, wt, b, pad=1), torch_forward], repeat)
    bwd = time_interleaved([lambda: conv_backward_fast(dout, cache), torch_backward], repeat)
    return {
        "name": f"conv {c}->{f} @{h}x{w}",
        "shape": {"N": n, "C": c, "F": f, "H": h, "W": w, "kernel": 3, "pad": 1},
        "max_abs_diff_vs_torch": max_diff,
        "forward": _entry(fwd[0], fwd[1], TARGETS["forward"]),
        "backward": _entry(bwd[0], bwd[1], TARGETS["backward"]),
    }


def bench_pool(shape: tuple[int, ...], repeat: int, rng: np.random.Generator) -> dict:
    """2x2 stride-2 max pooling forward/backward vs torch."""
    x = rng.standard_normal(shape, dtype=np.float32)
    n, c, h, w = shape
    dout = rng.standard_normal((n, c, h // 2, w // 2), dtype=np.float32)
    tx = torch.from_numpy(x).requires_grad_()
    tout = F.max_pool2d(tx, 2, 2)
    tdout = torch.from_numpy(dout)

    def torch_forward() -> object:
        with torch.no_grad():
            return F.max_pool2d(tx, 2, 2)

    def torch_backward() -> object:
        return torch.autograd.grad(tout, tx, tdout, retain_graph=True)

    out, cache = max_pool_forward(x)
    dx = max_pool_backward(dout, cache)
    max_diff = max(
        float(np.abs(out - tout.detach().numpy()).max()),
        float(np.abs(dx - torch_backward()[0].numpy()).max()),
    )
    fwd = time_interleaved([lambda: max_pool_forward(x), torch_forward], repeat)
    bwd = time_interleaved([lambda: max_pool_backward(dout, cache), torch_backward], repeat)
    return {
        "name": f"maxpool 2x2/2 {c}x{h}x{w}",
        "shape": {"N": n, "C": c, "H": h, "W": w, "pool": 2, "stride": 2},
        "max_abs_diff_vs_torch": max_diff,
        "forward": _entry(fwd[0], fwd[1], TARGETS["forward"]),
        "backward": _entry(bwd[0], bwd[1], TARGETS["backward"]),
    }


def bench_naive(shape: tuple[int, ...], repeat: int, rng: np.random.Generator) -> dict:
    """Naive (loops) against fast (im2col) convolution on a small shape."""
    n, c, f, h, w = shape
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((f, c, 3, 3), dtype=np.float32)
    b = rng.standard_normal(f, dtype=np.float32)
    dout = rng.standard_normal((n, f, h, w), dtype=np.float32)
    _, cache = conv_forward_fast(x, wt, b, pad=1)
    fwd = time_interleaved(
        [lambda: conv_forward_naive(x, wt, b, pad=1), lambda: conv_forward_fast(x, wt, b, pad=1)],
        repeat,
    )
    bwd = time_interleaved(
        [lambda: conv_backward_naive(dout, cache), lambda: conv_backward_fast(dout, cache)],
        repeat,
    )
    return {
        "name": f"naive vs fast conv {c}->{f} @{h}x{w}, batch {n}",
        "shape": {"N": n, "C": c, "F": f, "H": h, "W": w, "kernel": 3, "pad": 1},
        "naive_forward_ms": fwd[0]["median_ms"],
        "fast_forward_ms": fwd[1]["median_ms"],
        "forward_speedup": fwd[0]["median_ms"] / fwd[1]["median_ms"],
        "naive_backward_ms": bwd[0]["median_ms"],
        "fast_backward_ms": bwd[1]["median_ms"],
        "backward_speedup": bwd[0]["median_ms"] / bwd[1]["median_ms"],
    }


def _print_table(rows: list[dict]) -> list[str]:
    """Print ours vs torch; return the descriptions of missed targets."""
    header = (
        f"{'case':<28}{'pass':<10}{'ours ms':>10}{'torch ms':>10}{'ratio':>8}{'(mins)':>8}  target"
    )
    print(header)
    print("-" * len(header))
    misses = []
    for row in rows:
        for direction in ("forward", "backward"):
            e = row[direction]
            verdict = "ok" if e["meets_target"] else "MISSED"
            print(
                f"{row['name']:<28}{direction:<10}{e['ours_ms']:>10.2f}{e['torch_ms']:>10.2f}"
                f"{e['ratio']:>8.2f}{e['ratio_of_mins']:>8.2f}  <= {e['target']:.1f} {verdict}"
            )
            if not e["meets_target"]:
                misses.append(f"{row['name']} {direction}: {e['ratio']:.2f} > {e['target']:.1f}")
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write all figures to this JSON file")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat")
    add_enforce_flag(parser)
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error(f"--repeat must be >= 1, got {repeat}")
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)

    conv_shapes = QUICK_CONV_SHAPES if args.quick else CONV_SHAPES
    pool_shapes = QUICK_POOL_SHAPES if args.quick else POOL_SHAPES
    naive_shape = QUICK_NAIVE_SHAPE if args.quick else NAIVE_SHAPE
    conv_rows = [bench_conv(s, repeat, rng) for s in conv_shapes]
    pool_rows = [bench_pool(s, repeat, rng) for s in pool_shapes]
    naive = bench_naive(naive_shape, repeat, rng)

    print(
        f"float32, {THREADS} threads (numpy BLAS and torch), median of {repeat} run(s); "
        f"numpy {np.__version__}, torch {torch.__version__}"
    )
    misses = _print_table(conv_rows + pool_rows)
    print()
    print(
        f"{naive['name']}: forward {naive['naive_forward_ms']:.1f} ms -> "
        f"{naive['fast_forward_ms']:.2f} ms ({naive['forward_speedup']:.0f}x), backward "
        f"{naive['naive_backward_ms']:.1f} ms -> {naive['fast_backward_ms']:.2f} ms "
        f"({naive['backward_speedup']:.0f}x faster)"
    )
    print()
    status = targets_status(misses, args.enforce_targets)

    if args.json:
        report = {
            "meta": {
                "threads": THREADS,
                "dtype": "float32",
                "repeat": repeat,
                "quick": args.quick,
                "statistic": "median",
                "numpy": np.__version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "processor": platform.processor(),
            },
            "targets": TARGETS,
            "conv": conv_rows,
            "pool": pool_rows,
            "naive_vs_fast": naive,
            "all_targets_met": not misses,
            "missed": misses,
        }
        write_report(args.json, report)
    return status


if __name__ == "__main__":
    sys.exit(main())
