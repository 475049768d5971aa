"""The in-sandbox runner keeps going through every kind of cell failure and leaves a report.

The same small hand-made notebook runs three ways: in-process (``run_workdir``), as
``python -m autograder.runner`` (so ``os._exit`` can end it) and through a real
:class:`ColdBox`, under bubblewrap and on the plain fallback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.box import Box
from autograder.box.cold import ColdBox
from autograder.runner.contract import STARTED_MARKER
from autograder.runner.execute import run_workdir
from autograder.sandbox import Layer, Limits
from autograder.sandbox.layers import bwrap_unavailable
from autograder.studentlib import build_runtime

BWRAP_PROBLEM = bwrap_unavailable()
MODES = [
    pytest.param(
        True,
        id="bwrap",
        marks=pytest.mark.skipif(BWRAP_PROBLEM is not None, reason=f"no bwrap: {BWRAP_PROBLEM}"),
    ),
    pytest.param(False, id="plain"),
]
CELL_TIMEOUT = 1.0
REPO = Path(__file__).resolve().parents[2]


def graded(source: str, grade_id: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id}})


# Each cell records that it ran by appending to ran.txt, so the tests can see which
# cells ran even when results.json is lost with the process.
def mark(name: str) -> str:
    return f"open('ran.txt', 'a').write({name!r} + '\\n')\n"


# Swallowing exceptions does not escape the timeout (it is not an Exception).
ENDLESS = "while True:\n    try:\n        pass\n    except Exception:\n        pass"
SNAPSHOT = "import shutil\nshutil.copy('results.json', 'snapshot.json')\n"
FAILING_CELLS = [
    new_markdown_cell("# A notebook that fails in every way"),
    graded(mark("first") + "value = 41", "first"),
    new_code_cell(mark("raises") + "1 / 0"),
    new_code_cell(mark("after_error") + "value += 1"),
    new_code_cell(mark("exits") + "import sys\nsys.exit(3)"),
    new_code_cell(mark("after_exit") + "print('still running', value)"),
    new_code_cell(
        mark("loops") + "while True:\n    try:\n        pass\n    except Exception:\n        pass"
    ),
    graded(mark("after_loop") + SNAPSHOT, "after_loop"),
]
#: Notebook cell index -> expected status, for every code cell above.
EXPECTED = {1: "ok", 2: "error", 3: "ok", 4: "error", 5: "ok", 6: "timeout", 7: "ok"}


def write_workdir(directory: Path, cells: list) -> Path:
    """A work dir as the pipeline lays it out (notebook, inputs/, outputs/)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "inputs").mkdir()
    (directory / "outputs").mkdir()
    nbformat.write(new_notebook(cells=cells), str(directory / "notebook.ipynb"))
    return directory


def results(workdir: Path) -> list[dict]:
    return json.loads((workdir / "results.json").read_text())["cells"]


def ran(workdir: Path) -> list[str]:
    return (workdir / "ran.txt").read_text().split()


@pytest.fixture(scope="module")
def runtime_dir() -> Iterator[Path]:
    """A student runtime in a directory every uid can enter (jobs may run as nobody)."""
    parent = Path(tempfile.mkdtemp(prefix="runtime-test-"))
    parent.chmod(0o755)
    try:
        yield build_runtime(parent / "builds")
    finally:
        shutil.rmtree(parent)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = write_workdir(tmp_path_factory.mktemp("inproc") / "work", FAILING_CELLS)
    assert run_workdir(workdir, cell_timeout=CELL_TIMEOUT) == 0
    return workdir


@pytest.fixture(scope="module", params=MODES)
def boxed(request: pytest.FixtureRequest, runtime_dir: Path, tmp_path_factory) -> tuple:
    """The failing notebook run once per sandbox mode through a ColdBox."""
    workdir = write_workdir(tmp_path_factory.mktemp("boxed") / "work", FAILING_CELLS)
    with ColdBox(runtime_dir, use_bwrap=request.param, cell_timeout=CELL_TIMEOUT) as box:
        run = box.run(workdir, Limits(wall_seconds=120))
    return workdir, run, request.param


# --- in-process ------------------------------------------------------------------------


def test_every_code_cell_is_reported_with_its_status_in_process(in_process: Path) -> None:
    statuses = {cell["index"]: cell["status"] for cell in results(in_process)}
    assert statuses == EXPECTED


def test_an_error_does_not_stop_the_next_cell_in_process(in_process: Path) -> None:
    cells = {cell["index"]: cell for cell in results(in_process)}
    assert cells[2]["error"] == "ZeroDivisionError: division by zero"
    assert "after_error" in ran(in_process)


def test_sys_exit_is_an_error_of_its_cell_and_later_cells_run_in_process(
    in_process: Path,
) -> None:
    cells = {cell["index"]: cell for cell in results(in_process)}
    assert cells[4]["status"] == "error"
    assert cells[4]["error"] == "SystemExit: 3"
    assert "after_exit" in ran(in_process)


def test_an_endless_cell_times_out_and_the_next_cell_runs_in_process(in_process: Path) -> None:
    cells = {cell["index"]: cell for cell in results(in_process)}
    assert cells[6]["status"] == "timeout"
    assert "CellTimeout" in cells[6]["error"]
    assert ran(in_process)[-1] == "after_loop"


def test_grade_ids_are_carried_into_the_report(in_process: Path) -> None:
    ids = {cell["index"]: cell["grade_id"] for cell in results(in_process)}
    assert ids[1] == "first" and ids[7] == "after_loop" and ids[2] is None


