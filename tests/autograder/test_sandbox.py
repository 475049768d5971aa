"""The sandbox runs real hostile jobs: nothing escapes, nothing survives, everything is reported.

Every test starts real ``python -I`` processes through ``run_sandboxed``; most
run twice, under bubblewrap and on the plain (no-bwrap) fallback path. The
bubblewrap variants are skipped, with the reason, only where bwrap is unusable.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

from autograder.sandbox import Layer, Limits, SandboxUnavailable, run_sandboxed
from autograder.sandbox.bwrap import WORKDIR_MOUNT
from autograder.sandbox.layers import bwrap_unavailable

BWRAP_PROBLEM = bwrap_unavailable()
needs_bwrap = pytest.mark.skipif(
    BWRAP_PROBLEM is not None,
    reason=f"BUBBLEWRAP LAYER NOT TESTED: {BWRAP_PROBLEM}",
)
MODES = [pytest.param(True, id="bwrap", marks=needs_bwrap), pytest.param(False, id="plain")]
REPO = Path(__file__).resolve().parents[2]


def py(code: str) -> list[str]:
    """argv running ``code`` in an isolated interpreter."""
    return [sys.executable, "-I", "-c", code]


def processes_with(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (host-wide view of /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty private work dir."""
    path = tmp_path / "work"
    path.mkdir()
    return path


# --- ordinary jobs ---------------------------------------------------------------------------


@pytest.mark.parametrize("use_bwrap", MODES)
def test_normal_exit_returns_code_and_both_streams(workdir: Path, use_bwrap: bool) -> None:
    code = "import sys; print('hello'); print('oops', file=sys.stderr); sys.exit(3)"
    result = run_sandboxed(py(code), workdir=workdir, use_bwrap=use_bwrap)
    assert (result.returncode, result.signal) == (3, None)
    assert result.stdout == b"hello\n"
    assert result.stderr == b"oops\n"
    assert not result.timed_out and not result.stdout_truncated and not result.stderr_truncated
    assert result.leftover_processes_killed == 0
    assert result.ended_by == "exited"
    assert result.layers.is_active(Layer.BUBBLEWRAP) is use_bwrap


@pytest.mark.parametrize("use_bwrap", MODES)
def test_stdin_bytes_reach_the_job(workdir: Path, use_bwrap: bool) -> None:
    code = "import sys; sys.stdout.write(sys.stdin.read()[::-1])"
    result = run_sandboxed(py(code), workdir=workdir, stdin=b"abc" * 50_000, use_bwrap=use_bwrap)
    assert result.stdout == b"cba" * 50_000


@pytest.mark.parametrize("use_bwrap", MODES)
def test_work_dir_is_cwd_and_its_writes_land_on_the_host(workdir: Path, use_bwrap: bool) -> None:
    (workdir / "given.txt").write_text("input")
    code = (
        "import os; open('out.txt', 'w').write(open('given.txt').read() + '!'); print(os.getcwd())"
    )
    result = run_sandboxed(py(code), workdir=workdir, use_bwrap=use_bwrap)
    assert result.returncode == 0, result.stderr
    expected_cwd = WORKDIR_MOUNT if use_bwrap else str(workdir)
    assert result.stdout.decode().strip() == expected_cwd
    assert (workdir / "out.txt").read_text() == "input!"


