"""ResNet-18 for CIFAR: ours (``dlcourse.models.resnet18_cifar``) against torchvision's.

Usage::

    python benchmarks/bench_resnet.py [--json PATH] [--repeat N] [--batch-size N]
                                      [--gpu-batch-size N] [--quick] [--enforce-targets]

torchvision's ResNet-18 is made the same shape as ours (a 3x3 stride-1 stem, the max pool
replaced by an identity, 10 classes) and given our weights, so both compute one function on
32x32 images (the largest output difference is printed). Each row times a training step's
forward and backward (cross-entropy on random labels, gradients cleared untimed between
steps) and reports images per second: on the CPU with 2 threads in float32, and, where CUDA
exists, on the GPU in float32 and with AMP (float16 autocast), each in NCHW and in
channels-last memory format. Every figure is the median of ``--repeat`` timed steps, ours
and torchvision's interleaved and each right after an untimed step of the same model (see
``_timing.time_interleaved``). Target: ours / torchvision step time <= 1.05 on every row.
A miss is printed; ``--enforce-targets`` makes it exit with status 1. ``--quick`` uses a
batch of 2 and one repeat on the CPU only (for the smoke test).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from _targets import add_enforce_flag, targets_status, write_report  # noqa: E402
from _timing import limit_threads, time_interleaved  # noqa: E402

THREADS = 2
limit_threads(THREADS)  # before NumPy and torch are imported

import argparse  # noqa: E402
import contextlib  # noqa: E402
import platform  # noqa: E402
from collections.abc import Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torchvision_oracle import import_torchvision  # type: ignore[import-not-found]  # noqa: E402

from dlcourse.models import get_model  # noqa: E402
from dlcourse.models._layers import conv3x3  # noqa: E402

TARGET = 1.05
NUM_CLASSES = 10


def make_pair() -> tuple[nn.Module, nn.Module]:
    """Ours and torchvision's CIFAR-shaped ResNet-18, holding the same weights."""
    torch.manual_seed(0)
    ours = get_model("resnet18_cifar", num_classes=NUM_CLASSES)
    theirs = import_torchvision().models.resnet18(weights=None, num_classes=NUM_CLASSES)
    theirs.conv1 = conv3x3(3, 64)
    theirs.maxpool = nn.Identity()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def train_step(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, amp: bool, sync: bool
) -> Callable[[], object]:
    """A closure running one forward and backward of ``model`` on ``(x, y)``."""
    autocast = torch.autocast("cuda", dtype=torch.float16) if amp else contextlib.nullcontext()

    def step() -> object:
        model.zero_grad(set_to_none=True)
        with autocast:
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        if sync:
            torch.cuda.synchronize()
        return loss

    return step


def bench_row(
    device: str, batch_size: int, repeat: int, amp: bool = False, channels_last: bool = False
) -> dict:
    """Time ours and torchvision's training step under one setting; images per second."""
    ours, theirs = make_pair()
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(batch_size, 3, 32, 32, generator=generator)
    y = torch.randint(0, NUM_CLASSES, (batch_size,), generator=generator)
    x, y = x.to(device).contiguous(memory_format=memory_format), y.to(device)
    for model in (ours, theirs):
        # Module.to's stubs omit memory_format, which it accepts at run time.
        model.to(device, memory_format=memory_format).train()  # type: ignore[call-overload]
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        max_diff = float((ours(x) - theirs(x)).abs().max())
    ours.train()
    theirs.train()
    sync = device == "cuda"
    timings = time_interleaved(
        [train_step(ours, x, y, amp, sync), train_step(theirs, x, y, amp, sync)], repeat
    )
    ours_ms, theirs_ms = timings[0]["median_ms"], timings[1]["median_ms"]
    ratio = ours_ms / theirs_ms
    precision = "amp fp16" if amp else "fp32"
    name = f"{device} {precision} {'channels-last' if channels_last else 'NCHW'}"
    return {
        "name": name,
        "device": device,
        "amp": amp,
        "channels_last": channels_last,
        "batch_size": batch_size,
        "ours_ms": ours_ms,
        "torchvision_ms": theirs_ms,
        "ours_images_per_s": batch_size / (ours_ms / 1e3),
        "torchvision_images_per_s": batch_size / (theirs_ms / 1e3),
        "ratio": ratio,
        "ratio_of_mins": timings[0]["min_ms"] / timings[1]["min_ms"],
        "max_abs_diff_eval_output": max_diff,
        "target": TARGET,
        "meets_target": ratio <= TARGET,
    }


def _print_table(rows: list[dict]) -> list[str]:
    """Print ours vs torchvision; return the descriptions of missed targets."""
    header = (
        f"{'setting':<28}{'batch':>6}{'ours img/s':>12}{'tv img/s':>12}{'ratio':>8}"
        f"{'(mins)':>8}{'max diff':>10}  target"
    )
    print(header)
    print("-" * len(header))
    misses = []
    for row in rows:
        verdict = "ok" if row["meets_target"] else "MISSED"
        print(
            f"{row['name']:<28}{row['batch_size']:>6}{row['ours_images_per_s']:>12.1f}"
            f"{row['torchvision_images_per_s']:>12.1f}{row['ratio']:>8.3f}"
            f"{row['ratio_of_mins']:>8.3f}{row['max_abs_diff_eval_output']:>10.1e}"
            f"  <= {TARGET:.2f} {verdict}"
        )
        if not row["meets_target"]:
            misses.append(f"{row['name']}: {row['ratio']:.3f} > {TARGET:.2f}")
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write all figures to this JSON file")
    parser.add_argument("--repeat", type=int, default=5, help="timed steps per figure (median)")
    parser.add_argument("--batch-size", type=int, default=16, help="CPU batch size")
    parser.add_argument("--gpu-batch-size", type=int, default=256, help="GPU batch size")
    parser.add_argument("--quick", action="store_true", help="batch 2, one repeat, CPU only")
    add_enforce_flag(parser)
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    batch_size = 2 if args.quick else args.batch_size
    for flag, value in (("--repeat", repeat), ("--batch-size", batch_size),
                        ("--gpu-batch-size", args.gpu_batch_size)):  # fmt: skip
        if value < 1:
            parser.error(f"{flag} must be >= 1, got {value}")
    torch.set_num_threads(THREADS)

    rows = [bench_row("cpu", batch_size, repeat)]
    cuda = torch.cuda.is_available() and not args.quick
    if cuda:
        torch.backends.cudnn.benchmark = True
        for amp in (False, True):
            for channels_last in (False, True):
                rows.append(bench_row("cuda", args.gpu_batch_size, repeat, amp, channels_last))

    gpu = torch.cuda.get_device_name() if cuda else "none"
    print(
        f"ResNet-18 (CIFAR shape, 32x32, {NUM_CLASSES} classes), forward + backward; CPU "
        f"float32 on {THREADS} threads; GPU: {gpu}; median of {repeat} step(s); "
        f"torch {torch.__version__}"
    )
    misses = _print_table(rows)
    print()
    status = targets_status(misses, args.enforce_targets)

    if args.json:
        report = {
            "meta": {
                "threads": THREADS,
                "repeat": repeat,
                "quick": args.quick,
                "statistic": "median",
                "torch": torch.__version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "processor": platform.processor(),
                "gpu": gpu,
            },
            "target": TARGET,
            "rows": rows,
            "all_targets_met": not misses,
            "missed": misses,
        }
        write_report(args.json, report)
    return status


if __name__ == "__main__":
    sys.exit(main())
