"""One call that seeds every random number generator a torch training run touches.

Python's ``random``, NumPy's global generator (the legacy one that third-party code and
older notebooks still draw from), torch's CPU generator and the generator of every CUDA
device. Two runs that call :func:`seed_everything` with the same seed before building
their models and data draw the same numbers; on the CPU that makes them bit-for-bit
identical. On a GPU some kernels (atomic adds in convolution backward passes, cuBLAS
split reductions) are nondeterministic, and ``deterministic=True`` asks torch for the
deterministic versions, at some cost in speed.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed ``random``, NumPy, torch and CUDA with ``seed``; optionally force determinism.

    Args:
        seed: a whole number in ``[0, 2**32)`` (NumPy's legacy generator takes no more).
        deterministic: ``True`` makes torch use deterministic algorithms only (an
            operation without one raises) and cuDNN pick deterministic kernels without
            benchmarking; ``False`` turns both back off, so the call sets the state
            either way rather than depending on what ran before.
    """
    if isinstance(seed, bool) or int(seed) != seed or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be a whole number in [0, 2**32), got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator is what we must seed
    torch.manual_seed(seed)  # seeds the CPU and every CUDA device
    if deterministic:
        # cuBLAS needs a fixed workspace to reduce in a fixed order; it must be set before
        # the first cuBLAS call, so a value the user already chose is kept.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
