"""What every dataset loader shares: the result type, the cache folder, checksums,
downloads and the train/validation split.

Nothing here knows about a particular dataset; ``cifar10.py``, ``mnist.py`` and
``digits.py`` build on it, so that all loaders cache, verify, fail and split the same way.

The rules the helpers enforce:

* **where**: files live under a data directory chosen by the ``data_dir`` argument, else
  the ``DLCOURSE_DATA`` environment variable, else ``~/.cache/dlcourse``; each dataset
  has its own sub-folder (MNIST and Fashion-MNIST use the same file names).
* **verified**: a file is used only after its checksum matches the expected one. A
  checksum is written as a hex string; its length says the algorithm (32 hex digits: md5,
  64: sha256). The tables are arguments of the loaders, so tests can inject their own.
* **atomic**: a download goes to a temporary file in the target folder and is renamed
  into place only after its checksum matched, so an interrupted or corrupt download
  never leaves a file that looks complete.
* **clear failures**: a missing file raises :class:`DatasetNotFoundError` and a damaged
  one :class:`DatasetCorruptError`; both name the exact file, the exact folder it belongs
  in and where to get it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from tqdm.auto import tqdm

DATA_ENV_VAR = "DLCOURSE_DATA"
_CHUNK_BYTES = 1 << 20
_ALGORITHMS = {32: "md5", 64: "sha256"}


class DatasetError(RuntimeError):
    """A dataset file could not be used."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A required file is missing and could not be downloaded."""


class DatasetCorruptError(DatasetError):
    """A file is damaged: wrong checksum, bad gzip/tar, wrong format or sizes."""


# ------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Dataset:
    """Images and labels of the train, validation and test splits.

    Attributes:
        X_train, X_val, X_test: float32 images ``(N, C, H, W)`` scaled to ``[0, 1]``.
        y_train, y_val, y_test: int64 labels ``(N,)`` in ``[0, len(classes))``.
        classes: class names; label ``k`` means ``classes[k]``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        splits = (("train", self.X_train, self.y_train), ("val", self.X_val, self.y_val))
        for split, X, y in (*splits, ("test", self.X_test, self.y_test)):
            if X.dtype != np.float32 or X.ndim != 4 or X.shape[1:] != self.X_train.shape[1:]:
                raise ValueError(
                    f"X_{split} must be float32 (N, C, H, W) like X_train "
                    f"{self.X_train.shape[1:]}, got {X.dtype} {X.shape}"
                )
            if y.dtype != np.int64 or y.shape != (X.shape[0],):
                raise ValueError(
                    f"y_{split} must be int64 of shape ({X.shape[0]},), got {y.dtype} {y.shape}"
                )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return self.X_train.shape[1:]


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 images (any shape) -> float32 in ``[0, 1]`` (divided by 255)."""
    out = images.astype(np.float32)
    out /= 255
    return out


