"""The warm box runs ordinary jobs as forks of a real pre-imported zygote.

Every test drives a real zygote forking real children under real uids, with
bubblewrap (skipped, with the reason, where it is unusable) and without it. The entry
functions live in ``warm_jobs.py``, copied into the test's student runtime.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from warm_fixtures import (
    BWRAP_PROBLEM,
    discard_box,
    fresh_uid_base,
    make_box,
    needs_root,
    warm_runtime,  # noqa: F401  (a fixture)
    witness_dir,
    workdir,
)

from autograder.box import Box
from autograder.box.warm import WarmBox
from autograder.sandbox import Layer, Limits, SandboxUnavailable

SECRET = "WARM_SECRET_TOKEN"
MODES = ["bwrap_box", "plain_box"]


def _boxed(runtime: Path, **options: object) -> Iterator[WarmBox]:
    if os.geteuid() != 0:
        pytest.skip("the warm box needs a root driver (a uid per job)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET, "hunter2")  # in the driver's environment as the zygote starts
        box = make_box(runtime, **options)
    yield box
    discard_box(box)


@pytest.fixture(scope="module")
def bwrap_box(warm_runtime: Path) -> Iterator[WarmBox]:  # noqa: F811
    if BWRAP_PROBLEM is not None:
        pytest.skip(f"BUBBLEWRAP LAYER NOT TESTED: {BWRAP_PROBLEM}")
    yield from _boxed(warm_runtime, slots=2, preload=("numpy", "torch"), use_bwrap=True)


@pytest.fixture(scope="module")
def plain_box(warm_runtime: Path) -> Iterator[WarmBox]:  # noqa: F811
    # Without bubblewrap the job uids cannot read this venv (under /root), so the
    # zygote preloads everything the entries need.
    yield from _boxed(warm_runtime, slots=2, preload=("numpy", "warm_jobs"), use_bwrap=False)


@pytest.fixture(params=MODES)
def box(request: pytest.FixtureRequest) -> WarmBox:
    return request.getfixturevalue(request.param)


def test_warm_box_is_a_box(bwrap_box: WarmBox) -> None:
    assert isinstance(bwrap_box, Box)


def test_normal_job_returns_status_streams_and_its_report(box: WarmBox, tmp_path: Path) -> None:
    work = workdir(tmp_path, {"notebook.ipynb": "{}"})
    result = box.run(work, Limits(wall_seconds=60))
    assert (result.returncode, result.signal, result.ended_by) == (0, None, "exited")
    assert result.stdout.startswith(b"hello from job") and result.stderr == b"careful\n"
    assert not (result.timed_out or result.stdout_truncated or result.stderr_truncated)
    assert result.leftover_processes_killed == 0
    assert json.loads((work / "results.json").read_text())["timeout"] == box.cell_timeout
    assert (work / "outputs" / "case.txt").read_text() == "recorded"
    assert (work / "notebook.ipynb").read_text() == "{}"
    assert sorted(p.name for p in box.jobs_root.iterdir()) == ["witness"]  # job dir removed


def test_sys_exit_status_comes_back(box: WarmBox, tmp_path: Path) -> None:
    result = box.run(workdir(tmp_path), Limits(), entry="warm_jobs:exit_3")
    assert (result.returncode, result.ended_by) == (3, "exited")


def test_job_runs_as_its_own_uid_with_no_privilege_and_a_clean_slate(
    box: WarmBox, tmp_path: Path
) -> None:
    limits = Limits(max_processes=33)
    result = box.run(workdir(tmp_path), limits, entry="warm_jobs:identity")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    uid = seen["ids"][0]
    assert seen["ids"] == [uid] * 4 and uid in box.uids and seen["groups"] == []
    assert set(seen["caps"].values()) == {"0000000000000000"}
    assert seen["no_new_privs"] == "1" and seen["own_session"]
    assert seen["fds"] == ["0", "1", "2", "3"]  # 3: listdir's own; no control socket
    assert seen["stdin"] == ""
    assert seen["cwd"] == seen["workdir"] and seen["workdir_mode"] == "0o700"
    assert seen["nproc"] == [33, 33]
    env = seen["env"]
    assert SECRET not in env and "hunter2" not in result.stdout.decode()
    assert env["HOME"] == seen["cwd"] and env["TMPDIR"] == seen["cwd"] + "/.tmp"
    assert env["OMP_NUM_THREADS"] == "1" and env["MPLBACKEND"] == "Agg"
    assert f"uid {uid}" in result.layers.layers[Layer.UNPRIVILEGED_UID].detail


def test_preloaded_torch_is_already_imported_when_the_job_starts(
    bwrap_box: WarmBox, tmp_path: Path
) -> None:
    assert {"numpy", "torch"} <= set(bwrap_box.preloaded)
    result = bwrap_box.run(workdir(tmp_path), Limits(), entry="warm_jobs:identity")
    preloaded = json.loads(result.stdout)["preloaded"]
    assert preloaded == {"numpy": True, "torch": True, "IPython": True}


def test_four_jobs_on_two_slots_all_complete_two_at_a_time_under_distinct_uids(
    box: WarmBox, tmp_path: Path
) -> None:
    works = [workdir(tmp_path, name=f"w{i}") for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda w: box.run(w, Limits(), entry="warm_jobs:interval"), works))
    assert [r.returncode for r in results] == [0, 0, 0, 0]
    spans = [json.loads(r.stdout) for r in results]
    assert {uid for uid, _, _ in spans} <= set(box.uids)
    overlapping = [
        (a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if a[1] < b[2] and b[1] < a[2]
    ]
    assert overlapping  # the two slots did run at once
    assert all(a[0] != b[0] for a, b in overlapping)
    for _, start, _ in spans:  # never more than two at any moment
        assert sum(s <= start < e for _, s, e in spans) <= 2


def test_concurrent_jobs_cannot_list_read_or_signal_each_other(
    box: WarmBox, tmp_path: Path
) -> None:
    _host, inside = witness_dir(box)
    works = [workdir(tmp_path, {"witness.txt": inside}, name=n) for n in ("holder", "snooper")]
    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(box.run, works[0], Limits(), entry="warm_jobs:hold_secret")
        snooper = pool.submit(box.run, works[1], Limits(), entry="warm_jobs:snoop")
        held, snooped = holder.result(), snooper.result()
    assert held.returncode == 0 and snooped.returncode == 0, snooped.stderr
    seen = json.loads(snooped.stdout)
    assert seen["holder_uid"] != seen["my_uid"]
    assert (seen["list"], seen["read"], seen["signal"]) == ("PermissionError",) * 3


def test_monkeypatching_numpy_in_one_job_is_invisible_to_the_next(
    box: WarmBox, tmp_path: Path
) -> None:
    patched = box.run(workdir(tmp_path, name="a"), Limits(), entry="warm_jobs:patch_numpy")
    assert patched.stdout == b"42\n"  # the patch worked inside its own job
    checked = box.run(workdir(tmp_path, name="b"), Limits(), entry="warm_jobs:check_numpy")
    assert json.loads(checked.stdout) == [3, False]


def test_jobs_do_not_inherit_one_random_state(bwrap_box: WarmBox, tmp_path: Path) -> None:
    first, second = (
        json.loads(
            bwrap_box.run(workdir(tmp_path, name=n), Limits(), entry="warm_jobs:draws").stdout
        )
        for n in ("a", "b")
    )
    assert len(first) == 3  # random, numpy, torch
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_only_regular_files_of_the_report_come_back(box: WarmBox, tmp_path: Path) -> None:
    work = workdir(tmp_path)
    result = box.run(work, Limits(), entry="warm_jobs:tricky_outputs")
    assert result.returncode == 0, result.stderr
    outputs = work / "outputs"
    assert sorted(p.relative_to(outputs).as_posix() for p in outputs.rglob("*")) == [
        "deeper",
        "deeper/nested.txt",
        "real.txt",
    ]
    assert (outputs / "real.txt").read_text() == "kept"
    assert not (work / "results.json").exists()  # it was a link to /etc/passwd


def test_layers_are_reported_per_mode(box: WarmBox, request: pytest.FixtureRequest) -> None:
    report = box.layers()
    bwrap_layers = (Layer.BUBBLEWRAP, Layer.NO_NETWORK, Layer.READONLY_FS, Layer.PID_NAMESPACE)
    always = [layer for layer in Layer if layer not in bwrap_layers]
    assert all(report.is_active(layer) for layer in always)
    if box.layers().is_active(Layer.BUBBLEWRAP):
        assert report.missing == {}
    else:  # each child's own network namespace stands in for bubblewrap's
        assert set(report.missing) == set(bwrap_layers) - {Layer.NO_NETWORK}
        assert all("use_bwrap=False" in why for why in report.missing.values())


@needs_root
def test_a_uid_range_in_use_or_owned_by_an_account_is_refused(
    bwrap_box: WarmBox,
    warm_runtime: Path,  # noqa: F811
) -> None:
    with pytest.raises(ValueError, match="in use by another warm box"):
        WarmBox(warm_runtime, slots=1, uid_base=bwrap_box.uids[-1], use_bwrap=False)
    nobody = 65534
    with pytest.raises(ValueError, match="belongs to the account"):
        WarmBox(warm_runtime, slots=2, uid_base=nobody - 1, use_bwrap=False)


@needs_root
def test_a_uid_stays_reserved_for_a_process_with_another_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autograder.box.warm.files import UidInUse, UidReservation

    # The random base may be one a warm box of this session still holds: take a free one.
    for _attempt in range(64):
        base = fresh_uid_base()
        uids = range(base, base + 1)
        try:
            held = UidReservation(uids)
            break
        except UidInUse:
            continue
    else:
        pytest.fail("no free uid found in 64 draws of fresh_uid_base()")
    try:
        # A SLURM job or the corpus gives each grading process its own TMPDIR.
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        monkeypatch.setattr(tempfile, "tempdir", None)
        with pytest.raises(UidInUse, match="in use by another warm box"):
            UidReservation(uids)
    finally:
        held.release()


@needs_root
def test_a_runtime_without_the_zygote_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "runtime"
    for needed in ("dlcourse/__init__.py", "autograder/runner/__init__.py"):
        (fake / needed).parent.mkdir(parents=True, exist_ok=True)
        (fake / needed).write_text("")
    with pytest.raises(ValueError, match="zygote.py"):
        WarmBox(fake, use_bwrap=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="only a non-root driver is refused")
def test_non_root_driver_is_refused(warm_runtime: Path) -> None:  # noqa: F811
    with pytest.raises(SandboxUnavailable, match="root"):
        WarmBox(warm_runtime)


@needs_root
def test_no_state_dir_is_left_in_tmp_even_after_a_killed_driver(
    warm_runtime: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil
    import signal
    import subprocess
    import sys

    tmp_path = Path(tempfile.mkdtemp(prefix="warm-tmp-"))  # a /tmp of its own, to list
    tmp_path.chmod(0o755)  # plain-mode job uids traverse it to their work dirs
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    box = make_box(warm_runtime, slots=1, preload=(), use_bwrap=False)
    base = box.uids[0]
    discard_box(box)
    assert not list(tmp_path.glob("warmbox-*"))  # closed: nothing left
    # A driver killed outright leaves its state dir; the next box on the range removes it.
    code = (
        "import os, signal, sys; from pathlib import Path; from autograder.box.warm import WarmBox;"
        f"WarmBox(Path(sys.argv[1]), slots=1, uid_base={base}, preload=(), use_bwrap=False,"
        f" jobs_root=Path(sys.argv[2])); os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code, str(warm_runtime), str(tmp_path / "jobs")], timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.glob("warmbox-*")] == [f"warmbox-{base}"]
    WarmBox(warm_runtime, slots=1, uid_base=base, preload=(), use_bwrap=False).close()
    assert not list(tmp_path.glob("warmbox-*"))
    shutil.rmtree(tmp_path, ignore_errors=True)
