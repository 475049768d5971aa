"""Execute a restored notebook's code cells in one IPython shell, inside the sandbox.

No Jupyter kernel, no ZeroMQ: an in-process :class:`~IPython.core.interactiveshell.
InteractiveShell` runs the cells, which keeps magics, ``display`` and ``get_ipython``
working while costing nothing to start. The order of :func:`run_workdir`:

1. switch the check API to recording mode (inputs from ``inputs/``, outputs to
   ``outputs/``) and matplotlib to the headless Agg backend;
2. create a fresh :class:`~autograder.runner.shell.GradingShell`;
3. print :data:`STARTED_MARKER`, so the grader can tell "the runner never started" (its
   own failure) from "student code ended the process early" (the student's);
4. run every code cell in order under a per-cell alarm, recording each cell's status
   in ``results.json`` right after it ends; errors, ``sys.exit`` and timeouts are
   recorded and the next cell runs anyway, as nbgrader's autograde does. A test cell
   (nbgrader ``grade`` without ``solution``) also records whether it wrote to standard
   error and the ``text/plain`` of its value: what stock nbgrader scores it by. A cell
   tagged :data:`SKIP_TAG` that nbgrader neither grades nor locks (a training run or a
   timing that only demonstrates) is not run: it decides nothing, and the release's
   proof that the solution earns full marks under grading shows nothing graded needs it.

A cell that blocks the alarm (a long C call, or code that replaces the SIGALRM handler)
is not stopped here: the box's wall-clock deadline kills the whole job, and the report
still holds every cell that finished before.

This module is copied into the sandbox's runtime, so it imports only the standard
library, IPython and (lazily) ``dlcourse`` and matplotlib; never other grader modules.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from autograder.runner.contract import (
    INPUTS_DIRNAME,
    NOTEBOOK_NAME,
    OUTPUTS_DIRNAME,
    RESULTS_NAME,
    STARTED_MARKER,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_TIMEOUT,
)
from autograder.runner.results import CellRecord, cap_text, describe_exception, write_results
from autograder.runner.shell import close_shell, new_shell
from autograder.runner.supervisor import flush_streams

ALARM_REPEAT_SECONDS = 1.0
"""After a cell's timeout fires, the alarm fires again this often until the cell ends,
so a cell that swallows the first timeout (a bare ``except:`` in a loop) still stops."""


STDERR_ECHO_BYTES = 64 * 1024
"""How much of a test cell's stderr is passed on to the job's stderr (the box caps it)."""


class CellTimeout(BaseException):
    """Raised in the main thread when a cell runs past its time.

    A ``BaseException`` so that student code catching ``Exception`` does not swallow it.
    """


SKIP_TAG = "skip-when-grading"
"""The cell tag of a demonstration the grader does not run (see :func:`_skipped`)."""


@dataclass(frozen=True)
class CodeCell:
    """One code cell to execute."""

    index: int
    grade_id: str | None
    source: str
    is_test: bool = False
    """An nbgrader test cell (grade, not solution): its stderr and value are recorded."""


class _CellAlarm:
    """A SIGALRM timer that raises :class:`CellTimeout` while a cell runs.

    The handler is installed again on every :meth:`arm`, since a previous cell may have
    replaced it. ``active`` is cleared before the timer is stopped, so a signal that
    lands while the runner is tidying up after a cell does nothing.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = False
        self.fired = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.active:
            self.fired = True
            raise CellTimeout(f"the cell ran longer than {self.seconds:g} s")

    def arm(self) -> None:
        self.fired = False
        signal.signal(signal.SIGALRM, self._on_alarm)
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds, ALARM_REPEAT_SECONDS)

    def disarm(self) -> None:
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0, 0)


def read_code_cells(path: Path) -> list[CodeCell]:
    """The code cells of a notebook file, with their positions and grade ids.

    Read with :mod:`json` (nbformat is not in the sandbox's runtime). The notebook is
    the one the grader restored, so a malformed one is a grader bug and raises.
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        nbgrader = nbgrader if isinstance(nbgrader, dict) else {}
        grade_id = nbgrader.get("grade_id")
        is_test = nbgrader.get("grade") is True and nbgrader.get("solution") is not True
        grade_id = grade_id if isinstance(grade_id, str) else None
        if _skipped(cell, nbgrader):
            continue
        cells.append(CodeCell(index, grade_id, source, is_test))
    return cells


def _skipped(cell: dict[str, Any], nbgrader: dict[str, Any]) -> bool:
    """A demonstration cell the notebook tags :data:`SKIP_TAG` (a training run, a timing):
    it decides no grade, so grading does not spend its time on it. Cells that nbgrader
    grades, holds an answer in or locks always run, whatever their tags."""
    tags = cell.get("metadata", {}).get("tags", [])
    if not isinstance(tags, list) or SKIP_TAG not in tags:
        return False
    return not any(nbgrader.get(flag) is True for flag in ("grade", "solution", "locked"))


def _use_agg_backend() -> None:
    """Headless plotting: no display exists, and a GUI backend would block or fail."""
    os.environ["MPLBACKEND"] = "Agg"
    # Importing matplotlib costs time, so only switch it when something (a warm
    # zygote) has imported it already; otherwise the variable above decides.
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        matplotlib.use("Agg")


def _start_recording(workdir: Path) -> None:
    """Switch ``dlcourse.checks`` to recording mode for this work dir."""
    from dlcourse.checks.record import start_recording

    start_recording(workdir / INPUTS_DIRNAME, workdir / OUTPUTS_DIRNAME)


def _stop_recording() -> None:
    """Back to the student's behaviour; matters only to in-process callers."""
    from dlcourse.checks.record import stop_recording

    stop_recording()