def stratified_holdout(
    y: np.ndarray, num_holdout: int, rng: np.random.Generator, name: str = "num_val"
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices of ``y`` ``(N,)`` into ``(keep, holdout)``, class proportions preserved.

    Each class gives ``num_holdout * count / N`` examples, rounded so the total is exactly
    ``num_holdout`` (the largest fractional parts round up); which examples go is random.
    Both index arrays are sorted, so each split keeps the original order. ``name`` is
    the loader argument that set ``num_holdout``, for the error message.
    """
    n = y.shape[0]
    if int(num_holdout) != num_holdout or not 0 <= num_holdout <= n:
        raise ValueError(
            f"{name} must be an integer in [0, {n}] (the number of examples it is taken "
            f"from), got {num_holdout}"
        )
    classes, counts = np.unique(y, return_counts=True)
    # Integer arithmetic: quota = num_holdout * count / n = taken + remainder / n exactly.
    taken, remainder = np.divmod(num_holdout * counts, n)
    # Hand the examples still missing to the classes whose quota was rounded down the most.
    by_remainder = np.argsort(-remainder, kind="stable")
    taken[by_remainder[: num_holdout - taken.sum()]] += 1
    order = rng.permutation(n)
    shuffled = y[order]
    holdout = np.concatenate(
        [order[shuffled == label][:k] for label, k in zip(classes, taken, strict=True)]
        + [np.empty(0, dtype=np.intp)]
    )
    keep = np.setdiff1d(np.arange(n), holdout)
    return keep, np.sort(holdout)


# ----------------------------------------------------------------------- the data folder


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$DLCOURSE_DATA``, else ``~/.cache/dlcourse``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_env = os.environ.get(DATA_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".cache" / "dlcourse"


def missing_message(filename: str, folder: Path, url: str) -> str:
    """The text of a missing-file error: which file, which folder, where to get it."""
    return (
        f"{filename} is missing: it belongs in the folder {folder} (full path "
        f"{folder / filename}). Download it from {url} and put it there, or call the loader "
        f"with download=True while online. To use another data folder pass data_dir=... or "
        f"set the {DATA_ENV_VAR} environment variable."
    )


# ------------------------------------------------------------------------- checksums


def checksum_algorithm(expected: str) -> str:
    """``"md5"`` or ``"sha256"``, told apart by the length of the hex string."""
    algorithm = _ALGORITHMS.get(len(expected))
    if algorithm is None:
        raise ValueError(
            f"checksum {expected!r} must be 32 hex digits (md5) or 64 (sha256), "
            f"got {len(expected)} characters"
        )
    return algorithm


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks so large archives need little memory."""
    hasher = hashlib.new(algorithm)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


def verify_checksum(path: Path, expected: str, url: str) -> None:
    """Raise :class:`DatasetCorruptError` unless ``path``'s checksum is ``expected``."""
    algorithm = checksum_algorithm(expected)
    got = file_digest(path, algorithm)
    if got != expected.lower():
        raise DatasetCorruptError(
            f"{path.name} in the folder {path.parent} is corrupt or incomplete: its "
            f"{algorithm} checksum is {got} but should be {expected}. Delete {path} and load "
            f"again with download=True, or put a good copy from {url} in that folder."
        )


# ------------------------------------------------------------------------- downloads


def download_file(url: str, dest: Path, expected: str, *, progress: bool = True) -> None:
    """Download ``url`` to ``dest``, keeping it only if its checksum is ``expected``.

    The bytes go to a hidden temporary file next to ``dest`` (same folder, so the final
    rename is atomic) while the checksum is computed on the fly. Any failure deletes the
    temporary file, and the folder too if this call created it and it is empty.
    """
    algorithm = checksum_algorithm(expected)
    folder = dest.parent
    created_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                got = _stream(url, out, algorithm, dest.name, progress)
            except OSError as err:  # URLError, HTTPError, refused or reset connections
                raise DatasetNotFoundError(
                    f"{missing_message(dest.name, folder, url)} Downloading {url} failed: {err}"
                ) from err
        if got != expected.lower():
            raise DatasetCorruptError(
                f"the download of {dest.name} from {url} is corrupt or incomplete: its "
                f"{algorithm} checksum is {got} but should be {expected}. It was discarded, "
                f"nothing was written to {folder}; try again, or download it by hand and put "
                f"it in that folder."
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if created_folder:
            with contextlib.suppress(OSError):  # not empty: something else lives there
                folder.rmdir()
        raise


def _stream(url: str, out: BinaryIO, algorithm: str, label: str, progress: bool) -> str:
    """Copy the response body of ``url`` into the open file ``out``; return its digest."""
    hasher = hashlib.new(algorithm)
    with urllib.request.urlopen(url, timeout=60) as response:
        total = response.headers.get("Content-Length")
        with tqdm(
            total=int(total) if total else None,
            unit="B",
            unit_scale=True,
            desc=label,
            disable=not progress,
        ) as bar:
            while chunk := response.read(_CHUNK_BYTES):
                out.write(chunk)
                hasher.update(chunk)
                bar.update(len(chunk))
    return hasher.hexdigest()


def ensure_file(
    filename: str,
    folder: Path,
    url: str,
    expected: str,
    *,
    download: bool,
    progress: bool = True,
    context: str = "",
) -> Path:
    """Return ``folder / filename`` once it exists with the ``expected`` checksum.

    A missing file is downloaded from ``url`` when ``download`` is true; otherwise
    :class:`DatasetNotFoundError` is raised (prefixed by ``context`` when given). A file
    already present but with the wrong checksum raises :class:`DatasetCorruptError` and is
    left alone: it may be the user's own copy, so deleting it is their decision.
    """
    path = folder / filename
    if path.is_file():
        verify_checksum(path, expected, url)
        return path
    if not download:
        raise DatasetNotFoundError(f"{context}{missing_message(filename, folder, url)}")
    download_file(url, path, expected, progress=progress)
    return path
