"""Hostile jobs in the warm box: contained, killed at their deadline, never outliving it.

Real zygotes, real uids, real bubblewrap (where usable) and the plain fallback. After
every hostile job the host's process table must hold nothing of the box's uids: the
forked children carry the zygote's command line, so the uid is how they are found.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from warm_fixtures import (
    BWRAP_PROBLEM,
    discard_box,
    make_box,
    needs_bwrap,
    needs_root,
    pid_alive,
    uid_processes,
    warm_runtime,  # noqa: F401  (a fixture)
    witness_dir,
    workdir,
)

from autograder.box.warm import WarmBox
from autograder.sandbox import Layer, Limits

pytestmark = needs_root

MODES = ["bwrap_box", "plain_box"]


@pytest.fixture(scope="module")
def bwrap_box(warm_runtime: Path) -> Iterator[WarmBox]:  # noqa: F811
    if BWRAP_PROBLEM is not None:
        pytest.skip(f"BUBBLEWRAP LAYER NOT TESTED: {BWRAP_PROBLEM}")
    box = make_box(warm_runtime, slots=2, preload=("numpy", "torch"), use_bwrap=True)
    yield box
    discard_box(box)


@pytest.fixture(scope="module")
def plain_box(warm_runtime: Path) -> Iterator[WarmBox]:  # noqa: F811
    box = make_box(warm_runtime, slots=2, preload=("numpy", "warm_jobs"), use_bwrap=False)
    yield box
    discard_box(box)


@pytest.fixture(params=MODES)
def box(request: pytest.FixtureRequest) -> WarmBox:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=[pytest.param(True, id="bwrap", marks=needs_bwrap), False])
def own_box(warm_runtime: Path, request: pytest.FixtureRequest) -> Iterator[WarmBox]:  # noqa: F811
    """A box of the test's own, for tests that kill or close it."""
    box = make_box(warm_runtime, slots=2, preload=("numpy", "warm_jobs"), use_bwrap=request.param)
    yield box
    discard_box(box)


def assert_healthy(box: WarmBox, tmp_path: Path) -> None:
    """The box still runs an ordinary job, and nothing of its uids is left behind."""
    result = box.run(workdir(tmp_path, name=f"after-{time.monotonic_ns()}"), Limits())
    assert result.returncode == 0 and result.stdout.startswith(b"hello"), result.stderr
    assert uid_processes(box.uids) == []


def test_signal_ignoring_loop_is_killed_at_the_deadline(box: WarmBox, tmp_path: Path) -> None:
    limits = Limits(wall_seconds=1.0)
    started = time.monotonic()
    result = box.run(workdir(tmp_path), limits, entry="warm_jobs:spin")
    overshoot = time.monotonic() - started - limits.wall_seconds
    assert result.timed_out and result.ended_by == "deadline"
    assert result.signal == signal.SIGKILL and result.returncode is None
    assert result.stdout == b"spinning\n"  # output before the kill is kept
    assert result.leftover_processes_killed >= 1
    assert overshoot < 10.0  # generous: a shared, loaded CI machine
    assert_healthy(box, tmp_path)


def test_fork_bomb_is_capped_by_its_own_nproc_and_leaves_nothing(
    box: WarmBox, tmp_path: Path
) -> None:
    limits = Limits(max_processes=24, wall_seconds=2.5)
    result = box.run(workdir(tmp_path), limits, entry="warm_jobs:fork_bomb")
    assert result.ended_by == "deadline"
    # More than the main process was killed, and never more than RLIMIT_NPROC allowed.
    assert 1 < result.leftover_processes_killed <= limits.max_processes
    assert uid_processes(box.uids) == []
    assert_healthy(box, tmp_path)