@contextmanager
def _stderr_watch(active: bool) -> Iterator[list[bool]]:
    """Send file descriptor 2 to a scratch file while a test cell runs; afterwards the
    list holds whether anything was written, and the text goes on to the real stderr.

    Descriptor level, as ipykernel captures it: ``print(file=sys.stderr)``, warnings and
    C or subprocess output all count, as they do for stock nbgrader.
    """
    wrote = [False]
    sink: Any = None
    saved = -1
    if active:
        try:
            _flush_stderr()
            sink = tempfile.TemporaryFile()
            saved = os.dup(2)
        except OSError:  # no descriptors left (student code can exhaust them): unwatched
            if sink is not None:
                sink.close()
            sink = None
    if sink is None:
        yield wrote
        return
    os.dup2(sink.fileno(), 2)
    try:
        yield wrote
    finally:
        _flush_stderr()
        os.dup2(saved, 2)
        os.close(saved)
        try:
            size = sink.seek(0, os.SEEK_END)
            sink.seek(0)
            os.write(2, sink.read(min(size, STDERR_ECHO_BYTES)))
            sink.close()
        except OSError:  # the cell closed the scratch file: silence is unproven
            size = 1
        wrote[0] = size > 0


def _flush_stderr() -> None:
    for stream in {id(s): s for s in (sys.stderr, sys.__stderr__) if s is not None}.values():
        try:
            stream.flush()
        except BaseException:  # a cell may have closed or replaced it
            pass


def _displayed_text(shell: Any, value: object) -> str | None:
    """``text/plain`` of a cell's displayed value, as the kernel would send it."""
    if value is None:
        return None
    formatted = shell.display_formatter.format(value)[0].get("text/plain")
    return cap_text(formatted) if isinstance(formatted, str) else None


def run_cell(shell: Any, cell: CodeCell, alarm: _CellAlarm) -> CellRecord:
    """Run one cell under the alarm and say how it ended; never raises."""
    outcome: BaseException | None = None
    shown: str | None = None
    with _stderr_watch(cell.is_test) as wrote:
        try:
            try:
                alarm.arm()
                result = shell.run_cell(cell.source, store_history=True)
                # IPython catches everything student code raises (SystemExit included)
                # and hands it back here.
                outcome = result.error_before_exec or result.error_in_exec
                if cell.is_test and outcome is None:
                    shown = _displayed_text(shell, result.result)
            finally:
                alarm.disarm()
        except BaseException as escaped:  # raised outside student code, e.g. while IPython
            alarm.disarm()  # printed a traceback, or a value's repr: this cell's outcome
            outcome = escaped
    if outcome is None:
        return CellRecord(cell.index, cell.grade_id, STATUS_OK, stderr=wrote[0], result=shown)
    status = STATUS_TIMEOUT if isinstance(outcome, CellTimeout) else STATUS_ERROR
    return CellRecord(
        cell.index, cell.grade_id, status, describe_exception(outcome), stderr=wrote[0]
    )


@contextmanager
def _inside(workdir: Path) -> Iterator[None]:
    """Run with the work dir as cwd and on ``sys.path``, as a notebook server would.

    The work dir goes last on ``sys.path`` so that files in it (instructor helper
    modules) import, but can never shadow ``dlcourse`` or the standard library.
    Everything is put back afterwards, for callers running this in-process.
    """
    previous_cwd = os.getcwd()
    previous_path = list(sys.path)
    previous_handler = signal.getsignal(signal.SIGALRM)
    os.chdir(workdir)
    sys.path.append(str(workdir))
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path
        signal.signal(signal.SIGALRM, previous_handler)


def run_workdir(workdir: Path, cell_timeout: float = 60.0) -> int:
    """Execute ``workdir/notebook.ipynb`` and leave ``workdir/results.json``; return 0.

    Student errors never raise out of here. An exception means the runner itself could
    not work: a bad work dir or runtime (before any student code ran), or student code
    that broke the runner's own tools (then ``results.json`` holds the cells before).
    """
    if not cell_timeout > 0:
        raise ValueError(f"cell_timeout must be positive, got {cell_timeout}")
    workdir = Path(workdir).resolve()  # student code may chdir; keep absolute paths
    results_path = workdir / RESULTS_NAME
    cells = read_code_cells(workdir / NOTEBOOK_NAME)
    records: list[CellRecord] = []
    write_results(results_path, records)
    _use_agg_backend()
    _start_recording(workdir)
    with (
        _inside(workdir),
        warnings.catch_warnings(),
        tempfile.TemporaryDirectory(prefix="ipython-", ignore_cleanup_errors=True) as ipython_dir,
    ):
        # IPython's advice after sys.exit() in a cell is for interactive users.
        warnings.filterwarnings("ignore", message="To exit: use", category=UserWarning)
        shell = new_shell(ipython_dir)
        alarm = _CellAlarm(cell_timeout)
        try:
            print(STARTED_MARKER, flush=True)
            for cell in cells:
                records.append(run_cell(shell, cell, alarm))
                write_results(results_path, records)
                flush_streams()  # a later os._exit would drop a cell's output
        finally:
            alarm.disarm()
            close_shell(shell)
            _stop_recording()
    return 0
