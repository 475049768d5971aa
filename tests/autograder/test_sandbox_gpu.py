"""A GPU job's sandbox: the host's NVIDIA device nodes bound in, no address-space cap.

CUDA opens ``/dev/nvidiactl``, ``/dev/nvidia<N>`` and ``/dev/nvidia-uvm`` and reserves
tens of GiB of address space at start-up, so a job with ``Limits(gpu=True)`` gets the
nodes through bubblewrap and runs without RLIMIT_AS (its resident memory stays capped).
The node list and the argv are checked here on any machine; the real job runs under the
real sandbox, and on a GPU runner a last test proves that CUDA works inside it.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import pytest

from autograder.sandbox import Limits, run_sandboxed
from autograder.sandbox.bwrap import BwrapSpec, build_bwrap_argv, gpu_device_nodes
from autograder.sandbox.layers import bwrap_unavailable

BWRAP_PROBLEM = bwrap_unavailable()
needs_bwrap = pytest.mark.skipif(
    BWRAP_PROBLEM is not None, reason=f"BUBBLEWRAP LAYER NOT TESTED: {BWRAP_PROBLEM}"
)
LIMITS_PROBE = "import json, resource; print(json.dumps(resource.getrlimit(resource.RLIMIT_AS)))"


def test_the_device_nodes_are_the_nvidia_files_of_dev(tmp_path: Path):
    for name in ("nvidiactl", "nvidia0", "nvidia-uvm", "null"):
        (tmp_path / name).touch()
    (tmp_path / "nvidia-caps").mkdir()  # a folder of capability nodes: not a node itself
    found = gpu_device_nodes(tmp_path)
    assert found == tuple(str(tmp_path / n) for n in ("nvidia-uvm", "nvidia0", "nvidiactl"))


def test_device_nodes_are_bound_on_top_of_the_minimal_dev(tmp_path: Path):
    spec = BwrapSpec(workdir=tmp_path, devices=("/dev/nvidiactl", "/dev/nvidia0"))
    argv = build_bwrap_argv("bwrap", spec, ["true"])
    dev = argv.index("/dev", argv.index("--dev"))
    for node in spec.devices:
        at = argv.index(node)
        assert argv[at - 1 : at + 2] == ["--dev-bind-try", node, node]
        assert at > dev, "a node bound before --dev /dev would be hidden by it"
    assert "--dev-bind-try" not in build_bwrap_argv("bwrap", BwrapSpec(workdir=tmp_path), ["true"])


def test_only_nodes_under_dev_are_bound(tmp_path: Path):
    for bad in ("/etc/passwd", "/dev", "/devices/x"):
        with pytest.raises(ValueError, match="not a file under /dev"):
            build_bwrap_argv("bwrap", BwrapSpec(workdir=tmp_path, devices=(bad,)), ["true"])


def test_a_gpu_job_has_no_address_space_cap_and_the_others_keep_it():
    assert "RLIMIT_AS" not in {row[0] for row in Limits(gpu=True).rlimits()}
    assert ("RLIMIT_AS", Limits().memory_bytes, Limits().memory_bytes) in Limits().rlimits()


@needs_bwrap
@pytest.mark.parametrize("gpu", [False, True])
def test_the_real_sandbox_applies_the_gpu_limits(tmp_path: Path, gpu: bool):
    limits = Limits(gpu=gpu, wall_seconds=60.0)
    tmp_path = tmp_path / "work"  # the job's uid enters only the work dir itself
    tmp_path.mkdir()
    result = run_sandboxed(
        [sys.executable, "-I", "-c", LIMITS_PROBE],
        workdir=tmp_path,
        limits=limits,
        use_bwrap=True,
    )
    assert result.returncode == 0, result.stderr
    soft, hard = json.loads(result.stdout)
    if gpu:
        assert soft == hard == resource.RLIM_INFINITY
    else:
        assert soft == hard == limits.memory_bytes


@pytest.mark.gpu
@needs_bwrap
def test_cuda_works_inside_a_gpu_jobs_sandbox(tmp_path: Path):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    probe = (
        "import torch; print(torch.cuda.is_available(), torch.ones(2, device='cuda').sum().item())"
    )
    result = run_sandboxed(
        [sys.executable, "-I", "-c", probe],
        workdir=tmp_path,
        limits=Limits(gpu=True, wall_seconds=120.0, cpu_seconds=120),
        use_bwrap=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [b"True", b"2.0"]
