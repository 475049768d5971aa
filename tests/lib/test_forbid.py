"""The watch on a graded call: calls into forbidden modules are seen, switching it off too."""

from __future__ import annotations

import sys

import numpy as np
import scipy.special
import torch

from dlcourse.checks.forbid import TRACING_OFF, watch


def _numpy_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def test_numpy_only_code_uses_nothing_forbidden():
    with watch(("torch", "scipy")) as used:
        _numpy_relu(np.arange(-3.0, 3.0))
    assert used == set()


def test_a_torch_function_and_a_tensor_method_are_seen(device):
    def relu(x: np.ndarray) -> np.ndarray:
        return torch.as_tensor(x, device=device).clamp(min=0).cpu().numpy()

    with watch(("torch", "scipy")) as used:
        out = relu(np.arange(-3.0, 3.0))
    assert used == {"torch"}
    np.testing.assert_array_equal(out, _numpy_relu(np.arange(-3.0, 3.0)))


def test_a_python_function_of_a_submodule_counts_for_its_package():
    with watch(("scipy",)) as used:
        scipy.special.logsumexp(np.ones(3))
    assert used == {"scipy"}


def test_only_the_declared_modules_are_watched(device):
    with watch(("scipy",)) as used:
        torch.ones(2, device=device).sum()
    assert used == set()


def test_switching_the_profile_function_off_is_reported():
    def evasive(x: np.ndarray) -> np.ndarray:
        sys.setprofile(None)
        return torch.as_tensor(x).numpy()

    with watch(("torch",)) as used:
        evasive(np.ones(2))
    assert TRACING_OFF in used
    assert sys.getprofile() is None  # the watch put back what was there before


def test_nothing_declared_installs_nothing():
    with watch(()) as used:
        assert sys.getprofile() is None
    assert used == set()