@pytest.mark.parametrize("use_bwrap", MODES)
def test_parent_secrets_and_grading_markers_are_invisible(
    workdir: Path, use_bwrap: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    result = run_sandboxed(py(code), workdir=workdir, env={"COURSE": "dl"}, use_bwrap=use_bwrap)
    seen = json.loads(result.stdout)
    assert "SECRET_TOKEN" not in seen and "hunter2" not in result.stdout.decode()
    assert not any(name.startswith("NBGRADER") for name in seen)
    home = WORKDIR_MOUNT if use_bwrap else str(workdir)
    assert seen["HOME"] == home and seen["TMPDIR"].startswith(home + "/")
    assert seen["OMP_NUM_THREADS"] == "1" and seen["MPLBACKEND"] == "Agg"
    assert seen["COURSE"] == "dl"


@pytest.mark.parametrize("use_bwrap", MODES)
def test_20mb_single_line_print_is_cut_at_the_cap(workdir: Path, use_bwrap: bool) -> None:
    code = "import sys; sys.stdout.write('x' * 20_000_000); print('done', file=sys.stderr)"
    limits = Limits(stdout_bytes=1_000_000)
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap)
    assert result.returncode == 0  # output was drained, so the job ran to completion
    assert result.stdout == b"x" * 1_000_000 and result.stdout_truncated
    assert result.stderr == b"done\n" and not result.stderr_truncated


# --- hostile jobs ----------------------------------------------------------------------------


@pytest.mark.parametrize("use_bwrap", MODES)
def test_signal_ignoring_busy_loop_is_killed_at_the_deadline(
    workdir: Path, use_bwrap: bool
) -> None:
    code = (
        "import signal\n"
        "for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
        "    signal.signal(sig, signal.SIG_IGN)\n"
        "print('spinning', flush=True)\n"
        "while True:\n"
        "    pass\n"
    )
    limits = Limits(wall_seconds=1.0)
    started = time.monotonic()
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap)
    overshoot = time.monotonic() - started - limits.wall_seconds
    assert result.timed_out and result.ended_by == "deadline"
    assert result.signal == signal.SIGKILL and result.returncode is None
    assert result.stdout == b"spinning\n"  # output before the kill is kept
    assert overshoot < 5.0


@pytest.mark.parametrize("use_bwrap", MODES)
def test_fork_bomb_is_contained_and_leaves_no_process(workdir: Path, use_bwrap: bool) -> None:
    marker = f"forkbomb-{uuid.uuid4().hex}"
    code = (
        f"import os, time  # {marker}\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n"
    )
    limits = Limits(max_processes=24, wall_seconds=2.5)
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap)
    # As root the reaper's count watchdog ends it; as nobody RLIMIT_NPROC caps
    # it and the deadline ends it. Either way everything it made is gone.
    assert result.ended_by in ("process_limit", "deadline")
    assert result.leftover_processes_killed > 1
    assert processes_with(marker) == []


@pytest.mark.parametrize("use_bwrap", MODES)
def test_double_forked_daemon_dies_with_the_job(workdir: Path, use_bwrap: bool) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    code = (
        f"import os, sys, time  # {marker}\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        open('daemon-started', 'w').close()\n"
        "        time.sleep(1.0)\n"  # keeps the inherited stdout open meanwhile
        "        open('daemon-survived', 'w').close()\n"
        "    os._exit(0)\n"
        "while not os.path.exists('daemon-started'):\n"
        "    time.sleep(0.01)\n"
        "print('parent exits')\n"
    )
    limits = Limits(wall_seconds=30.0)
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap)
    assert result.returncode == 0 and result.stdout == b"parent exits\n"
    assert not result.timed_out  # the daemon holding stdout did not stall the runner
    assert result.leftover_processes_killed >= 1
    assert (workdir / "daemon-started").exists()
    time.sleep(1.5)
    assert not (workdir / "daemon-survived").exists()
    assert processes_with(marker) == []


@pytest.mark.parametrize("use_bwrap", MODES)
def test_memory_bomb_gets_memory_error_not_the_machine(workdir: Path, use_bwrap: bool) -> None:
    code = (
        "import sys\n"
        "blocks = []\n"
        "try:\n"
        "    while True:\n"
        "        blocks.append(bytearray(64 * 2**20))\n"
        "except MemoryError:\n"
        "    print('MemoryError after', len(blocks), 'blocks')\n"
        "    sys.exit(7)\n"
    )
    limits = Limits(memory_bytes=512 * 2**20)
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap)
    assert result.returncode == 7, result.stderr
    blocks = int(result.stdout.split()[2])
    assert 1 <= blocks < 8  # 8 blocks would already be the whole 512 MiB


