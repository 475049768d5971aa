"""``preprocessing.ipynb``: centring, scaling, train statistics, PCA, ZCA whitening.

Thin calls into :mod:`dlcourse.data.preprocess`: ``MeanImage``, ``Standardizer`` (per
feature and per channel), ``PCA`` (largest-magnitude entry of each component positive,
as the notebook states) and ``Whitening(kind="zca")``.
"""

from __future__ import annotations

import numpy as np

from dlcourse.data.preprocess import PCA, MeanImage, Standardizer, Whitening


def center_features(x: np.ndarray) -> np.ndarray:
    """``x (N, D)`` minus its per-feature mean."""
    return MeanImage().fit_transform(x)


def standardize_features(x: np.ndarray) -> np.ndarray:
    """``x (N, D)`` with zero mean and unit std (ddof=0) per feature."""
    return Standardizer(per="feature").fit_transform(x)


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (ddof=0) of ``x (N, C, H, W)`` per channel: two arrays (C,)."""
    scaler = Standardizer(per="channel").fit(x)
    assert scaler.mean_ is not None and scaler.std_ is not None  # fit sets both
    return scaler.mean_.ravel(), scaler.std_.ravel()


def standardize_splits(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both ``(N, C, H, W)`` batches standardized with the channel statistics of x_train."""
    scaler = Standardizer(per="channel").fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test)


def pca_fit(
    x: np.ndarray, num_components: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean (D,), components (K, D), explained variances (K,))`` of ``x (N, D)``."""
    pca = PCA(num_components=int(num_components)).fit(x)
    mean, components, variances = pca.mean_, pca.components_, pca.explained_variance_
    assert mean is not None and components is not None and variances is not None  # fit sets them
    return mean, components, variances


def zca_whiten(x_train: np.ndarray, x: np.ndarray, eps: np.ndarray | float) -> np.ndarray:
    """``x (M, D)`` ZCA-whitened with the mean and covariance of ``x_train (N, D)``."""
    return Whitening(kind="zca", eps=float(eps)).fit(x_train).transform(x)
