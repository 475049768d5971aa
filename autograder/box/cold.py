"""The cold box: one fresh ``python -I`` per job, started through :func:`run_sandboxed`.

Simple and stateless: every job pays the interpreter's and its imports' start-up, but
shares nothing with any other job. The interpreter runs a short bootstrap
(:func:`runtime_bootstrap`) that makes the student runtime the only source of
``dlcourse`` and ``autograder``, checks that it is, and hands over to the runner.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.box import Box
from autograder.sandbox import (
    IsolationReport,
    Layer,
    LayerStatus,
    Limits,
    SandboxResult,
    detect_layers,
    run_sandboxed,
)
from autograder.sandbox.layers import (
    BWRAP_LAYERS,
    INTERPRETER_PATHS,
    bwrap_unavailable,
    job_identity,
    unreachable_path,
)

RUNTIME_CHECK_FAILED = "autograder runtime check failed"
"""Start of the bootstrap's error when an import did not come from the runtime."""


def runtime_bootstrap(runtime_dir: Path) -> str:
    """Python source that puts ``runtime_dir`` in charge of the job's imports.

    1. The runtime goes first on ``sys.path``.
    2. The driver's editable install adds a meta-path finder mapping ``dlcourse`` and
       ``autograder`` (and their direct submodules) onto the source tree, which would
       let ``import autograder.specs`` reach the grader's code outside bubblewrap. It
       is removed.
    3. ``dlcourse`` and ``autograder.runner`` are imported and must come from the
       runtime; anything else ends the job with :data:`RUNTIME_CHECK_FAILED`.

    Under bubblewrap the runtime is bound read-only at its own host path, so the same
    source works with and without it. Boxes prepend this to the statement that starts
    their runner.
    """
    root = str(Path(runtime_dir).resolve())
    return f"""\
import sys
sys.path.insert(0, {root!r})
sys.meta_path[:] = [
    finder for finder in sys.meta_path
    if not str(getattr(finder, "__module__", "")).startswith("__editable__")
]
import dlcourse, autograder.runner
for _module in (dlcourse, autograder.runner):
    if not str(_module.__file__).startswith({root + "/"!r}):
        raise SystemExit(
            {RUNTIME_CHECK_FAILED + ": "!r} + _module.__name__ + " from " + str(_module.__file__)
        )
del _module
"""


def cold_command(runtime_dir: Path, cell_timeout: float) -> list[str]:
    """The job's argv: the bootstrap, then the runner over the cwd (the work dir)."""
    code = runtime_bootstrap(runtime_dir) + (
        "from autograder.runner.__main__ import cli\n"
        f"cli(['.', '--cell-timeout', {str(float(cell_timeout))!r}])\n"
    )
    return [sys.executable, "-I", "-c", code]


def check_runtime_dir(runtime_dir: Path) -> Path:
    """The absolute runtime dir, after checking it holds a student build."""
    root = Path(runtime_dir).resolve()
    for needed in ("dlcourse/__init__.py", "autograder/runner/__init__.py"):
        if not (root / needed).is_file():
            raise ValueError(
                f"{root} is not a student runtime (no {needed}); build one with "
                "autograder.studentlib.build_runtime"
            )
    return root


class ColdBox(Box):
    """Runs every job in a fresh isolated interpreter (see the module docstring).

    Args:
        runtime_dir: a student build from :func:`autograder.studentlib.build_runtime`.
        use_bwrap: True requires bubblewrap, False disables it, None uses it if it works.
        user: the unprivileged user a root driver runs jobs as (None: keep the uid).
        cell_timeout: seconds each code cell may run before it is interrupted.
        namespaces: False keeps a job without bubblewrap in the host's IPC and network
            (the adversarial corpus's isolation-off control; never for grading).

    Raises:
        ValueError: ``runtime_dir`` is not a student build, or the job's uid could not
            read it (without bubblewrap, the job sees host paths with host permissions).
    """

    def __init__(
        self,
        runtime_dir: Path,
        use_bwrap: bool | None = None,
        user: str | int | None = "nobody",
        *,
        cell_timeout: float = 60.0,
        namespaces: bool = True,
    ) -> None:
        if not cell_timeout > 0:
            raise ValueError(f"cell_timeout must be positive, got {cell_timeout}")
        self.runtime_dir = check_runtime_dir(runtime_dir)
        self.use_bwrap = use_bwrap
        self.user = user
        self.cell_timeout = cell_timeout
        self.namespaces = namespaces
        self._layers: IsolationReport | None = None
        self._check_reachable()

    def _check_reachable(self) -> None:
        """Refuse a runtime the job's uid cannot read when bubblewrap will not be used."""
        identity, _ = job_identity(self.user)
        plain = self.use_bwrap is False or (
            self.use_bwrap is None and bwrap_unavailable() is not None
        )
        if identity is None or not plain:
            return
        if unreachable_path(INTERPRETER_PATHS, *identity) is not None:
            return  # run_sandboxed keeps the driver's uid then, which can read the runtime
        # Directories only: the check wants read and search permission.
        inner = [self.runtime_dir / "dlcourse", self.runtime_dir / "autograder" / "runner"]
        blocked = unreachable_path([self.runtime_dir, *inner], *identity)
        if blocked is not None:
            raise ValueError(
                f"jobs run without bubblewrap as uid {identity[0]}, which cannot read the "
                f"runtime ({blocked}); build it where every user can enter"
            )

    def run(self, workdir: Path, limits: Limits) -> SandboxResult:
        """Run the runner over ``workdir`` in a fresh sandboxed interpreter."""
        return run_sandboxed(
            cold_command(self.runtime_dir, self.cell_timeout),
            workdir=Path(workdir),
            limits=limits,
            read_only_paths=[self.runtime_dir],
            use_bwrap=self.use_bwrap,
            user=self.user,
            namespaces=self.namespaces,
        )

    def layers(self) -> IsolationReport:
        """The layers this machine offers the box's jobs (probed once, then cached)."""
        if self._layers is None:
            report = detect_layers(user=self.user)
            if self.use_bwrap is False:
                disabled = LayerStatus(False, "disabled by the caller (use_bwrap=False)")
                report = report.replace({layer: disabled for layer in BWRAP_LAYERS})
                root = os.geteuid() == 0
                ipc = LayerStatus(
                    root and self.namespaces,
                    "launcher unshares them per job" if root else "needs root",
                )
                report = report.replace({Layer.PRIVATE_IPC: ipc})
            self._layers = report.replace(
                {Layer.ISOLATED_INTERPRETER: LayerStatus(True, "python -I")}
            )
        return self._layers

    def close(self) -> None:
        """Nothing to release: every job's processes are gone when :meth:`run` returns."""
