"""MNIST and Fashion-MNIST: 70,000 grey 28x28 images in 10 classes (60,000 train, 10,000 test).

Both ship as the same four gzipped IDX files (so they live in separate sub-folders of the
data directory, ``mnist/`` and ``fashion-mnist/``)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

The IDX format is a big-endian header followed by the raw values: a 4-byte magic number
(two zero bytes, the type code 0x08 for unsigned bytes, the number of dimensions), then
one 4-byte size per dimension. Images have magic 2051 (``0x00000803``: 3 dimensions,
``count x rows x cols``), labels magic 2049 (``0x00000801``: 1 dimension, ``count``).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dlcourse.data.datasets._files import (
    Dataset,
    DatasetCorruptError,
    ensure_file,
    resolve_data_dir,
    stratified_holdout,
    to_unit_float,
)

# torchvision's mirror of Yann LeCun's original files (the original site often refuses
# downloads); Fashion-MNIST from Zalando Research's official bucket.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
NUM_CLASSES = 10

# Published md5 sums of the gzipped files.
MNIST_MD5 = {
    TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MNIST_MD5 = {
    TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
    TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
    TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
}
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    num_val: int = 5000,
    seed: int = 0,
    checksums: Mapping[str, str] | None = None,
    base_url: str = MNIST_URL,
    progress: bool = True,
) -> Dataset:
    """Load MNIST handwritten digits, downloading on first use.

    Args:
        data_dir: data directory; ``None`` means ``$DLCOURSE_DATA`` or ``~/.cache/dlcourse``.
            The files live in its ``mnist/`` sub-folder.
        download: fetch missing files from ``base_url``; with ``False`` a missing file
            raises an error saying where to put it.
        num_val: training images held out for validation, stratified by class with
            ``seed`` (default: the classic 55,000 / 5,000 split).
        checksums: md5 or sha256 per file name; defaults to :data:`MNIST_MD5`.
        base_url: folder URL the four file names are appended to.
        progress: show a progress bar while downloading.

    Returns:
        A :class:`Dataset` with float32 images ``(N, 1, 28, 28)`` in ``[0, 1]``.
    """
    table = MNIST_MD5 if checksums is None else checksums
    return _load_idx_dataset(
        "mnist", table, MNIST_CLASSES, data_dir, download, num_val, seed, base_url, progress
    )


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    num_val: int = 5000,
    seed: int = 0,
    checksums: Mapping[str, str] | None = None,
    base_url: str = FASHION_MNIST_URL,
    progress: bool = True,
) -> Dataset:
    """Load Fashion-MNIST (clothing, same format and sizes as MNIST), downloading on first use.

    Same arguments as :func:`load_mnist`; the files live in the ``fashion-mnist/``
    sub-folder and the default checksums are :data:`FASHION_MNIST_MD5`.
    """
    table = FASHION_MNIST_MD5 if checksums is None else checksums
    return _load_idx_dataset(
        "fashion-mnist",
        table,
        FASHION_MNIST_CLASSES,
        data_dir,
        download,
        num_val,
        seed,
        base_url,
        progress,
    )


def _load_idx_dataset(
    subfolder: str,
    table: Mapping[str, str],
    classes: tuple[str, ...],
    data_dir: str | os.PathLike | None,
    download: bool,
    num_val: int,
    seed: int,
    base_url: str,
    progress: bool,
) -> Dataset:
    """Shared body of the two loaders: fetch and verify the four files, parse, split."""
    absent = [name for name in FILES if name not in table]
    if absent:
        raise ValueError(f"checksums must give a checksum for every file; missing {absent}")
    folder = resolve_data_dir(data_dir) / subfolder
    base = base_url if base_url.endswith("/") else base_url + "/"
    paths = {
        name: ensure_file(
            name, folder, base + name, table[name], download=download, progress=progress
        )
        for name in FILES
    }
    images, labels = _read_pair(paths[TRAIN_IMAGES], paths[TRAIN_LABELS])
    test_images, y_test = _read_pair(paths[TEST_IMAGES], paths[TEST_LABELS])
    keep, val = stratified_holdout(labels, num_val, np.random.default_rng(seed))
    return Dataset(
        to_unit_float(images[keep]),
        labels[keep],
        to_unit_float(images[val]),
        labels[val],
        to_unit_float(test_images),
        y_test,
        classes,
    )


def _read_pair(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``(n, 1, rows, cols)`` and int64 labels ``(n,)`` from two IDX files."""
    images = read_idx(image_path, IMAGE_MAGIC)
    labels = read_idx(label_path, LABEL_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DatasetCorruptError(
            f"{image_path.name} holds {images.shape[0]} images but {label_path.name} holds "
            f"{labels.shape[0]} labels (both in the folder {image_path.parent}); one of them "
            f"is from another download, replace both"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DatasetCorruptError(
            f"{label_path.name} in the folder {label_path.parent} has a label "
            f"{labels.max()}, outside [0, {NUM_CLASSES})"
        )
    return images[:, None], labels.astype(np.int64)


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes, checking its magic number and sizes.

    Args:
        path: the ``.gz`` file.
        magic: 2051 for images (returns ``(count, rows, cols)``) or 2049 for labels
            (returns ``(count,)``); the last byte of the magic number is the number of
            dimensions.

    Returns:
        The uint8 values, read-only view of the decompressed bytes reshaped to the sizes
        in the header.
    """
    where = f"{path.name} in the folder {path.parent}"
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        raise DatasetCorruptError(
            f"{where} is not a complete gzip file ({type(err).__name__}: {err}); delete it "
            f"and load again to download it afresh"
        ) from err
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetCorruptError(
            f"{where} is too short ({len(raw)} bytes) for an IDX header of {header} bytes"
        )
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise DatasetCorruptError(
            f"{where} has IDX magic number {found}, expected {magic} "
            f"({'images' if magic == IMAGE_MAGIC else 'labels'}); the file is damaged or is "
            f"not the file its name says"
        )
    sizes = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(sizes)):
        raise DatasetCorruptError(
            f"{where} declares sizes {sizes} ({int(np.prod(sizes))} values) but holds "
            f"{len(raw) - header} values after its header; the file is truncated or damaged"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(sizes)
