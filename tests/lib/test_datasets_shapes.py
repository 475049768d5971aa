"""The generated shapes set: deterministic, balanced, well-typed, masks that match."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.data.datasets import (
    LOADERS,
    SEGMENTATION_CLASSES,
    SHAPES_CLASSES,
    load_dataset,
    load_shapes,
    make_shapes,
)

SMALL = {"num_train": 80, "num_val": 24, "num_test": 16}


def test_the_same_seed_gives_the_same_images_and_another_seed_other_images():
    first = load_shapes(**SMALL, seed=3, with_masks=True)
    again = load_shapes(**SMALL, seed=3, with_masks=True)
    other = load_shapes(**SMALL, seed=4)
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "masks_train"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.X_train, other.X_train)


def test_splits_do_not_change_when_another_split_grows():
    small = load_shapes(num_train=40, num_val=16, num_test=16, seed=1)
    large = load_shapes(num_train=200, num_val=16, num_test=16, seed=1)
    np.testing.assert_array_equal(small.X_val, large.X_val)
    np.testing.assert_array_equal(small.X_test, large.X_test)
    assert not np.array_equal(small.X_val, small.X_test[: len(small.X_val)])


def test_splits_have_the_loader_layout_dtypes_and_range():
    data = load_shapes(**SMALL)
    assert data.classes == SHAPES_CLASSES and data.num_classes == 8
    assert data.image_shape == (3, 32, 32)
    for x, y, n in (
        (data.X_train, data.y_train, 80),
        (data.X_val, data.y_val, 24),
        (data.X_test, data.y_test, 16),
    ):
        assert x.shape == (n, 3, 32, 32) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert y.min() >= 0 and y.max() < 8
    assert data.masks_train is None and data.masks_val is None and data.masks_test is None


@pytest.mark.parametrize("n", [8, 50, 203])
def test_classes_are_balanced_to_within_one(n):
    _, labels, _ = make_shapes(n, seed=n)
    counts = np.bincount(labels, minlength=8)
    assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_masks_mark_exactly_the_pixels_painted_in_the_shape_colour():
    # Without noise and shading, a shape pixel has the shape's colour and every other
    # pixel the background's, so the mask can be read back from the image itself.
    images, labels, masks = make_shapes(64, seed=5, noise=0.0, texture=0.0)
    assert masks.shape == (64, 32, 32) and masks.dtype == np.int64
    for image, label, mask in zip(images, labels, masks, strict=True):
        assert set(np.unique(mask)) == {0, label + 1}
        pixels = image.reshape(3, -1).T  # (H*W, 3)
        on = mask.ravel() > 0
        shape_colour, background_colour = pixels[on][0], pixels[~on][0]
        np.testing.assert_array_equal(pixels[on], np.broadcast_to(shape_colour, pixels[on].shape))
        np.testing.assert_array_equal(
            pixels[~on], np.broadcast_to(background_colour, pixels[~on].shape)
        )
        assert np.all(shape_colour > background_colour)  # lighter in every channel


def test_loader_masks_belong_to_the_images_labels():
    data = load_shapes(**SMALL, with_masks=True)
    assert SEGMENTATION_CLASSES[0] == "background"
    for masks, y in ((data.masks_train, data.y_train), (data.masks_test, data.y_test)):
        assert masks.shape == (len(y), 32, 32)
        present = masks.reshape(len(y), -1).max(axis=1)
        np.testing.assert_array_equal(present, y + 1)  # every image shows its shape
        covered = (masks > 0).mean(axis=(1, 2))
        assert covered.min() > 0.02 and covered.max() < 0.8


def test_each_class_has_its_own_silhouette():
    # Mean mask per class (centred shapes differ): the classes are not copies of one another.
    _, labels, masks = make_shapes(400, seed=2, noise=0.0)
    area = np.array([(masks[labels == k] > 0).mean() for k in range(8)])
    assert np.all(area > 0.02)
    assert len(np.unique(np.round(area, 3))) == 8


def test_shapes_is_registered_with_load_dataset():
    assert LOADERS["shapes"] is load_shapes
    data = load_dataset("Shapes", num_train=8, num_val=0, num_test=0)
    assert data.X_train.shape == (8, 3, 32, 32) and data.X_val.shape == (0, 3, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_train": 0}, "num_train must be an integer >= 1, got 0"),
        ({"num_val": -1}, "num_val must be an integer >= 0, got -1"),
        ({"num_test": 2.5}, "num_test must be an integer >= 0, got 2.5"),
        ({"seed": -3}, "seed must be a non-negative integer, got -3"),
        ({"noise": -0.1}, "noise must be a finite number >= 0, got -0.1"),
        ({"texture": "flat"}, "texture must be a number >= 0, got 'flat'"),
    ],
)
def test_bad_arguments_raise_errors_that_name_them(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_shapes(**{**SMALL, **kwargs})


def test_make_shapes_accepts_a_generator_and_zero_images():
    images, labels, masks = make_shapes(0)
    assert images.shape == (0, 3, 32, 32) and labels.shape == (0,) and masks.shape == (0, 32, 32)
    a = make_shapes(5, np.random.default_rng(9))[0]
    b = make_shapes(5, np.random.default_rng(9))[0]
    np.testing.assert_array_equal(a, b)
