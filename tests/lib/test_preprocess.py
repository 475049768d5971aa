"""Fitted preprocessing: training statistics, reuse on test data, PCA and whitening oracles."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SklearnPCA

from dlcourse.data.preprocess import PCA, MeanImage, NotFittedError, Standardizer, Whitening


def _images(rng: np.random.Generator, n: int = 40, dtype=np.float64) -> np.ndarray:
    """(n, 3, 4, 5) images with a different mean and spread in every channel."""
    scale = np.array([0.5, 2.0, 7.0])[:, None, None]
    shift = np.array([-3.0, 0.0, 10.0])[:, None, None]
    return (rng.standard_normal((n, 3, 4, 5)) * scale + shift).astype(dtype)


def _correlated(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """(n, d) Gaussian data with a random non-diagonal covariance and a non-zero mean."""
    mixing = rng.standard_normal((d, d))
    return rng.standard_normal((n, d)) @ mixing + rng.uniform(-5, 5, size=d)


# ------------------------------------------------------------------------ Standardizer


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=3, max_side=8),
        elements=st.floats(-1e3, 1e3),
    )
)
def test_standardized_training_features_have_zero_mean_and_unit_std(X):
    std = X.std(axis=0)
    out = Standardizer(per="feature").fit_transform(X)
    varying = std > 1e-6 * (1 + np.abs(X).max())
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(out.std(axis=0)[varying], 1.0, rtol=1e-8)


def test_per_channel_standardization_centres_and_scales_each_channel(rng):
    X = _images(rng)
    out = Standardizer(per="channel").fit_transform(X)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, rtol=1e-12)
    # Statistics are pooled per channel, so single pixels are not individually centred.
    assert np.abs(out.mean(axis=0)).max() > 0.1


def test_per_channel_statistics_are_three_numbers_for_rgb_images(rng):
    X = _images(rng)
    scaler = Standardizer(per="channel").fit(X)
    assert scaler.mean_.shape == (3, 1, 1)
    np.testing.assert_allclose(scaler.mean_.ravel(), X.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(scaler.std_.ravel(), X.std(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("per", ["feature", "channel"])
def test_test_data_is_shifted_by_training_statistics_not_its_own(rng, per):
    X_train = _images(rng)
    X_test = _images(rng, n=25) + 20.0  # a distribution shift the model should not hide
    axes = (0,) if per == "feature" else (0, 2, 3)
    mean = X_train.mean(axis=axes, keepdims=True)
    std = X_train.std(axis=axes, keepdims=True)
    out = Standardizer(per=per).fit(X_train).transform(X_test)
    np.testing.assert_allclose(out, (X_test - mean) / std, rtol=1e-10, atol=1e-12)
    # Centred with its own mean it would be ~0; with the training mean it keeps the shift.
    assert np.all(out.mean(axis=axes) > 1.0)


def test_scale_false_only_subtracts_the_channel_mean(rng):
    X = _images(rng)
    out = Standardizer(per="channel", scale=False).fit_transform(X)
    np.testing.assert_allclose(out, X - X.mean(axis=(0, 2, 3), keepdims=True), atol=1e-12)


def test_constant_feature_is_centred_but_not_divided_by_zero():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    out = Standardizer().fit_transform(X)
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(out[:, 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)], rtol=1e-12)


def test_large_float32_inputs_stay_finite_and_float32(rng):
    X = (rng.standard_normal((30, 3, 4, 5)) * 1e3 + 1e3).astype(np.float32)
    out = Standardizer(per="channel").fit_transform(X)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out.std(axis=(0, 2, 3), dtype=np.float64), 1.0, rtol=1e-5)


# -------------------------------------------------------------------------- MeanImage


def test_mean_image_subtracts_the_training_mean_image_from_every_split(rng):
    X_train = _images(rng)
    X_test = _images(rng, n=10) + 1.0
    centre = MeanImage().fit(X_train)
    assert centre.mean_.shape == (3, 4, 5)
    np.testing.assert_allclose(centre.transform(X_train).mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(centre.transform(X_test), X_test - X_train.mean(axis=0), atol=1e-12)


# -------------------------------------------------------------------------------- PCA


def _assert_rows_equal_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    signs = np.sign(np.sum(a * b, axis=1))
    assert np.all(signs != 0)
    np.testing.assert_allclose(a, b * signs[:, None], atol=atol)


def test_pca_components_and_variances_match_sklearn_up_to_sign(rng):
    X = _correlated(rng, n=60, d=6)
    ours = PCA(num_components=4).fit(X)
    reference = SklearnPCA(n_components=4, svd_solver="full").fit(X)
    _assert_rows_equal_up_to_sign(ours.components_, reference.components_, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_, reference.explained_variance_, rtol=1e-10)
    projected = ours.transform(X)
    expected = reference.transform(X)
    _assert_rows_equal_up_to_sign(projected.T, expected.T, atol=1e-9)


def test_pca_components_are_the_right_singular_vectors_of_centred_data(rng):
    X = _correlated(rng, n=30, d=5)
    _, singular, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    ours = PCA().fit(X)
    _assert_rows_equal_up_to_sign(ours.components_, vt, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_, singular**2 / 29, rtol=1e-10)


def test_pca_of_images_flattens_and_reconstructs_them_with_all_components(rng):
    X = _images(rng, n=80)
    pca = PCA().fit(X)
    Z = pca.transform(X)
    assert Z.shape == (80, 60)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-10)


def test_pca_projection_has_decreasing_uncorrelated_variances(rng):
    X = _correlated(rng, n=200, d=5)
    Z = PCA(num_components=3).fit_transform(X)
    cov = np.cov(Z, rowvar=False)
    np.testing.assert_allclose(cov - np.diag(np.diag(cov)), 0.0, atol=1e-9)
    assert np.all(np.diff(np.diag(cov)) < 0)


def test_pca_rejects_more_components_than_the_data_spans(rng):
    with pytest.raises(ValueError, match=r"num_components=6 is more than min\(N, D\) = 5"):
        PCA(num_components=6).fit(rng.standard_normal((5, 8)))


# -------------------------------------------------------------------------- Whitening


@pytest.mark.parametrize("kind", ["pca", "zca"])
def test_whitened_training_data_has_identity_covariance(rng, kind):
    X = _correlated(rng, n=500, d=6)
    out = Whitening(kind=kind, eps=1e-9).fit_transform(X)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.eye(6), atol=1e-6)


def test_zca_whitening_multiplies_by_the_inverse_square_root_of_the_covariance(rng):
    X = _correlated(rng, n=100, d=4)
    eps = 0.1
    cov = np.cov(X, rowvar=False)
    inverse_root = scipy.linalg.fractional_matrix_power(cov + eps * np.eye(4), -0.5)
    out = Whitening(kind="zca", eps=eps).fit_transform(X)
    np.testing.assert_allclose(out, (X - X.mean(axis=0)) @ inverse_root.real, atol=1e-10)


def test_eps_keeps_rank_deficient_whitening_finite(rng):
    X = rng.standard_normal((5, 12))  # 12 features, rank at most 4 after centring
    out = Whitening(kind="zca", eps=1e-3).fit_transform(X)
    assert np.isfinite(out).all()
    # Along the data's own directions the variance is lam / (lam + eps), just below 1.
    variances = np.linalg.eigvalsh(np.cov(out, rowvar=False))[::-1][:4]
    assert np.all((variances > 0.9) & (variances < 1.0))


def test_zca_keeps_image_shape_and_pca_whitening_flattens(rng):
    X = _images(rng, n=100)
    assert Whitening(kind="zca").fit_transform(X).shape == (100, 3, 4, 5)
    assert Whitening(kind="pca").fit_transform(X).shape == (100, 60)


def test_whitening_reuses_training_mean_on_shifted_test_data(rng):
    X_train = _correlated(rng, n=300, d=3)
    shift = np.array([2.0, -1.0, 0.5])
    white = Whitening(kind="zca", eps=1e-12).fit(X_train)
    moved = white.transform(X_train + shift) - white.transform(X_train)
    # Re-centring the test data on its own mean would cancel the shift; the training mean
    # keeps it, whitened: every row moves by shift @ cov^(-1/2).
    inverse_root = scipy.linalg.fractional_matrix_power(np.cov(X_train, rowvar=False), -0.5)
    expected = np.broadcast_to(shift @ inverse_root.real, moved.shape)
    np.testing.assert_allclose(moved, expected, atol=1e-8)
    assert np.abs(expected).max() > 0.1


# ------------------------------------------------------------------- shared behaviour


@pytest.mark.parametrize(
    "make",
    [
        lambda: Standardizer(per="feature"),
        lambda: Standardizer(per="channel"),
        MeanImage,
        lambda: PCA(num_components=5),
        lambda: Whitening(kind="pca"),
        lambda: Whitening(kind="zca"),
    ],
)
def test_every_transform_keeps_float32(rng, make):
    X = _images(rng, dtype=np.float32)
    transform = make().fit(X)
    assert transform.transform(X).dtype == np.float32
    assert transform.transform(X[:3]).dtype == np.float32


@pytest.mark.parametrize("make", [Standardizer, MeanImage, PCA, Whitening])
def test_transform_before_fit_is_refused_with_instructions(rng, make):
    with pytest.raises(NotFittedError, match=r"before fit: call fit\(X_train\)"):
        make().transform(rng.standard_normal((4, 3)))


def test_transform_of_data_with_other_feature_shape_names_both_shapes(rng):
    scaler = Standardizer(per="channel").fit(_images(rng))
    with pytest.raises(ValueError, match=r"shape \(N, 3, 4, 5\).*got \(2, 3, 5, 5\)"):
        scaler.transform(np.zeros((2, 3, 5, 5)))


def test_invalid_options_are_rejected_by_name(rng):
    with pytest.raises(ValueError, match="per must be"):
        Standardizer(per="pixel")
    with pytest.raises(ValueError, match="kind must be"):
        Whitening(kind="svd")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        Standardizer(per="channel").fit(rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match="at least 2 training examples"):
        PCA().fit(rng.standard_normal((1, 3)))
