"""Shared pytest configuration: hypothesis profiles, RNG isolation, the device axis.

The device is a real test axis: a test that takes the ``device`` fixture runs once on
the CPU and once on CUDA; the CUDA case carries the ``gpu`` marker and is skipped, with
the reason, where no CUDA device exists (CI has none; GPU runners have one).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The torch tests use small tensors, for which handing work to a second intra-op thread
# costs more than it saves (on a loaded 2-core machine, 100x more); one thread also keeps
# float results independent of the machine's core count.
torch.set_num_threads(1)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded NumPy generator per test, so tests never share RNG state."""
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _isolate_global_rng():
    """Restore NumPy's and torch's global RNG state after each test."""
    state = np.random.get_state()  # noqa: NPY002 - restoring legacy global state
    torch_state = torch.random.get_rng_state()
    yield
    np.random.set_state(state)  # noqa: NPY002
    torch.random.set_rng_state(torch_state)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def device(request) -> str:
    """The device a torch test runs on: ``"cpu"``, and ``"cuda"`` where one exists."""
    return request.param


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` where no CUDA device exists, saying why."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: none on this machine (run on a GPU runner)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
