"""``python -m autograder.runner WORKDIR [--cell-timeout S]``: run one work dir.

The process ends with :func:`os._exit` once the report is written (see
:func:`autograder.runner.supervisor.exit_after`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from autograder.runner.execute import run_workdir
from autograder.runner.supervisor import exit_after


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the work dir; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m autograder.runner", description=__doc__)
    parser.add_argument("workdir", type=Path, help="work dir holding notebook.ipynb")
    parser.add_argument(
        "--cell-timeout", type=float, default=60.0, help="seconds per code cell (default 60)"
    )
    args = parser.parse_args(argv)
    return run_workdir(args.workdir, cell_timeout=args.cell_timeout)


def cli(argv: Sequence[str] | None = None) -> NoReturn:
    """Run :func:`main` and end the process with its status (the cold box's entry)."""
    exit_after(lambda: main(argv))


if __name__ == "__main__":
    cli()