@pytest.mark.parametrize("use_bwrap", MODES)
def test_disk_fill_stops_at_the_file_size_limit(workdir: Path, use_bwrap: bool) -> None:
    code = (
        "import errno\n"
        "try:\n"
        "    with open('fill.bin', 'wb') as handle:\n"
        "        for _ in range(64):\n"
        "            handle.write(b'0' * 65536)\n"
        "            handle.flush()\n"
        "except OSError as exc:\n"
        "    print(errno.errorcode[exc.errno])\n"
    )
    limits = Limits(max_file_size=2**20)
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap)
    assert result.stdout == b"EFBIG\n", result.stderr
    assert (workdir / "fill.bin").stat().st_size <= 2**20


def test_job_that_kills_its_launcher_is_still_swept_up(workdir: Path) -> None:
    marker = f"parricide-{uuid.uuid4().hex}"
    code = (
        f"import os, signal, time  # {marker}\n"
        "if os.fork() == 0:\n"
        "    time.sleep(3.0)\n"  # holds stdout open past the runner's backstop
        "    open('child-survived', 'w').close()\n"
        "    os._exit(0)\n"
        "os.kill(os.getppid(), signal.SIGKILL)\n"
    )
    limits = Limits(wall_seconds=1.0, kill_grace_seconds=0.5)
    started = time.monotonic()
    result = run_sandboxed(py(code), workdir=workdir, limits=limits, use_bwrap=False)
    if result.layers.is_active(Layer.UNPRIVILEGED_UID):
        assert result.ended_by == "exited"  # the kill was refused; the reaper cleaned up
    else:
        assert result.ended_by in ("backstop", "launcher_lost")
    assert result.leftover_processes_killed >= 1
    time.sleep(max(0.0, started + 3.5 - time.monotonic()))
    assert not (workdir / "child-survived").exists()
    assert processes_with(marker) == []


# --- bubblewrap-only layers ------------------------------------------------------------------


@needs_bwrap
def test_loopback_server_on_the_host_is_unreachable_inside(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('blocked', type(exc).__name__)\n"
        )
        results = {}
        for use_bwrap in (True, False):
            work = tmp_path / f"work-{use_bwrap}"
            work.mkdir()
            results[use_bwrap] = run_sandboxed(py(code), workdir=work, use_bwrap=use_bwrap)
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # control: it listens
    # A root driver's plain launcher gives the job its own network namespace too.
    plain = b"blocked" if os.geteuid() == 0 else b"connected"
    assert results[False].stdout.startswith(plain)
    assert results[True].stdout.startswith(b"blocked"), results[True].stderr
    assert results[True].layers.is_active(Layer.NO_NETWORK)


@needs_bwrap
def test_only_whitelisted_paths_are_visible(tmp_path: Path, workdir: Path) -> None:
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    (instructor / "gradebook.db").write_text("all the grades")
    release = tmp_path / "release"
    release.mkdir()
    (release / "hw1.ipynb").write_text("{}")
    probes = {
        "gradebook": str(instructor / "gradebook.db"),
        "repo": str(REPO / "pyproject.toml"),
        "release": str(release / "hw1.ipynb"),
    }
    code = (
        "import json\n"
        f"probes = {probes!r}\n"
        "seen = {}\n"
        "for name, path in probes.items():\n"
        "    try:\n"
        "        seen[name] = open(path).read()\n"
        "    except OSError as exc:\n"
        "        seen[name] = type(exc).__name__\n"
        "print(json.dumps(seen))\n"
    )
    result = run_sandboxed(py(code), workdir=workdir, read_only_paths=[release], use_bwrap=True)
    seen = json.loads(result.stdout)
    assert seen["gradebook"] == "FileNotFoundError"
    assert seen["repo"] == "FileNotFoundError"
    assert seen["release"] == "{}"  # control: a whitelisted path is readable


