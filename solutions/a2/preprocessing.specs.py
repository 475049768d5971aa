"""Check specs of ``preprocessing.ipynb``: centring, scaling, train statistics, PCA, ZCA.

Shapes are drawn per case. The references are ``dlcourse.exercises.a2.preprocessing``
(PCA's sign convention, largest-magnitude entry positive, is the notebook's; ZCA is
sign-free by construction).
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a2 import preprocessing as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _table(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``(n, d)`` features with distinct offsets and scales, as raw measurements have.

    The offsets are at least 1 apart from each other in expectation, so a global mean or
    a global std is never a per-feature one.
    """
    offsets = rng.uniform(-5.0, 5.0, size=d)
    scales = rng.uniform(0.3, 4.0, size=d)
    return scales * rng.standard_normal((n, d)) + offsets


def _features(rng: np.random.Generator) -> Inputs:
    n, d = int(rng.integers(3, 11)), int(rng.integers(2, 7))
    return {"x": _table(rng, n, d)}


def _images(rng: np.random.Generator, n: int, c: int, h: int, w: int) -> np.ndarray:
    """``(n, c, h, w)`` pixels with a different brightness and contrast per channel."""
    offsets = rng.uniform(0.1, 0.9, size=(1, c, 1, 1))
    scales = rng.uniform(0.05, 0.4, size=(1, c, 1, 1))
    return offsets + scales * rng.standard_normal((n, c, h, w))


def _image_shape(rng: np.random.Generator) -> tuple[int, int, int, int]:
    n, c = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    h, w = (int(size) for size in rng.integers(2, 6, size=2))
    return n, c, h, w


def _image_batch(rng: np.random.Generator) -> Inputs:
    return {"x": _images(rng, *_image_shape(rng))}


def _image_splits(rng: np.random.Generator) -> Inputs:
    """A training batch and a test batch whose channel statistics differ from it.

    The test batch is brighter and has more contrast, so standardizing it with its own
    statistics gives a visibly different result from using the training ones.
    """
    n, c, h, w = _image_shape(rng)
    x_train = _images(rng, n, c, h, w)
    m = int(rng.integers(2, 6))
    x_test = rng.uniform(1.2, 2.0) * _images(rng, m, c, h, w) + rng.uniform(0.2, 0.5)
    return {"x_train": x_train, "x_test": x_test}


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return q


def _cloud(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """An elongated, rotated, shifted Gaussian cloud with well-separated variances.

    Axis standard deviations fall by a factor of 2 or more, so the sample eigenvalues are
    distinct and every principal direction is well defined.
    """
    stds = 4.0 * 0.45 ** np.arange(d) * rng.uniform(0.9, 1.1, size=d)
    return (rng.standard_normal((n, d)) * stds) @ _rotation(rng, d) + rng.uniform(-3, 3, d)


def _pca_inputs(rng: np.random.Generator) -> Inputs:
    d = int(rng.integers(2, 6))
    n = int(rng.integers(3 * d, 6 * d + 1))
    return {"x": _cloud(rng, n, d), "num_components": np.array(int(rng.integers(1, d + 1)))}


def _zca_inputs(rng: np.random.Generator) -> Inputs:
    d = int(rng.integers(2, 6))
    n = int(rng.integers(3 * d, 6 * d + 1))
    x_train = _cloud(rng, n, d)
    # New examples from a related but shifted source, so the training mean matters.
    x = _cloud(rng, int(rng.integers(2, 7)), d) + rng.uniform(-1, 1, d)
    return {"x_train": x_train, "x": x, "eps": np.array(10.0 ** rng.uniform(-3, -1))}


SPECS = [
    exercise(
        "center_features_test",
        "call",
        _features,
        ex.center_features,
        hint="center_features (section 1): subtract x.mean(axis=0), one mean per "
        "feature (column), not the mean of the whole array.",
    ),
    exercise(
        "standardize_features_test",
        "call",
        _features,
        ex.standardize_features,
        hint="standardize_features (section 1): (x - mean) / std with both over axis "
        "0 and the std dividing by N (ddof=0, NumPy's default).",
    ),
    exercise(
        "channel_stats_test",
        "call",
        _image_batch,
        ex.channel_stats,
        hint="channel_stats (section 2): mean and std over axes (0, 2, 3), ddof=0; "
        "return two arrays of shape (C,).",
    ),
    exercise(
        "standardize_splits_test",
        "call",
        _image_splits,
        ex.standardize_splits,
        hint="standardize_splits (section 3): per-channel mean and std of x_train "
        "only (axes (0, 2, 3), ddof=0), then apply those same numbers to "
        "x_train and x_test.",
    ),
    exercise(
        "pca_fit_test",
        "call",
        _pca_inputs,
        ex.pca_fit,
        hint="pca_fit (section 4): centre x; the rows of Vt from np.linalg.svd (or "
        "the eigenvectors of the covariance by decreasing eigenvalue); flip "
        "each row so its largest-magnitude entry is positive; variances divide "
        "by N - 1.",
    ),
    exercise(
        "zca_whiten_test",
        "call",
        _zca_inputs,
        ex.zca_whiten,
        hint="zca_whiten (section 5): mean and covariance (divide by N - 1) of "
        "x_train; out = (x - mean) @ V diag(1 / sqrt(lam + eps)) V^T with lam, "
        "V from np.linalg.eigh.",
    ),
]
