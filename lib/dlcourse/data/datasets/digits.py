"""The embedded default: scikit-learn's handwritten digits, no download needed.

1,797 grey images of 8x8 pixels (classes 0-9, about 180 each), bundled with
scikit-learn (``sklearn.datasets.load_digits``). They are small enough that a NumPy
network trains on them in seconds, which is why notebooks use them by default.

The dataset has no official split, so one is made here, deterministically:
``num_test`` images (default 300) are held out first, then ``num_val`` (default 300)
from the rest, leaving 1,197 for training. Both hold-outs are stratified (each class in
proportion to its share of the data) and drawn with ``np.random.default_rng(seed)``, so
the same ``seed`` always gives the same split. Pixel values 0..16 are divided by 16.
"""

from __future__ import annotations

import os

import numpy as np
from sklearn import datasets as sk_datasets

from dlcourse.data.datasets._files import Dataset, stratified_holdout

NUM_IMAGES = 1797
MAX_VALUE = 16
DIGITS_CLASSES = tuple(str(digit) for digit in range(10))


def load_digits(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    num_val: int = 300,
    num_test: int = 300,
    seed: int = 0,
) -> Dataset:
    """Load the 8x8 digits with a stratified, seeded train/val/test split.

    Args:
        data_dir, download: accepted so every loader has the same signature; unused, the
            data ships with scikit-learn.
        num_val, num_test: sizes of the validation and test splits.
        seed: seed of the split.

    Returns:
        A :class:`Dataset` with float32 images ``(N, 1, 8, 8)`` in ``[0, 1]`` and splits of
        ``1797 - num_val - num_test``, ``num_val`` and ``num_test`` images.
    """
    del data_dir, download  # part of the shared loader signature only
    if num_val + num_test > NUM_IMAGES:
        raise ValueError(
            f"num_val + num_test must leave training images out of {NUM_IMAGES}, "
            f"got num_val={num_val}, num_test={num_test}"
        )
    bunch = sk_datasets.load_digits()
    images = (bunch.images / MAX_VALUE).astype(np.float32)[:, None]
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    rest, test = stratified_holdout(labels, num_test, rng, name="num_test")
    train, val = stratified_holdout(labels[rest], num_val, rng)
    train, val = rest[train], rest[val]
    return Dataset(
        images[train],
        labels[train],
        images[val],
        labels[val],
        images[test],
        labels[test],
        DIGITS_CLASSES,
    )
