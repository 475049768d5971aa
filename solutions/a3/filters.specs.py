"""Check specs of ``filters.ipynb``: one-image convolution, Gaussian and Sobel, display scaling.

Shapes, kernel sizes (never 1x1, and rarely symmetric, so a flipped kernel shows),
paddings and sigmas are drawn per case. The references are
``dlcourse.exercises.a3.filters``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a3 import filters as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _filter_inputs(rng: np.random.Generator) -> Inputs:
    """A random kernel of 2 to 4 rows and columns; padding 0 to 2; a large enough image."""
    k, l = (int(size) for size in rng.integers(2, 5, size=2))
    pad = int(rng.integers(0, 3))
    h = int(rng.integers(max(k - 2 * pad, 1), 10))
    w = int(rng.integers(max(l - 2 * pad, 1), 10))
    return {
        "image": rng.uniform(0.0, 1.0, size=(h, w)),
        "kernel": rng.standard_normal((k, l)),
        "pad": np.array(pad),
    }


def _gaussian_inputs(rng: np.random.Generator) -> Inputs:
    return {"size": np.array(int(rng.integers(2, 8))), "sigma": np.array(rng.uniform(0.5, 3.0))}


def _magnitude_inputs(rng: np.random.Generator) -> Inputs:
    h, w = (int(size) for size in rng.integers(3, 11, size=2))
    return {"image": rng.uniform(0.0, 1.0, size=(h, w))}


def _filter_bank(rng: np.random.Generator) -> Inputs:
    """2 to 6 filters with different scales; in about a third of the cases one is constant."""
    f, c = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    hh, ww = (int(size) for size in rng.integers(1, 6, size=2))
    w = rng.uniform(0.05, 2.0, size=(f, 1, 1, 1)) * rng.standard_normal((f, c, hh, ww))
    if rng.random() < 0.35:
        w[int(rng.integers(0, f))] = rng.standard_normal()
    return {"w": w}


SPECS = [
    exercise(
        "filter2d_test",
        "call",
        _filter_inputs,
        ex.filter2d,
        num_visible=3,
        num_hidden=5,
        hint="filter2d (section 1): pad with np.pad(image, pad); out[i, j] = "
        "sum over (u, v) of kernel[u, v] * padded[i + u, j + v], without flipping "
        "the kernel; kernels need not be square.",
    ),
    exercise(
        "gaussian_kernel_test",
        "call",
        _gaussian_inputs,
        ex.gaussian_kernel,
        hint="gaussian_kernel (section 2): offsets np.arange(size) - (size - 1) / 2, "
        "weights exp(-(u**2 + v**2) / (2 * sigma**2)), divided by their sum.",
    ),
    exercise(
        "gradient_magnitude_test",
        "call",
        _magnitude_inputs,
        ex.gradient_magnitude,
        hint="gradient_magnitude (section 3): gx = filter2d(image, SOBEL_X, 1), gy with "
        "SOBEL_Y, then sqrt(gx**2 + gy**2); the result has the image's shape.",
    ),
    exercise(
        "normalize_filters_test",
        "call",
        _filter_bank,
        ex.normalize_filters,
        hint="normalize_filters (section 5): min and max per filter, over the axes "
        "(1, 2, 3); (w - min) / (max - min); a constant filter becomes 0.5.",
    ),
]
