"""Dataset loaders: CIFAR-10, MNIST, Fashion-MNIST, the embedded digits and shapes.

Every loader returns the same :class:`Dataset` (float32 images ``(N, C, H, W)`` in
``[0, 1]``, int64 labels, class names) and takes the same leading arguments
``(data_dir=None, *, download=True, num_val=..., seed=0)``. :func:`load_dataset` picks one
by name; the default, ``"digits"``, needs no download, nor does ``"shapes"`` (generated
32x32 colour images, with segmentation masks on request).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from dlcourse.data.datasets._files import (
    DATA_ENV_VAR,
    Dataset,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    resolve_data_dir,
)
from dlcourse.data.datasets.cifar10 import load_cifar10
from dlcourse.data.datasets.digits import load_digits
from dlcourse.data.datasets.mnist import load_fashion_mnist, load_mnist
from dlcourse.data.datasets.shapes import (
    SEGMENTATION_CLASSES,
    SHAPES_CLASSES,
    ShapesDataset,
    load_shapes,
    make_shapes,
)

LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "shapes": load_shapes,
}


def load_dataset(
    name: str = "digits",
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    **options: object,
) -> Dataset:
    """Load a dataset by name: ``"digits"``, ``"shapes"``, ``"mnist"``, ``"fashion-mnist"``,
    ``"cifar10"``.

    Case, ``_`` and ``-`` do not matter (``"Fashion_MNIST"``, ``"cifar-10"`` work).
    ``options`` go to the loader, e.g. ``num_val=`` or ``seed=``.
    """
    key = name.lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}.get(key, key)
    if key not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(LOADERS)}")
    return LOADERS[key](data_dir, download=download, **options)


__all__ = [
    "DATA_ENV_VAR",
    "LOADERS",
    "SEGMENTATION_CLASSES",
    "SHAPES_CLASSES",
    "Dataset",
    "DatasetCorruptError",
    "DatasetError",
    "DatasetNotFoundError",
    "ShapesDataset",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_shapes",
    "make_shapes",
    "resolve_data_dir",
]
