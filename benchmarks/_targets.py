"""The one rule every benchmark follows for its targets.

A benchmark prints its table and the targets it missed. By default a miss is reported and
the script still exits 0 (a slow laptop is not a failure); with ``--enforce-targets`` a
miss exits 1, for a runner whose hardware the targets were set on. Wrong results are
another matter: a benchmark whose figures are not trustworthy exits 1 either way.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENFORCE_FLAG = "--enforce-targets"


def add_enforce_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--enforce-targets`` (stored as ``args.enforce_targets``) to ``parser``."""
    parser.add_argument(
        ENFORCE_FLAG,
        action="store_true",
        help="exit 1 when a target is missed (default: report the miss and exit 0)",
    )


def targets_status(misses: Sequence[str], enforce: bool) -> int:
    """Print the verdict on the targets; return the exit status it calls for.

    ``misses`` holds one line per missed target, saying which figure and by how much.
    """
    if not misses:
        print("all targets met")
        return 0
    print(f"TARGETS MISSED ({len(misses)}): " + "; ".join(misses))
    if enforce:
        return 1
    print(f"(reported only; pass {ENFORCE_FLAG} to exit 1 on a miss)")
    return 0


def write_report(path: str | Path, data: dict[str, Any]) -> None:
    """Write a benchmark's figures to ``path`` as JSON (its folder made if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")