def test_double_forked_setsid_daemon_dies_with_its_job(box: WarmBox, tmp_path: Path) -> None:
    host, inside = witness_dir(box)
    work = workdir(tmp_path, {"witness.txt": inside})
    result = box.run(work, Limits(wall_seconds=30), entry="warm_jobs:daemon")
    assert result.returncode == 0 and result.stdout == b"parent exits\n", result.stderr
    assert not result.timed_out  # the daemon holding stdout did not stall the box
    assert result.leftover_processes_killed >= 1
    assert (host / "daemon-started").exists()
    assert uid_processes(box.uids) == []
    time.sleep(1.5)  # past the moment a surviving daemon would write its marker
    assert not (host / "daemon-survived").exists()


@needs_bwrap
def test_memory_bomb_gets_memory_error_not_the_machine(bwrap_box: WarmBox, tmp_path: Path) -> None:
    limits = Limits(memory_bytes=2 * 2**30)  # the preloaded torch image counts too
    result = bwrap_box.run(workdir(tmp_path), limits, entry="warm_jobs:memory_bomb")
    assert result.returncode == 7, result.stderr
    blocks = int(result.stdout.split()[2])
    assert 1 <= blocks < 32  # 32 blocks of 64 MiB would be the whole 2 GiB


@needs_bwrap
def test_20mb_print_is_cut_at_the_cap(bwrap_box: WarmBox, tmp_path: Path) -> None:
    limits = Limits(stdout_bytes=1_000_000)
    result = bwrap_box.run(workdir(tmp_path), limits, entry="warm_jobs:print_20mb")
    assert result.returncode == 0  # drained, so the job ran to completion
    assert result.stdout == b"x" * 1_000_000 and result.stdout_truncated
    assert result.stderr == b"done\n" and not result.stderr_truncated


