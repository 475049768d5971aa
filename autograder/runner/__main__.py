"""``python -m autograder.runner WORKDIR [--cell-timeout S]``: run one work dir.

The process ends with :func:`os._exit` once the report is written: threads or
``atexit`` hooks left behind by student code must not keep it alive until the box's
deadline, which would turn a finished notebook into a timeout.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from autograder.runner.execute import run_workdir


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the work dir; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m autograder.runner", description=__doc__)
    parser.add_argument("workdir", type=Path, help="work dir holding notebook.ipynb")
    parser.add_argument(
        "--cell-timeout", type=float, default=60.0, help="seconds per code cell (default 60)"
    )
    args = parser.parse_args(argv)
    return run_workdir(args.workdir, cell_timeout=args.cell_timeout)


def exit_now(status: int) -> NoReturn:
    """Flush the standard streams and end the process without running exit hooks."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a stream closed or replaced by student code
            pass
    os._exit(status)


def cli(argv: Sequence[str] | None = None) -> NoReturn:
    """Run :func:`main` and end the process with its status (used by the boxes too)."""
    try:
        status = main(argv)
    except SystemExit as stop:  # argparse: --help or a usage error
        status = stop.code if isinstance(stop.code, int) else 2
    except BaseException:  # the runner itself failed: say why on stderr
        traceback.print_exc()
        status = 1
    exit_now(status)


if __name__ == "__main__":
    cli()
