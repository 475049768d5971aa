"""How the warm box launches its zygote, and which isolation layers its jobs get.

The zygote is ``python -I -c <bootstrap>``: the cold box's runtime bootstrap (the
student runtime first on ``sys.path``, the driver's editable-install finder removed,
``dlcourse`` and ``autograder.runner`` checked to come from the runtime), then
:func:`autograder.runner.zygote.main`. Under bubblewrap it gets the cold box's view
(system, interpreter, runtime read-only; no network; its own pid namespace) plus the
jobs root, writable, at :data:`JOBS_MOUNT`. It stays uid 0 there with CAP_SETUID,
CAP_SETGID, CAP_KILL and CAP_SYS_ADMIN only, which is what handing each job its own
uid, namespaces and ``/dev/shm``, and killing that uid afterwards, needs; the children
drop all of them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.box.cold import runtime_bootstrap
from autograder.box.warm.link import ZygoteLink
from autograder.sandbox import IsolationReport, Layer, LayerStatus
from autograder.sandbox.bwrap import WORKDIR_MOUNT, BwrapSpec, build_bwrap_argv
from autograder.sandbox.env import scrubbed_env
from autograder.sandbox.layers import layer_report

JOBS_MOUNT = WORKDIR_MOUNT
"""Where the jobs root appears under bubblewrap; a job's work dir is ``JOBS_MOUNT/<job id>``."""

ZYGOTE_HOME = "/tmp"
"""The zygote's HOME under bubblewrap: its private tmpfs (jobs get their work dir)."""


@dataclass(frozen=True)
class ZygoteConfig:
    """Everything that shapes a started zygote; the same for every restart."""

    runtime_dir: Path
    uids: range
    preload: tuple[str, ...]
    jobs_root: Path
    state_dir: Path
    """Driver-private directory: the zygote's log, and its HOME without bubblewrap."""
    bwrap: str | None
    """Path of bwrap, or None to run the zygote directly."""
    startup_timeout: float

    def argv(self, control_fd: int) -> list[str]:
        """The zygote's command line, given the control socket's inherited fd."""
        config = {
            "control_fd": control_fd,
            "uid_min": self.uids[0],
            "uid_max": self.uids[-1],
            "preload": list(self.preload),
        }
        code = runtime_bootstrap(self.runtime_dir) + (
            f"from autograder.runner.zygote import main\nmain({json.dumps(config)!r})\n"
        )
        command = [sys.executable, "-I", "-c", code]
        if self.bwrap is None:
            return command
        spec = BwrapSpec(
            workdir=self.jobs_root,
            workdir_mount=JOBS_MOUNT,
            read_only_paths=(self.runtime_dir,),
            keep_setuid_caps=True,
            keep_admin_cap=True,
        )
        return build_bwrap_argv(self.bwrap, spec, command)

    def start(self) -> ZygoteLink:
        """Start one zygote and wait until it is ready (raises ZygoteStartError)."""
        if self.bwrap is None:
            home = self.state_dir / "zygote-home"
            home.mkdir(mode=0o700, exist_ok=True)
            home_text = str(home)
        else:
            home_text = ZYGOTE_HOME
        return ZygoteLink(
            self.argv,
            env=scrubbed_env(home=home_text, tmpdir=home_text, threads=1),
            log_path=self.state_dir / "zygote.log",
            startup_timeout=self.startup_timeout,
        )


def warm_layers(
    uids: range,
    uid: int | None,
    *,
    subreaper: bool,
    private_ipc: bool,
    bwrap_problem: str | None,
    uid_note: str = "",
) -> IsolationReport:
    """The layers of a warm box's jobs; ``uid`` names one job's uid, None the box's."""
    who = (
        f"job runs as uid {uid}, gid {uid}, no groups or capabilities"
        if uid is not None
        else f"each running job has its own uid ({uids[0]}-{uids[-1]})"
    )
    return layer_report(
        isolated=LayerStatus(True, "zygote started as python -I"),
        subreaper=LayerStatus(
            subreaper,
            "zygote adopts orphans; all of the job's uid is killed at its end"
            if subreaper
            else "prctl refused; all of the job's uid is still killed at its end",
        ),
        uid=LayerStatus(True, who + uid_note),
        bwrap_problem=bwrap_problem,
        private_ipc=LayerStatus(
            private_ipc,
            "each child unshares its IPC and network namespaces, fresh /dev/shm and /dev/mqueue"
            if private_ipc
            else "the zygote lacks CAP_SYS_ADMIN: jobs share its IPC namespace",
        ),
        job_memory=LayerStatus(
            True, "zygote sums each job's memory and kills its uid past the cap"
        ),
        bwrap_detail="via bubblewrap, shared by the zygote and its jobs",
        details={
            Layer.PROCESS_GROUP: "own session per job (setsid after fork)",
            Layer.RLIMITS: "hard rlimits per child; RLIMIT_NPROC per job uid",
            Layer.WALL_CLOCK_KILL: "at the deadline every process of the job's uid gets SIGKILL",
            Layer.SCRUBBED_ENV: "zygote started with an allow-listed env",
        },
    )