@needs_bwrap
def test_writes_outside_the_work_dir_fail(tmp_path: Path, workdir: Path) -> None:
    release = tmp_path / "release"
    release.mkdir()
    release.chmod(0o777)  # only the read-only mount, not permissions, may stop the write
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # the job's unprivileged uid must be able to write here
    targets = {
        "usr": "/usr/evil",
        "root": "/evil",
        "release": str(release / "evil"),
        "shared": str(shared / "ok"),
        "home": "ok",
    }
    code = (
        "import json\n"
        f"targets = {targets!r}\n"
        "seen = {}\n"
        "for name, path in targets.items():\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        seen[name] = 'written'\n"
        "    except OSError as exc:\n"
        "        seen[name] = type(exc).__name__\n"
        "print(json.dumps(seen))\n"
    )
    result = run_sandboxed(
        py(code),
        workdir=workdir,
        read_only_paths=[release],
        writable_paths=[shared],
        use_bwrap=True,
    )
    seen = json.loads(result.stdout)
    assert seen["usr"] != "written" and seen["root"] != "written"
    assert seen["release"] != "written" and not (release / "evil").exists()
    assert seen["shared"] == "written" and (shared / "ok").read_text() == "x"
    assert seen["home"] == "written" and (workdir / "ok").read_text() == "x"
    assert not Path("/usr/evil").exists()


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to an unprivileged uid needs a root driver")
def test_root_driver_runs_the_job_as_nobody(tmp_path: Path, workdir: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "key").write_text("root only")
    (secrets / "key").chmod(0o600)
    code = (
        "import os\n"
        "print(os.getuid())\n"
        "try:\n"
        f"    print(open({str(secrets / 'key')!r}).read())\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    result = run_sandboxed(py(code), workdir=workdir, read_only_paths=[secrets], use_bwrap=True)
    assert result.stdout.decode().split() == ["65534", "PermissionError"]
    assert result.layers.is_active(Layer.UNPRIVILEGED_UID)


@needs_bwrap
def test_pid_namespace_hides_the_hosts_processes(workdir: Path) -> None:
    code = "import os; print(sum(name.isdigit() for name in os.listdir('/proc')))"
    result = run_sandboxed(py(code), workdir=workdir, use_bwrap=True)
    assert 1 <= int(result.stdout) <= 5  # bwrap's init, the reaper, the job
    assert result.layers.is_active(Layer.PID_NAMESPACE)


# --- reporting and fallback ------------------------------------------------------------------


def test_disabled_bubblewrap_is_reported_missing_with_the_reason(workdir: Path) -> None:
    result = run_sandboxed(py("pass"), workdir=workdir, use_bwrap=False)
    missing = result.layers.missing
    for layer in (Layer.BUBBLEWRAP, Layer.READONLY_FS, Layer.PID_NAMESPACE):
        assert "use_bwrap=False" in missing[layer]
    assert all(reason for reason in missing.values())
    summary = result.layers.summary()
    assert "; missing: " in summary and "bubblewrap (disabled by the caller" in summary
    # A root launcher still gives the job its own network; namespaces=False takes it away.
    assert result.layers.is_active(Layer.NO_NETWORK) is (os.geteuid() == 0)
    bare = run_sandboxed(py("pass"), workdir=workdir, use_bwrap=False, namespaces=False)
    assert "use_bwrap=False" in bare.layers.missing[Layer.NO_NETWORK]
    assert not bare.layers.is_active(Layer.PRIVATE_IPC)


def test_job_without_python_isolation_flag_is_reported(workdir: Path) -> None:
    result = run_sandboxed([sys.executable, "-c", "pass"], workdir=workdir, use_bwrap=False)
    assert result.returncode == 0
    assert not result.layers.is_active(Layer.ISOLATED_INTERPRETER)


def test_broken_bwrap_falls_back_to_plain_run_and_says_why(workdir: Path) -> None:
    result = run_sandboxed(py("print('ran')"), workdir=workdir, bwrap="/bin/false")
    assert result.returncode == 0 and result.stdout == b"ran\n"
    assert result.layers.missing[Layer.BUBBLEWRAP].startswith("bwrap failed to start")


def test_required_bwrap_that_cannot_start_raises(workdir: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="bwrap failed to start"):
        run_sandboxed(py("pass"), workdir=workdir, bwrap="/bin/false", use_bwrap=True)
    with pytest.raises(SandboxUnavailable, match="not installed"):
        run_sandboxed(py("pass"), workdir=workdir, bwrap="/no/such/bwrap", use_bwrap=True)


# --- IPC between jobs ------------------------------------------------------------------------

TESTS_DIR = Path(__file__).resolve().parent
NOTHING_SEEN = {"shm": 0, "sem": 0, "msg": 0, "mqueue": False, "dev_shm": [], "abstract": False}


def _ipc_job(entry: str, workdir: Path, use_bwrap: bool, shared: Path | None = None):
    """Run ``warm_jobs.<entry>`` (the warm box's IPC probes) as one cold job."""
    if shared is not None:
        (workdir / "witness.txt").write_text(str(shared))
    code = (
        f"import sys, pathlib; sys.path.insert(0, {str(TESTS_DIR)!r}); import warm_jobs; "
        f"sys.exit(warm_jobs.{entry}(pathlib.Path('.'), 1.0))"
    )
    paths = [TESTS_DIR] if shared is None else [TESTS_DIR]
    return run_sandboxed(
        py(code),
        workdir=workdir,
        use_bwrap=use_bwrap,
        read_only_paths=paths,
        writable_paths=[shared] if shared is not None else [],
    )


@pytest.mark.parametrize("use_bwrap", MODES)
def test_ipc_objects_of_one_job_reach_neither_a_later_nor_a_concurrent_job(
    tmp_path: Path, use_bwrap: bool
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    works = []
    for name in ("maker", "finder", "holder", "snooper"):
        (tmp_path / name).mkdir()
        works.append(tmp_path / name)
    made = _ipc_job("make_ipc", works[0], use_bwrap)
    assert made.returncode == 0, made.stdout + made.stderr
    later = _ipc_job("find_ipc", works[1], use_bwrap)
    assert json.loads(later.stdout) == NOTHING_SEEN
    assert later.layers.is_active(Layer.PRIVATE_IPC), later.layers.summary()
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(_ipc_job, "make_ipc", works[2], use_bwrap, shared)
        snooper = pool.submit(_ipc_job, "find_ipc", works[3], use_bwrap, shared)
        held, snooped = holder.result(), snooper.result()
    assert held.returncode == 0, held.stdout + held.stderr
    assert json.loads(snooped.stdout) == NOTHING_SEEN


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_job_whose_processes_together_exceed_the_job_memory_cap_is_killed(
    workdir: Path, use_bwrap: bool
) -> None:
    code = (
        f"import sys, pathlib; sys.path.insert(0, {str(TESTS_DIR)!r}); import warm_jobs; "
        "sys.exit(warm_jobs.memory_team(pathlib.Path('.'), 1.0))"
    )
    limits = Limits(memory_bytes=512 * 2**20, job_memory_bytes=400 * 2**20, wall_seconds=60)
    result = run_sandboxed(
        py(code), workdir=workdir, limits=limits, use_bwrap=use_bwrap, read_only_paths=[TESTS_DIR]
    )
    assert result.ended_by == "memory_limit", result.stderr
    assert b"never stopped" not in result.stdout
    assert result.layers.is_active(Layer.JOB_MEMORY)
