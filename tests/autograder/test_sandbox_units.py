"""The sandbox's pure pieces: limits, environment, argv building, reports (no jobs run)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest

from autograder.sandbox import IsolationReport, Layer, LayerStatus, Limits, detect_layers
from autograder.sandbox.bwrap import WORKDIR_MOUNT, BwrapSpec, build_bwrap_argv
from autograder.sandbox.env import scrubbed_env
from autograder.sandbox.layers import (
    job_identity,
    resolve_user,
    unreachable_path,
    uses_isolated_python,
)

# --- limits ----------------------------------------------------------------------------------


def test_limits_are_frozen_and_reject_nonsense() -> None:
    limits = Limits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.cpu_seconds = 1  # type: ignore[misc]
    for bad in ({"memory_bytes": 0}, {"wall_seconds": 0.0}, {"stdout_bytes": -1}):
        with pytest.raises(ValueError):
            Limits(**bad)


def test_rlimits_forbid_core_dumps_and_leave_room_for_sigxcpu() -> None:
    table = {name: (soft, hard) for name, soft, hard in Limits(cpu_seconds=10).rlimits()}
    assert table["RLIMIT_CORE"] == (0, 0)
    assert table["RLIMIT_CPU"][0] == 10 and table["RLIMIT_CPU"][1] > 10
    assert table["RLIMIT_AS"] == (Limits().memory_bytes, Limits().memory_bytes)
    assert {"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE"} <= table.keys()


# --- environment -----------------------------------------------------------------------------


def test_scrubbed_env_copies_nothing_from_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    env = scrubbed_env(home="/h", tmpdir="/h/.tmp", threads=3)
    assert "SECRET_TOKEN" not in env and "NBGRADER_EXECUTION" not in env
    assert env["HOME"] == "/h" and env["TMPDIR"] == "/h/.tmp"
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "3"
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(os.path.abspath(sys.executable))


def test_scrubbed_env_takes_caller_extras_but_rejects_malformed_names() -> None:
    env = scrubbed_env(home="/h", tmpdir="/t", extra={"MPLBACKEND": "pdf", "SEED": "1"})
    assert env["MPLBACKEND"] == "pdf" and env["SEED"] == "1"
    with pytest.raises(ValueError):
        scrubbed_env(home="/h", tmpdir="/t", extra={"A=B": "1"})


# --- interpreter flag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "isolated"),
    [
        (["python3", "-I", "-c", "pass"], True),
        (["/venv/bin/python3.11", "-IB", "script.py"], True),
        (["python", "-W", "ignore", "-X", "dev", "-I"], True),
        (["python", "-Wignore", "-I", "-m", "pytest"], True),
        (["python", "-c", "-I"], False),  # after -c comes the code, not options
        (["python", "script.py", "-I"], False),  # a script's own argument
        (["python", "-W", "I"], False),  # the value of -W, not a flag
        (["bash", "-I"], False),
        ([], False),
    ],
)
def test_isolated_python_detection_reads_only_interpreter_options(
    argv: list[str], isolated: bool
) -> None:
    assert uses_isolated_python(argv) is isolated


# --- identity --------------------------------------------------------------------------------


def test_numeric_user_needs_no_passwd_entry_and_none_disables_the_drop() -> None:
    assert resolve_user(123456) == (123456, 123456)
    assert resolve_user(None) is None
    identity, why = job_identity(None)
    assert identity is None and "user=None" in why


def test_unreachable_path_names_the_directory_that_blocks(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    target = private / "python"
    target.write_text("")
    target.chmod(0o755)
    uid, gid = os.getuid(), os.getgid()
    private.chmod(0o600)  # owner may list but not enter
    try:
        reason = unreachable_path([target], uid, gid)
    finally:
        private.chmod(0o700)
    assert reason is not None and f"cannot enter {private}" in reason
    assert unreachable_path([target], uid, gid) is None


# --- report ----------------------------------------------------------------------------------


def _report(**overrides: LayerStatus) -> IsolationReport:
    statuses = {layer: LayerStatus(True, "on") for layer in Layer}
    statuses.update({Layer(name): status for name, status in overrides.items()})
    return IsolationReport(statuses)


def test_report_refuses_to_be_silent_about_a_layer() -> None:
    statuses = {layer: LayerStatus(True) for layer in Layer if layer is not Layer.NO_NETWORK}
    with pytest.raises(ValueError, match="no_network"):
        IsolationReport(statuses)
    with pytest.raises(ValueError, match="need a reason"):
        _report(pid_namespace=LayerStatus(False, ""))


def test_summary_lists_active_layers_and_missing_ones_with_reasons() -> None:
    report = _report(bubblewrap=LayerStatus(False, "not installed: apt-get install bubblewrap"))
    summary = report.summary()
    assert summary.startswith("active: process_group, rlimits")
    assert summary.endswith("; missing: bubblewrap (not installed: apt-get install bubblewrap)")
    assert report.missing == {Layer.BUBBLEWRAP: "not installed: apt-get install bubblewrap"}
    assert _report().summary().endswith("; missing: none")
    restored = report.replace({Layer.BUBBLEWRAP: LayerStatus(True)})
    assert restored.is_active(Layer.BUBBLEWRAP) and not report.is_active(Layer.BUBBLEWRAP)
    assert report.to_dict()["bubblewrap"]["active"] is False


def test_detect_layers_explains_a_missing_or_broken_bwrap() -> None:
    absent = detect_layers(bwrap="/no/such/bwrap", user=None)
    assert absent.missing[Layer.BUBBLEWRAP] == "not installed: apt-get install bubblewrap"
    assert "user=None" in absent.missing[Layer.UNPRIVILEGED_UID]
    broken = detect_layers(bwrap="/bin/false")
    assert broken.missing[Layer.PID_NAMESPACE].startswith("bwrap fails here")
    assert broken.is_active(Layer.RLIMITS)
    # Without bubblewrap a root launcher still unshares IPC and network per job.
    root = os.geteuid() == 0
    assert broken.is_active(Layer.PRIVATE_IPC) is root
    assert broken.is_active(Layer.NO_NETWORK) is root


# --- bwrap argv ------------------------------------------------------------------------------


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    """(src, dst) of every occurrence of a two-argument bwrap flag."""
    return [(argv[i + 1], argv[i + 2]) for i, arg in enumerate(argv) if arg == flag]


def test_bwrap_argv_unshares_network_and_pids_and_never_binds_root(tmp_path: Path) -> None:
    argv = build_bwrap_argv("bwrap", BwrapSpec(workdir=tmp_path), ["python3", "-I"])
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in argv
    binds = _pairs(argv, "--ro-bind") + _pairs(argv, "--bind") + _pairs(argv, "--ro-bind-try")
    assert all(src != "/" for src, _dst in binds)
    assert (str(tmp_path), WORKDIR_MOUNT) in _pairs(argv, "--bind")
    assert argv[-3:] == ["--", "python3", "-I"]
    assert argv[argv.index("--chdir") + 1] == WORKDIR_MOUNT
    if Path(sys.base_prefix).parts[1] != "usr":
        assert (sys.base_prefix, sys.base_prefix) in _pairs(argv, "--ro-bind")


def test_bwrap_argv_mounts_tmp_before_binds_under_it_and_opens_parents(tmp_path: Path) -> None:
    notebooks = tmp_path / "release"
    notebooks.mkdir()
    spec = BwrapSpec(workdir=tmp_path / "w", read_only_paths=(notebooks,))
    (tmp_path / "w").mkdir()
    argv = build_bwrap_argv("bwrap", spec, ["true"])
    tmpfs_at = max(i for i, arg in enumerate(argv) if arg == "--tmpfs" and argv[i + 1] == "/tmp")
    bind_at = argv.index(str(notebooks))
    assert tmpfs_at < bind_at
    created = [argv[i + 3] for i, arg in enumerate(argv) if arg == "--perms"]
    assert str(notebooks.parent) in created and "/home" in created


@pytest.mark.parametrize("bad", [Path("/"), Path("/no/such/dir")])
def test_bwrap_argv_rejects_binding_root_or_missing_paths(tmp_path: Path, bad: Path) -> None:
    with pytest.raises(ValueError):
        build_bwrap_argv("bwrap", BwrapSpec(workdir=tmp_path, read_only_paths=(bad,)), ["true"])


def test_bwrap_argv_rejects_paths_that_overlap_the_work_dir_mount(tmp_path: Path) -> None:
    spec = BwrapSpec(workdir=tmp_path, workdir_mount=str(tmp_path), read_only_paths=(tmp_path,))
    with pytest.raises(ValueError, match="overlaps"):
        build_bwrap_argv("bwrap", spec, ["true"])
