"""CIFAR-10: 60,000 colour images 32x32 in 10 classes (50,000 train, 10,000 test).

The "python version" is one archive, ``cifar-10-python.tar.gz``, holding the folder
``cifar-10-batches-py/`` with five training batches ``data_batch_1`` ... ``data_batch_5``
(10,000 images each), ``test_batch`` and ``batches.meta`` (the class names). Each batch is
a Python pickle of a dict with the byte-string keys ``b"data"`` (uint8, shape
``(10000, 3072)``: per image the 1024 red, then green, then blue values, row by row),
``b"labels"`` (a list of ints in 0..9), ``b"batch_label"`` and ``b"filenames"``.

Cache layout, under the data directory (see :func:`_files.resolve_data_dir`)::

    cifar10/cifar-10-python.tar.gz
    cifar10/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}

The archive is extracted once into a temporary folder, checked member by member, and
only then renamed to ``cifar-10-batches-py``, so a failed extraction leaves nothing that
looks complete.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.data.datasets._files import (
    Dataset,
    DatasetCorruptError,
    checksum_algorithm,
    ensure_file,
    resolve_data_dir,
    stratified_holdout,
    to_unit_float,
    verify_checksum,
)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
BATCH_FOLDER = "cifar-10-batches-py"
SUBFOLDER = "cifar10"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
MEMBERS = (*TRAIN_BATCHES, TEST_BATCH, META)
NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)

# The md5 sums published with the dataset (https://www.cs.toronto.edu/~kriz/cifar.html),
# for the archive and for each extracted member.
CIFAR10_MD5 = {
    ARCHIVE: "c58f30108f718f92721af3b95e74349a",
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    TEST_BATCH: "40351d587109b95175f43aff81a1287e",
    META: "5ff9c542aee3614f3951f8cda6e48888",
}


def load_cifar10(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    num_val: int = 1000,
    seed: int = 0,
    checksums: Mapping[str, str] | None = None,
    url: str = CIFAR10_URL,
    progress: bool = True,
) -> Dataset:
    """Load CIFAR-10, downloading and extracting it on first use.

    Args:
        data_dir: data directory; ``None`` means ``$DLCOURSE_DATA`` or ``~/.cache/dlcourse``.
        download: fetch the archive from ``url`` when it is missing; with ``False`` a
            missing file raises an error saying where to put it.
        num_val: training images held out as the validation split, stratified by class
            with ``seed`` (default: the classic 49,000 / 1,000 split).
        checksums: md5 or sha256 per file name, for the archive and all seven members;
            defaults to the official :data:`CIFAR10_MD5`. Tests inject their own.
        url: where to download the archive from.
        progress: show a progress bar while downloading.

    Returns:
        A :class:`Dataset` with float32 images ``(N, 3, 32, 32)`` in ``[0, 1]``.
    """
    table = dict(CIFAR10_MD5 if checksums is None else checksums)
    absent = [name for name in (ARCHIVE, *MEMBERS) if name not in table]
    if absent:
        raise ValueError(f"checksums must give a checksum for every file; missing {absent}")
    root = resolve_data_dir(data_dir) / SUBFOLDER
    batches = _ensure_batches(root, table, url, download, progress)
    # Pickle can run arbitrary code while loading, so every member is checked against the
    # trusted checksum table before any of them is unpickled.
    for name in MEMBERS:
        verify_checksum(batches / name, table[name], url)
    classes = _read_classes(batches / META)
    parts = [_read_batch(batches / name) for name in TRAIN_BATCHES]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    test_images, y_test = _read_batch(batches / TEST_BATCH)
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


def _ensure_batches(
    root: Path, table: Mapping[str, str], url: str, download: bool, progress: bool
) -> Path:
    """The extracted batch folder, extracting (and downloading) the archive if needed."""
    batches = root / BATCH_FOLDER
    missing = [name for name in MEMBERS if not (batches / name).is_file()]
    if not missing:
        return batches
    context = ""
    if batches.exists():
        context = (
            f"{', '.join(missing)} missing from {batches}, and the archive they are "
            f"extracted from is missing too. "
        )
    archive = ensure_file(
        ARCHIVE, root, url, table[ARCHIVE], download=download, progress=progress, context=context
    )
    _extract(archive, batches, table, url)
    return batches


def _extract(archive: Path, batches: Path, table: Mapping[str, str], url: str) -> None:
    """Copy the seven members out of ``archive`` into ``batches``, each checksum-verified."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=archive.parent))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for name in MEMBERS:
                    _copy_member(tar, name, staging / name, table[name], archive)
        except (tarfile.TarError, EOFError, zlib.error, OSError, KeyError) as err:
            raise DatasetCorruptError(
                f"{archive.name} in the folder {archive.parent} could not be extracted "
                f"({type(err).__name__}: {err}). Delete {archive} and load again with "
                f"download=True, or put a good copy from {url} in that folder."
            ) from err
        if not batches.exists():
            os.replace(staging, batches)
        else:
            # An incomplete folder from earlier: fill it file by file (each rename atomic).
            for name in MEMBERS:
                os.replace(staging / name, batches / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_member(tar: tarfile.TarFile, name: str, dest: Path, expected: str, archive: Path) -> None:
    """Write one archive member to ``dest`` and check its checksum while copying.

    Members are read by their known names and written to paths chosen here, instead of
    ``extractall``, so a crafted archive cannot write anywhere else.
    """
    member = tar.getmember(f"{BATCH_FOLDER}/{name}")
    source = tar.extractfile(member) if member.isfile() else None
    if source is None:
        raise DatasetCorruptError(f"{BATCH_FOLDER}/{name} in {archive} is not a regular file")
    algorithm = checksum_algorithm(expected)
    hasher = hashlib.new(algorithm)
    with source, dest.open("wb") as out:
        while chunk := source.read(1 << 20):
            out.write(chunk)
            hasher.update(chunk)
    if hasher.hexdigest() != expected.lower():
        raise DatasetCorruptError(
            f"{name} extracted from {archive.name} (in the folder {archive.parent}) has "
            f"{algorithm} checksum {hasher.hexdigest()} but should be {expected}; the archive "
            f"does not match the checksum table. Nothing was extracted."
        )


def _unpickle(path: Path) -> Any:
    """Unpickle a checksum-verified batch file; any failure means the file is damaged."""
    try:
        with path.open("rb") as f:
            # The batches were pickled by Python 2: encoding="bytes" turns its str keys
            # into bytes (b"data", b"labels"), as the dataset's own instructions do.
            return pickle.load(f, encoding="bytes")
    except Exception as err:  # a damaged pickle can fail in many ways; all mean "corrupt"
        raise DatasetCorruptError(
            f"{path.name} in the folder {path.parent} could not be unpickled "
            f"({type(err).__name__}: {err}); delete it and load again to re-extract it."
        ) from err


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> uint8 images ``(n, 3, 32, 32)`` and int64 labels ``(n,)``."""
    entry = _unpickle(path)
    try:
        data = np.asarray(entry[b"data"])
        labels = np.asarray(entry[b"labels"])
    except (TypeError, KeyError) as err:
        raise DatasetCorruptError(
            f"{path.name} in the folder {path.parent} is not a CIFAR-10 batch: expected a dict "
            f'with keys b"data" and b"labels" ({type(err).__name__}: {err})'
        ) from err
    size = int(np.prod(IMAGE_SHAPE))
    ok = (
        data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == size
        and labels.shape == (data.shape[0],)
        and labels.dtype.kind in "iu"
        and (labels.size == 0 or (labels.min() >= 0 and labels.max() < NUM_CLASSES))
    )
    if not ok:
        raise DatasetCorruptError(
            f"{path.name} in the folder {path.parent} is not a CIFAR-10 batch: expected uint8 "
            f"data of shape (n, {size}) and n labels in [0, {NUM_CLASSES}), got data "
            f"{data.dtype} {data.shape} and labels {labels.dtype} {labels.shape}"
        )
    return data.reshape(-1, *IMAGE_SHAPE), labels.astype(np.int64)


def _read_classes(path: Path) -> tuple[str, ...]:
    """The ten class names from ``batches.meta``."""
    entry = _unpickle(path)
    try:
        names = tuple(name.decode("ascii") for name in entry[b"label_names"])
    except (TypeError, KeyError, AttributeError, UnicodeDecodeError) as err:
        raise DatasetCorruptError(
            f'{path.name} in the folder {path.parent} has no readable b"label_names" list '
            f"({type(err).__name__}: {err})"
        ) from err
    if len(names) != NUM_CLASSES:
        raise DatasetCorruptError(
            f"{path.name} in the folder {path.parent} lists {len(names)} class names, "
            f"expected {NUM_CLASSES}"
        )
    return names