def test_results_are_rewritten_after_every_cell(in_process: Path) -> None:
    # The last cell copied results.json while it ran: all earlier cells were there.
    snapshot = json.loads((in_process / "snapshot.json").read_text())["cells"]
    assert [cell["index"] for cell in snapshot] == [1, 2, 3, 4, 5, 6]


def test_in_process_run_restores_the_callers_state(tmp_path: Path) -> None:
    import os
    import signal

    from dlcourse.checks.record import is_recording

    before = (os.getcwd(), list(sys.path), signal.getsignal(signal.SIGALRM))
    workdir = write_workdir(tmp_path / "work", [new_code_cell("import os\nos.chdir('/')")])
    run_workdir(workdir, cell_timeout=CELL_TIMEOUT)
    assert (os.getcwd(), list(sys.path), signal.getsignal(signal.SIGALRM)) == before
    assert not is_recording()


def test_a_demonstration_tagged_to_skip_is_not_run_but_graded_cells_always_are(
    tmp_path: Path,
) -> None:
    skip = {"tags": ["skip-when-grading"]}
    cells = [
        new_code_cell(mark("setup")),
        new_code_cell(mark("training") + "import time\ntime.sleep(60)", metadata=skip),
        new_code_cell(
            mark("answer"),
            metadata={**skip, "nbgrader": {"grade_id": "a", "solution": True}},
        ),
        new_code_cell(
            mark("test"), metadata={**skip, "nbgrader": {"grade_id": "t", "grade": True}}
        ),
        new_code_cell(mark("locked"), metadata={**skip, "nbgrader": {"locked": True}}),
        new_code_cell(mark("tagged_otherwise"), metadata={"tags": ["other"]}),
    ]
    workdir = write_workdir(tmp_path / "work", cells)
    run_workdir(workdir, cell_timeout=CELL_TIMEOUT)
    assert ran(workdir) == ["setup", "answer", "test", "locked", "tagged_otherwise"]
    assert [cell["index"] for cell in results(workdir)] == [0, 2, 3, 4, 5]


def test_headless_matplotlib_magics_work(tmp_path: Path) -> None:
    cells = [
        new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])"),
        new_code_cell("plt.savefig('figure.png')\nbackend = plt.get_backend()"),
        new_code_cell("open('backend.txt', 'w').write(backend)"),
    ]
    workdir = write_workdir(tmp_path / "work", cells)
    run_workdir(workdir, cell_timeout=30)
    assert [cell["status"] for cell in results(workdir)] == ["ok", "ok", "ok"]
    assert (workdir / "backend.txt").read_text().lower() == "agg"
    assert (workdir / "figure.png").stat().st_size > 0


def test_os_exit_in_a_cell_leaves_the_results_of_earlier_cells(tmp_path: Path) -> None:
    cells = [
        new_code_cell(mark("first") + "x = 1"),
        new_code_cell(mark("broken") + "x.missing"),
        new_code_cell(mark("exits") + "import os\nos._exit(0)"),
        new_code_cell(mark("never")),
    ]
    workdir = write_workdir(tmp_path / "work", cells)
    process = subprocess.run(
        [sys.executable, "-m", "autograder.runner", str(workdir), "--cell-timeout", "30"],
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr.decode()
    assert [(cell["index"], cell["status"]) for cell in results(workdir)] == [
        (0, "ok"),
        (1, "error"),
    ]
    assert ran(workdir) == ["first", "broken", "exits"]


def test_a_broken_work_dir_fails_the_runner_before_any_cell(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()  # no notebook.ipynb
    process = subprocess.run(
        [sys.executable, "-m", "autograder.runner", str(tmp_path / "work")],
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert process.returncode == 1
    assert STARTED_MARKER.encode() not in process.stdout
    assert b"notebook.ipynb" in process.stderr


# --- through a ColdBox -----------------------------------------------------------------


def test_cold_box_is_a_box() -> None:
    assert issubclass(ColdBox, Box)


def test_cold_box_reports_every_cell_like_the_in_process_runner(boxed: tuple) -> None:
    workdir, run, _ = boxed
    assert run.returncode == 0 and not run.timed_out, run.stderr.decode()[-2000:]
    assert {cell["index"]: cell["status"] for cell in results(workdir)} == EXPECTED
    assert STARTED_MARKER.encode() in run.stdout
    assert b"still running 42" in run.stdout


def test_cold_box_runs_later_cells_after_exit_and_timeout(boxed: tuple) -> None:
    workdir, _, _ = boxed
    assert ran(workdir) == [
        "first",
        "raises",
        "after_error",
        "exits",
        "after_exit",
        "loops",
        "after_loop",
    ]


def test_cold_box_reports_the_layers_it_had(boxed: tuple) -> None:
    _, run, use_bwrap = boxed
    assert run.layers.is_active(Layer.BUBBLEWRAP) is use_bwrap
    assert run.layers.is_active(Layer.ISOLATED_INTERPRETER)


@pytest.mark.parametrize("use_bwrap", MODES)
def test_os_exit_in_a_cold_box_leaves_earlier_results(
    runtime_dir: Path, tmp_path: Path, use_bwrap: bool
) -> None:
    cells = [new_code_cell("x = 1"), new_code_cell("import os\nos._exit(7)"), new_code_cell("y=2")]
    workdir = write_workdir(tmp_path / "work", cells)
    run = ColdBox(runtime_dir, use_bwrap=use_bwrap).run(workdir, Limits(wall_seconds=120))
    assert run.returncode == 7
    assert [(cell["index"], cell["status"]) for cell in results(workdir)] == [(0, "ok")]


def test_cold_box_refuses_a_directory_that_is_not_a_runtime(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a student runtime"):
        ColdBox(tmp_path)
