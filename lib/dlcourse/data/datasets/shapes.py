"""Shapes: an embedded, procedurally generated set of 32x32 colour images in 8 classes.

Each image shows one filled or outlined shape (circle, ring, square, frame, triangle,
cross, bar, star) at a random position, size and rotation, in a random light colour, on
a darker background of a random colour with a linear shading gradient, plus Gaussian
pixel noise.
Nothing is downloaded: the images are drawn from a seed with vectorised NumPy (about
ten thousand images a second on one core), so the same ``seed`` always gives the same
pixels on every machine, and the set is large enough for a small CNN while a linear
classifier, which cannot cope with the shapes moving around, does much worse.

The loader has the signature and result of the other loaders
(:func:`~dlcourse.data.datasets.load_digits`, ``load_cifar10``): float32 images
``(N, 3, 32, 32)`` in ``[0, 1]``, int64 labels, the class names. The three splits come
from independent streams of the seed, so asking for more training images leaves the
validation and test images unchanged. Classes are balanced: each split holds every class
``N // 8`` or ``N // 8 + 1`` times.

For segmentation (FCN, U-Net), ``with_masks=True`` also returns a mask per image: int64
``(N, 32, 32)`` with 0 for background and ``k + 1`` where class ``k``'s shape covers the
pixel (:data:`SEGMENTATION_CLASSES` names the mask values). Shape pixels and mask agree
exactly: a pixel is painted in the shape's colour if and only if its mask value is not 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dlcourse.data.datasets._files import Dataset

SHAPES_CLASSES: tuple[str, ...] = (
    "circle",
    "ring",
    "square",
    "frame",
    "triangle",
    "cross",
    "bar",
    "star",
)
SEGMENTATION_CLASSES: tuple[str, ...] = ("background", *SHAPES_CLASSES)
IMAGE_SIZE = 32
NUM_CHANNELS = 3
_MIN_RADIUS, _MAX_RADIUS = 8.0, 14.0  # pixels from the centre to the shape's farthest point


@dataclass(frozen=True)
class ShapesDataset(Dataset):
    """A :class:`Dataset` whose images may carry segmentation masks.

    Attributes:
        masks_train, masks_val, masks_test: int64 ``(N, 32, 32)`` with values in
            ``[0, len(classes)]`` (0 background, ``k + 1`` class ``k``), or ``None`` when
            the loader was called without ``with_masks``.
    """

    masks_train: np.ndarray | None = None
    masks_val: np.ndarray | None = None
    masks_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for split, images, masks in (
            ("train", self.X_train, self.masks_train),
            ("val", self.X_val, self.masks_val),
            ("test", self.X_test, self.masks_test),
        ):
            expected = (images.shape[0], *images.shape[2:])
            if masks is not None and (masks.dtype != np.int64 or masks.shape != expected):
                raise ValueError(
                    f"masks_{split} must be int64 of shape {expected}, got {masks.dtype} "
                    f"{masks.shape}"
                )


def _count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _level(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if not 0 <= float(value) < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u * u + v * v <= 0.85**2


def _ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    squared = u * u + v * v
    return (squared <= 1.0) & (squared >= 0.6**2)


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) <= 0.7  # its corners reach 0.99


def _frame(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    box = np.maximum(np.abs(u), np.abs(v))
    return (box <= 0.7) & (box >= 0.42)


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # An equilateral triangle as three half-planes, its corners on the unit circle.
    inside = np.ones(u.shape, dtype=bool)
    for angle in np.pi / 2 + 2 * np.pi * np.arange(3) / 3:
        inside &= u * np.cos(angle) + v * np.sin(angle) <= 0.5
    return inside


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    au, av = np.abs(u), np.abs(v)
    return ((au <= 0.3) & (av <= 0.95)) | ((av <= 0.3) & (au <= 0.95))


def _bar(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.3)


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.hypot(u, v) <= 0.55 + 0.45 * np.cos(5 * np.arctan2(v, u))


# One indicator per class, in the order of SHAPES_CLASSES. Each takes the pixel
# coordinates (u, v) in the shape's own frame (rotated, divided by its radius), so every
# shape is defined once, centred at 0 and reaching out to distance about 1.
_SHAPES = (_circle, _ring, _square, _frame, _triangle, _cross, _bar, _star)


def _inside(kind: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` bool: which pixels lie inside each image's shape of class ``kind[i]``."""
    inside = np.zeros(u.shape, dtype=bool)
    for label, indicator in enumerate(_SHAPES):
        chosen = kind == label
        inside[chosen] = indicator(u[chosen], v[chosen])
    return inside


