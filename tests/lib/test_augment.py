"""Augmentations: shapes and dtypes, exact geometric identities, torch resampling, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.data import augment as aug

# ITU-R BT.601 luma, written out here independently of the module.
GREY = np.array([0.299, 0.587, 0.114])


def _images(rng: np.random.Generator, n: int = 6, c: int = 3, h: int = 8, w: int = 10):
    """Strictly positive float32 images in [0.1, 0.9], so zeroed pixels stand out."""
    return rng.uniform(0.1, 0.9, size=(n, c, h, w)).astype(np.float32)


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` (C, H, W) moved down by ``dy`` and right by ``dx``, zeros filling in."""
    out = np.zeros_like(image)
    h, w = image.shape[1:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        :, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


RANDOM_AUGMENTATIONS = {
    "flip": lambda x, rng: aug.horizontal_flip(x, rng),
    "crop": lambda x, rng: aug.random_crop(x, rng, pad=2),
    "scale": lambda x, rng: aug.random_scale(x, rng, short_side=(6, 12)),
    "jitter": lambda x, rng: aug.color_jitter(x, rng),
    "pca_color": lambda x, rng: aug.pca_color(
        x, rng, aug.ColorPCA(np.array([0.3, 0.1, 0.01]), np.eye(3))
    ),
    "cutout": lambda x, rng: aug.cutout(x, rng, size=3),
}


# -------------------------------------------------------------------- shared behaviour


@pytest.mark.parametrize("name", sorted(RANDOM_AUGMENTATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_augmentation_keeps_shape_and_dtype_and_leaves_input_untouched(rng, name, dtype):
    x = _images(rng).astype(dtype)
    before = x.copy()
    out = RANDOM_AUGMENTATIONS[name](x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == dtype
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", sorted(RANDOM_AUGMENTATIONS))
def test_single_image_comes_back_as_single_image(rng, name):
    x = _images(rng, n=1)
    out = RANDOM_AUGMENTATIONS[name](x[0], np.random.default_rng(2))
    assert out.shape == x.shape[1:]


@pytest.mark.parametrize("name", sorted(RANDOM_AUGMENTATIONS))
def test_same_seed_gives_same_result_and_other_seed_differs(rng, name):
    x = _images(rng, n=12)
    first = RANDOM_AUGMENTATIONS[name](x, np.random.default_rng(7))
    again = RANDOM_AUGMENTATIONS[name](x, np.random.default_rng(7))
    other = RANDOM_AUGMENTATIONS[name](x, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_seed_instead_of_a_generator_is_refused_with_the_fix(rng):
    with pytest.raises(TypeError, match=r"np.random.default_rng\(0\)"):
        aug.horizontal_flip(_images(rng), 0)


def test_wrong_image_rank_names_the_layout():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or a single image \(C, H, W\)"):
        aug.cutout(np.zeros((4, 4)), np.random.default_rng(0), size=2)


# ------------------------------------------------------------------------------- flips


def test_flipping_twice_with_certainty_restores_the_images(rng):
    x = _images(rng)
    once = aug.horizontal_flip(x, np.random.default_rng(0), p=1.0)
    np.testing.assert_array_equal(once, x[..., ::-1])
    np.testing.assert_array_equal(aug.horizontal_flip(once, np.random.default_rng(1), p=1.0), x)


def test_flip_probability_zero_changes_nothing(rng):
    x = _images(rng)
    np.testing.assert_array_equal(aug.horizontal_flip(x, np.random.default_rng(0), p=0.0), x)


def test_each_image_is_either_kept_or_mirrored_with_both_happening(rng):
    x = _images(rng, n=40)
    out = aug.horizontal_flip(x, np.random.default_rng(3), p=0.5)
    kept = np.all(out == x, axis=(1, 2, 3))
    mirrored = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    assert np.all(kept ^ mirrored)
    assert 5 < mirrored.sum() < 35


# ------------------------------------------------------------------------ crops and pads


def test_zero_offset_crop_of_padded_image_is_the_image_shifted_by_the_pad(rng):
    x = _images(rng)
    padded = aug.pad_images(x, 4)
    assert padded.shape == (6, 3, 16, 18)
    out = aug.crop(padded, 0, 0, 8, 10)
    for image, result in zip(x, out, strict=True):
        np.testing.assert_array_equal(result, _shifted(image, 4, 4))


def test_crop_at_the_pad_offset_returns_the_original(rng):
    x = _images(rng)
    np.testing.assert_array_equal(aug.crop(aug.pad_images(x, 3), 3, 3, 8, 10), x)


def test_crop_uses_each_images_own_offset(rng):
    x = _images(rng, n=3)
    out = aug.crop(x, np.array([0, 1, 2]), np.array([2, 0, 1]), 5, 4)
    for i, (top, left) in enumerate([(0, 2), (1, 0), (2, 1)]):
        np.testing.assert_array_equal(out[i], x[i, :, top : top + 5, left : left + 4])


def test_crop_window_outside_the_image_is_refused(rng):
    with pytest.raises(ValueError, match=r"does not fit inside 8x10 images"):
        aug.crop(_images(rng), 4, 0, 5, 5)


def test_random_crop_is_a_translation_by_at_most_the_pad(rng):
    x = _images(rng, n=30)
    out = aug.random_crop(x, np.random.default_rng(4), pad=4)
    seen = set()
    for image, result in zip(x, out, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if np.array_equal(result, _shifted(image, dy, dx))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 10  # offsets vary between images


def test_random_crop_to_a_smaller_size_is_a_window_of_the_padded_image(rng):
    x = _images(rng, n=5)
    out = aug.random_crop(x, np.random.default_rng(5), pad=1, size=(6, 7))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert out.shape == (5, 3, 6, 7)
    for image, result in zip(padded, out, strict=True):
        assert any(
            np.array_equal(result, image[:, top : top + 6, left : left + 7])
            for top in range(5)
            for left in range(6)
        )


# ------------------------------------------------------------------------------- scale


@pytest.mark.parametrize("size", [(5, 7), (13, 4), (16, 20), (8, 10), (1, 1)])
def test_bilinear_resize_matches_torch_without_corner_alignment(rng, size):
    x = rng.standard_normal((2, 3, 8, 10))
    expected = F.interpolate(torch.from_numpy(x), size=size, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(aug.resize(x, *size), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", [(5, 7), (13, 4), (16, 20), (3, 30)])
def test_nearest_resize_matches_torch_nearest_exact(rng, size):
    x = rng.standard_normal((2, 3, 8, 10))
    expected = F.interpolate(torch.from_numpy(x), size=size, mode="nearest-exact")
    np.testing.assert_array_equal(aug.resize(x, *size, mode="nearest"), expected.numpy())


def test_random_scale_at_the_original_short_side_changes_nothing(rng):
    x = _images(rng)
    for mode in ("bilinear", "nearest"):
        out = aug.random_scale(x, np.random.default_rng(0), short_side=(8, 8), mode=mode)
        np.testing.assert_allclose(out, x, rtol=1e-6)


def test_resnet_recipe_shape_short_side_range_then_fixed_crop(rng):
    x = _images(rng, n=3, h=20, w=30)
    out = aug.random_scale(x, np.random.default_rng(1), short_side=(24, 40), size=16)
    assert out.shape == (3, 3, 16, 16)
    # Upscaling a positive image and cropping inside it leaves no zero background.
    assert out.min() > 0


def test_downscaled_image_is_pasted_whole_onto_a_zero_background(rng):
    x = np.ones((4, 3, 10, 10), dtype=np.float32)
    out = aug.random_scale(x, np.random.default_rng(2), short_side=(6, 6))
    # Resizing a constant image keeps it constant: a 6x6 block of ones per channel.
    np.testing.assert_array_equal((out == 1).sum(axis=(2, 3)), 36)
    np.testing.assert_array_equal((out == 0).sum(axis=(2, 3)), 100 - 36)


def test_random_scale_draws_different_sizes_per_image(rng):
    x = np.ones((20, 1, 10, 10))
    out = aug.random_scale(x, np.random.default_rng(3), short_side=(4, 9), size=10)
    assert len({int(n) for n in (out == 1).sum(axis=(1, 2, 3))}) > 2


# ------------------------------------------------------------------------------ colour


def _jitter(x, **strengths):
    options = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "clip": False}
    return aug.color_jitter(x, np.random.default_rng(6), **{**options, **strengths})


def test_jitter_with_zero_strengths_is_the_identity(rng):
    x = _images(rng)
    np.testing.assert_allclose(_jitter(x), x, rtol=1e-6)


def test_brightness_multiplies_each_image_by_one_factor_in_range(rng):
    x = _images(rng, n=30).astype(np.float64)
    ratio = _jitter(x, brightness=0.3) / x
    factors = ratio[:, 0, 0, 0]
    np.testing.assert_allclose(ratio, np.broadcast_to(factors[:, None, None, None], x.shape))
    assert np.all((factors >= 0.7) & (factors <= 1.3)) and np.ptp(factors) > 0.1


def test_contrast_keeps_each_images_mean_grey_level(rng):
    x = _images(rng).astype(np.float64)
    out = _jitter(x, contrast=0.5)
    grey_in = np.einsum("nchw,c->n", x, GREY) / (8 * 10)
    grey_out = np.einsum("nchw,c->n", out, GREY) / (8 * 10)
    np.testing.assert_allclose(grey_out, grey_in, rtol=1e-12)
    assert not np.allclose(out, x)


def test_saturation_keeps_every_pixels_grey_level(rng):
    x = _images(rng).astype(np.float64)
    out = _jitter(x, saturation=0.9)
    np.testing.assert_allclose(
        np.einsum("nchw,c->nhw", out, GREY), np.einsum("nchw,c->nhw", x, GREY), rtol=1e-12
    )
    assert not np.allclose(out, x)


def test_jitter_clips_to_the_unit_interval(rng):
    x = _images(rng)
    out = aug.color_jitter(x, np.random.default_rng(0), brightness=1.0, contrast=1.0)
    assert out.min() >= 0 and out.max() <= 1


def test_saturation_on_grey_images_is_refused_with_the_fix(rng):
    grey = _images(rng, c=1)
    with pytest.raises(ValueError, match="saturation=0"):
        aug.color_jitter(grey, np.random.default_rng(0))
    assert aug.color_jitter(grey, np.random.default_rng(0), saturation=0).shape == grey.shape


def test_color_pca_matches_eigendecomposition_of_the_pixel_covariance(rng):
    x = _images(rng, n=9)
    x[:, 1] = 0.5 * x[:, 0] + 0.2 * x[:, 1]  # correlated channels, as in real images
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 3).astype(np.float64)
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    fitted = aug.fit_color_pca(x, chunk=4)  # several chunks
    np.testing.assert_allclose(fitted.eigenvalues, values[::-1], rtol=1e-10)
    # Eigenvectors are defined up to sign: the overlap matrix is a signed identity.
    overlap = fitted.eigenvectors.T @ vectors[:, ::-1]
    np.testing.assert_allclose(np.abs(overlap), np.eye(3), atol=1e-10)


def test_pca_color_adds_the_same_rgb_vector_to_every_pixel(rng):
    x = _images(rng)
    out = aug.pca_color(x, np.random.default_rng(0), aug.fit_color_pca(x)).astype(np.float64)
    offsets = out - x
    per_image = offsets[:, :, :1, :1]
    np.testing.assert_allclose(offsets, np.broadcast_to(per_image, x.shape), atol=1e-6)
    assert np.all(np.abs(per_image).max(axis=1) > 0)


def test_pca_color_coefficients_are_eigenvalue_scaled_normals_with_std_0_1():
    values = np.array([0.5, 0.2, 0.05])
    basis, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))
    color_pca = aug.ColorPCA(values, basis)
    x = np.zeros((4000, 3, 1, 1))
    offsets = aug.pca_color(x, np.random.default_rng(2), color_pca)[:, :, 0, 0]
    alpha = (offsets @ basis) / values  # coordinates in the eigenbasis, unscaled
    np.testing.assert_allclose(alpha.std(axis=0), 0.1, rtol=0.05)
    np.testing.assert_allclose(alpha.mean(axis=0), 0.0, atol=0.01)


# ---------------------------------------------------------------------- cutout, mixup


def test_cutout_zeroes_exactly_one_square_in_all_channels(rng):
    x = _images(rng, n=200, h=12, w=12)
    out = aug.cutout(x, np.random.default_rng(0), size=4)
    zero = out == 0
    assert np.all(zero == zero[:, :1])  # the same pixels in every channel
    interior = 0
    for image, mask, result in zip(x, zero[:, 0], out, strict=True):
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        # The zeroed pixels form one full rectangle of contiguous rows and columns ...
        assert np.array_equal(rows, np.arange(rows[0], rows[-1] + 1))
        assert np.array_equal(cols, np.arange(cols[0], cols[-1] + 1))
        assert mask.sum() == rows.size * cols.size
        # ... of full size unless it touches the border, where it is clipped.
        for hit in (rows, cols):
            assert hit.size == 4 or (hit[0] == 0) != (hit[-1] == 11)
        interior += rows.size == cols.size == 4
        np.testing.assert_array_equal(result[:, ~mask], image[:, ~mask])
    assert interior > 50


def test_mixup_blends_images_and_one_hot_labels_with_the_same_weight(rng):
    x = _images(rng, n=8)
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    mixed = aug.mixup(x, y, np.random.default_rng(0), num_classes=4, alpha=1.0)
    lam, partner = mixed.lam, mixed.partner
    assert 0 < lam < 1
    np.testing.assert_array_equal(np.sort(partner), np.arange(8))
    eye = np.eye(4)
    np.testing.assert_allclose(mixed.targets, lam * eye[y] + (1 - lam) * eye[y[partner]], rtol=1e-6)
    np.testing.assert_allclose(mixed.images, lam * x + (1 - lam) * x[partner], rtol=1e-6)
    np.testing.assert_allclose(mixed.targets.sum(axis=1), 1.0, rtol=1e-6)
    assert mixed.images.dtype == mixed.targets.dtype == np.float32


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0])
def test_mixup_uses_a_given_mixing_weight(rng, lam):
    x = _images(rng, n=6)
    y = np.array([0, 1, 2, 0, 1, 2])
    mixed = aug.mixup(x, y, np.random.default_rng(1), num_classes=3, lam=lam)
    assert mixed.lam == lam
    partner = mixed.partner
    np.testing.assert_allclose(mixed.images, lam * x + (1 - lam) * x[partner], rtol=1e-6)
    eye = np.eye(3)
    np.testing.assert_allclose(mixed.targets, lam * eye[y] + (1 - lam) * eye[y[partner]])


@pytest.mark.parametrize("lam", [-0.1, 1.5])
def test_mixup_refuses_a_mixing_weight_outside_the_unit_interval(rng, lam):
    with pytest.raises(ValueError, match=r"lam must lie in \[0, 1\]"):
        aug.mixup(_images(rng, n=2), np.array([0, 1]), np.random.default_rng(0), 2, lam=lam)


def test_mixup_is_reproducible_from_a_seed(rng):
    x = _images(rng, n=8)
    y = np.arange(8) % 3
    first = aug.mixup(x, y, np.random.default_rng(5), num_classes=3)
    again = aug.mixup(x, y, np.random.default_rng(5), num_classes=3)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.targets, again.targets)


def test_mixup_weights_follow_the_beta_distribution_mean():
    x = np.zeros((2, 1, 1, 1))
    lams = [aug.mixup(x, [0, 1], np.random.default_rng(s), 2, alpha=2.0).lam for s in range(400)]
    # Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)) = 0.05 for a = 2.
    assert abs(np.mean(lams) - 0.5) < 0.03
    assert abs(np.var(lams) - 0.05) < 0.01


def test_mixup_rejects_labels_outside_the_classes(rng):
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        aug.mixup(_images(rng, n=2), np.array([0, 3]), np.random.default_rng(0), num_classes=3)