def test_loopback_server_on_the_host_is_unreachable_only_under_bwrap(
    box: WarmBox, tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = str(server.getsockname()[1])
        result = box.run(workdir(tmp_path, {"port.txt": port}), Limits(), entry="warm_jobs:connect")
    if box.layers().is_active(Layer.NO_NETWORK):
        assert result.stdout.startswith(b"blocked"), result.stderr
    else:
        assert result.stdout == b"connected\n", result.stderr  # control: reachable


@needs_bwrap
def test_zygote_survives_a_segfaulting_job(bwrap_box: WarmBox, tmp_path: Path) -> None:
    zygote = bwrap_box.zygote_pid
    result = bwrap_box.run(workdir(tmp_path), Limits(), entry="warm_jobs:segfault")
    assert result.signal == signal.SIGSEGV and result.ended_by == "exited"
    assert bwrap_box.zygote_pid == zygote and pid_alive(zygote)
    assert_healthy(bwrap_box, tmp_path)


def test_job_cannot_kill_the_zygote_or_init(box: WarmBox, tmp_path: Path) -> None:
    zygote = box.zygote_pid
    result = box.run(workdir(tmp_path), Limits(), entry="warm_jobs:attack_zygote")
    assert json.loads(result.stdout) == {"parent": "PermissionError", "init": "PermissionError"}
    assert box.zygote_pid == zygote and pid_alive(zygote)


@needs_bwrap
def test_shared_memory_a_job_leaves_is_removed(bwrap_box: WarmBox, tmp_path: Path) -> None:
    made = bwrap_box.run(workdir(tmp_path, name="a"), Limits(), entry="warm_jobs:make_shm")
    assert made.returncode == 0, made.stdout + made.stderr
    listed = bwrap_box.run(workdir(tmp_path, name="b"), Limits(), entry="warm_jobs:list_shm")
    assert int(made.stdout) not in json.loads(listed.stdout)


NOTHING_SEEN = {"shm": 0, "sem": 0, "msg": 0, "mqueue": False, "dev_shm": [], "abstract": False}


def test_ipc_objects_of_one_job_are_invisible_to_a_later_one(box: WarmBox, tmp_path: Path) -> None:
    made = box.run(workdir(tmp_path, name="a"), Limits(), entry="warm_jobs:make_ipc")
    assert made.returncode == 0, made.stdout + made.stderr
    found = box.run(workdir(tmp_path, name="b"), Limits(), entry="warm_jobs:find_ipc")
    assert json.loads(found.stdout) == NOTHING_SEEN
    assert box.layers().is_active(Layer.PRIVATE_IPC)


def test_ipc_objects_of_one_job_are_invisible_to_a_concurrent_one(
    box: WarmBox, tmp_path: Path
) -> None:
    _host, inside = witness_dir(box)
    works = [workdir(tmp_path, {"witness.txt": inside}, name=n) for n in ("maker", "finder")]
    with ThreadPoolExecutor(2) as pool:
        maker = pool.submit(box.run, works[0], Limits(), entry="warm_jobs:make_ipc")
        finder = pool.submit(box.run, works[1], Limits(), entry="warm_jobs:find_ipc")
        made, found = maker.result(), finder.result()
    assert made.returncode == 0, made.stdout + made.stderr
    assert json.loads(found.stdout) == NOTHING_SEEN


def test_a_job_whose_processes_together_exceed_the_job_memory_cap_is_killed(
    box: WarmBox, tmp_path: Path
) -> None:
    limits = Limits(memory_bytes=2**30, job_memory_bytes=600 * 2**20, wall_seconds=60)
    result = box.run(workdir(tmp_path), limits, entry="warm_jobs:memory_team")
    assert result.ended_by == "memory_limit", result.stderr
    assert b"never stopped" not in result.stdout
    assert not uid_processes(box.uids)


def test_killed_zygote_is_replaced_and_its_job_reported_as_backstop(
    own_box: WarmBox, tmp_path: Path
) -> None:
    host, inside = witness_dir(own_box)
    first = own_box.zygote_pid

    def kill_zygote_once_the_job_runs() -> None:
        deadline = time.monotonic() + 60
        while not (host / "sleeper-started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(first, signal.SIGKILL)

    killer = threading.Thread(target=kill_zygote_once_the_job_runs)
    killer.start()
    work = workdir(tmp_path, {"witness.txt": inside})
    result = own_box.run(work, Limits(wall_seconds=60), entry="warm_jobs:sleep_long")
    killer.join()
    assert result.ended_by == "backstop" and result.timed_out
    assert result.returncode is None
    assert own_box.zygote_pid not in (None, first) and not pid_alive(first)
    assert_healthy(own_box, tmp_path)


def test_hung_zygote_is_replaced_after_the_kill_grace(own_box: WarmBox, tmp_path: Path) -> None:
    host, inside = witness_dir(own_box)
    first = own_box.zygote_pid

    def freeze_zygote_once_the_job_runs() -> None:
        deadline = time.monotonic() + 60
        while not (host / "sleeper-started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(first, signal.SIGSTOP)  # alive but deaf: it will never answer the kill

    freezer = threading.Thread(target=freeze_zygote_once_the_job_runs)
    freezer.start()
    work = workdir(tmp_path, {"witness.txt": inside})
    limits = Limits(wall_seconds=2.0, kill_grace_seconds=1.0)
    result = own_box.run(work, limits, entry="warm_jobs:sleep_long")
    freezer.join()
    assert result.ended_by == "backstop" and result.timed_out
    assert own_box.zygote_pid not in (None, first) and not pid_alive(first)
    assert_healthy(own_box, tmp_path)


def test_close_ends_inflight_jobs_and_leaves_no_process(own_box: WarmBox, tmp_path: Path) -> None:
    host, inside = witness_dir(own_box)
    zygote = own_box.zygote_pid
    outcome = {}
    work = workdir(tmp_path, {"witness.txt": inside})
    runner = threading.Thread(
        target=lambda: outcome.update(
            result=own_box.run(work, Limits(wall_seconds=60), entry="warm_jobs:sleep_long")
        )
    )
    runner.start()
    deadline = time.monotonic() + 60
    while not (host / "sleeper-started").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    own_box.close()
    runner.join(timeout=60)
    assert outcome["result"].ended_by == "backstop"
    assert not pid_alive(zygote)
    assert uid_processes(own_box.uids) == []
    assert own_box.zygote_pid is None
    with pytest.raises(RuntimeError, match="closed"):
        own_box.run(work, Limits())