def make_shapes(
    num_images: int,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
    *,
    noise: float = 0.06,
    texture: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``num_images`` shape images with balanced classes.

    Args:
        num_images: how many images (0 is allowed).
        seed: an int, a ``SeedSequence`` or a ``Generator``; the same seed gives the same
            images.
        noise: standard deviation of the Gaussian pixel noise (0 for clean images).
        texture: strength of the background's shading gradient (0 for flat colour).

    Returns:
        ``(images, labels, masks)``: float32 ``(N, 3, 32, 32)`` in ``[0, 1]``, int64
        ``(N,)`` in ``[0, 8)`` and int64 ``(N, 32, 32)`` (0 background, ``label + 1`` on
        the shape).
    """
    n = _count(num_images, "num_images", 0)
    noise = _level(noise, "noise")
    texture = _level(texture, "texture")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    k = len(SHAPES_CLASSES)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)

    radius = rng.uniform(_MIN_RADIUS, _MAX_RADIUS, size=n)
    # Centres keep at least 60% of the radius inside the image: shapes may be cut a bit.
    margin = 0.6 * radius
    cy = margin + rng.random(n) * (IMAGE_SIZE - 1 - 2 * margin)
    cx = margin + rng.random(n) * (IMAGE_SIZE - 1 - 2 * margin)
    theta = rng.uniform(0, 2 * np.pi, size=n)
    grid = np.arange(IMAGE_SIZE, dtype=np.float32)
    dy = grid[None, :, None] - cy.astype(np.float32)[:, None, None]  # (N, H, 1)
    dx = grid[None, None, :] - cx.astype(np.float32)[:, None, None]  # (N, 1, W)
    # float32 coordinates: half the memory traffic, and ample for 32 pixels.
    cos = np.cos(theta).astype(np.float32)[:, None, None]
    sin = np.sin(theta).astype(np.float32)[:, None, None]
    r = radius.astype(np.float32)[:, None, None]
    u = (cos * dx + sin * dy) / r  # (N, H, W) in the shape's frame
    v = (cos * dy - sin * dx) / r
    shape = _inside(labels, u, v)  # (N, H, W) bool

    # Shapes are lighter than their background in every channel (any hue on either
    # side), so a pixel's brightness tells shape from background and the classes differ
    # only in their outline, which is what the network is to learn.
    background = rng.uniform(0.0, 0.45, size=(n, NUM_CHANNELS))
    foreground = rng.uniform(0.55, 1.0, size=(n, NUM_CHANNELS))

    # Background shading: a plane of random direction and slope across the image.
    slope = (texture * rng.uniform(-1.0, 1.0, size=(n, 2)) / IMAGE_SIZE).astype(np.float32)
    centred = grid - (IMAGE_SIZE - 1) / 2
    shading = slope[:, 0, None, None] * centred[None, :, None] + (
        slope[:, 1, None, None] * centred[None, None, :]
    )  # (N, H, W)
    images = np.where(
        shape[:, None],
        foreground.astype(np.float32)[:, :, None, None],
        background.astype(np.float32)[:, :, None, None] + shading[:, None],
    )  # (N, C, H, W) float32
    if noise > 0:
        images += np.float32(noise) * rng.standard_normal(images.shape, dtype=np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    masks = np.where(shape, labels[:, None, None] + 1, 0).astype(np.int64)
    return images, labels, masks


def load_shapes(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    num_train: int = 4000,
    num_val: int = 500,
    num_test: int = 1000,
    seed: int = 0,
    with_masks: bool = False,
    noise: float = 0.06,
    texture: float = 0.25,
) -> ShapesDataset:
    """Generate the shapes set: train, validation and test splits from one seed.

    Args:
        data_dir, download: accepted so every loader has the same signature; unused,
            the images are generated.
        num_train, num_val, num_test: sizes of the splits (``num_train >= 1``).
        seed: seed of the whole set; each split uses its own stream of it.
        with_masks: also return segmentation masks (``masks_train`` ...).
        noise, texture: see :func:`make_shapes`.

    Returns:
        A :class:`ShapesDataset` with float32 images ``(N, 3, 32, 32)`` in ``[0, 1]``, the
        8 class names, and masks when asked for.
    """
    del data_dir, download  # part of the shared loader signature only
    sizes = (
        _count(num_train, "num_train", 1),
        _count(num_val, "num_val", 0),
        _count(num_test, "num_test", 0),
    )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    streams = np.random.SeedSequence(int(seed)).spawn(3)
    splits = [
        make_shapes(size, stream, noise=noise, texture=texture)
        for size, stream in zip(sizes, streams, strict=True)
    ]
    (x_train, y_train, m_train), (x_val, y_val, m_val), (x_test, y_test, m_test) = splits
    return ShapesDataset(
        x_train,
        y_train,
        x_val,
        y_val,
        x_test,
        y_test,
        SHAPES_CLASSES,
        masks_train=m_train if with_masks else None,
        masks_val=m_val if with_masks else None,
        masks_test=m_test if with_masks else None,
    )
