"""Dataset loaders against tiny files written here in the exact upstream formats.

CIFAR-10 fixtures are real ``cifar-10-python.tar.gz`` archives (pickled dicts with the
byte-string keys of the originals, inside ``cifar-10-batches-py/``); MNIST fixtures are
gzipped IDX files with the real magic numbers. Their checksums are computed here and
injected, so the loaders' verification runs exactly as with the official files.
Downloads are served from a loopback HTTP server started by the test.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import pickle
import socket
import struct
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits as sklearn_digits

from dlcourse.data.datasets import (
    Dataset,
    DatasetCorruptError,
    DatasetNotFoundError,
    load_cifar10,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    resolve_data_dir,
)

CIFAR_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer"] + [
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]
CIFAR_MEMBERS = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ----------------------------------------------------------------- CIFAR-10 fixtures


@dataclass
class TinyCifar:
    """A tiny CIFAR-10 archive: its bytes, the arrays inside and a checksum table."""

    archive: bytes
    members: dict[str, bytes]
    train_data: np.ndarray  # (20, 3072) uint8, batches concatenated
    train_labels: np.ndarray
    test_data: np.ndarray  # (5, 3072) uint8
    test_labels: np.ndarray
    checksums: dict[str, str]


def _pickled_batch(rng: np.random.Generator, n: int, index: str) -> tuple[bytes, dict]:
    batch = {
        b"batch_label": f"{index} of 5".encode(),
        b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"image_{index}_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(batch, protocol=2), batch


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny_cifar() -> TinyCifar:
    rng = np.random.default_rng(42)
    members, batches = {}, []
    for i in range(1, 6):
        members[f"data_batch_{i}"], batch = _pickled_batch(rng, 4, f"training batch {i}")
        batches.append(batch)
    members["test_batch"], test = _pickled_batch(rng, 5, "testing batch 1")
    meta = {b"num_cases_per_batch": 4, b"label_names": CIFAR_NAMES, b"num_vis": 3072}
    members["batches.meta"] = pickle.dumps(meta, protocol=2)
    archive = _tar_gz(members)
    checksums = {name: _md5(data) for name, data in members.items()}
    checksums["cifar-10-python.tar.gz"] = _md5(archive)
    return TinyCifar(
        archive,
        members,
        np.concatenate([b[b"data"] for b in batches]),
        np.concatenate([b[b"labels"] for b in batches]),
        test[b"data"],
        np.array(test[b"labels"]),
        checksums,
    )


def _place_archive(data_dir: Path, archive: bytes) -> Path:
    folder = data_dir / "cifar10"
    folder.mkdir(parents=True)
    (folder / "cifar-10-python.tar.gz").write_bytes(archive)
    return folder


def _assert_nothing_extracted(folder: Path) -> None:
    leftovers = [p.name for p in folder.iterdir() if p.name != "cifar-10-python.tar.gz"]
    assert leftovers == []


# -------------------------------------------------------------------- CIFAR-10 tests


def test_cifar_archive_loads_to_the_arrays_written(tmp_path, tiny_cifar):
    _place_archive(tmp_path, tiny_cifar.archive)
    data = load_cifar10(tmp_path, download=False, num_val=0, checksums=tiny_cifar.checksums)
    expected_train = tiny_cifar.train_data.reshape(20, 3, 32, 32) / np.float32(255)
    np.testing.assert_array_equal(data.X_train, expected_train)
    np.testing.assert_array_equal(data.y_train, tiny_cifar.train_labels)
    np.testing.assert_array_equal(
        data.X_test, tiny_cifar.test_data.reshape(5, 3, 32, 32) / np.float32(255)
    )
    np.testing.assert_array_equal(data.y_test, tiny_cifar.test_labels)
    assert data.classes == tuple(name.decode() for name in CIFAR_NAMES)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.X_val.shape == (0, 3, 32, 32)


def test_cifar_red_channel_is_the_first_1024_values_row_by_row(tmp_path, tiny_cifar):
    _place_archive(tmp_path, tiny_cifar.archive)
    data = load_cifar10(tmp_path, download=False, num_val=0, checksums=tiny_cifar.checksums)
    first = tiny_cifar.train_data[0]
    assert data.X_train[0, 0, 0, 1] == np.float32(first[1] / 255)
    assert data.X_train[0, 0, 1, 0] == np.float32(first[32] / 255)
    assert data.X_train[0, 2, 31, 31] == np.float32(first[3071] / 255)


def test_cifar_extracted_folder_is_reused_without_the_archive(tmp_path, tiny_cifar):
    folder = _place_archive(tmp_path, tiny_cifar.archive)
    load_cifar10(tmp_path, download=False, num_val=0, checksums=tiny_cifar.checksums)
    assert sorted(p.name for p in (folder / "cifar-10-batches-py").iterdir()) == sorted(
        CIFAR_MEMBERS
    )
    (folder / "cifar-10-python.tar.gz").unlink()
    again = load_cifar10(tmp_path, download=False, num_val=0, checksums=tiny_cifar.checksums)
    np.testing.assert_array_equal(again.y_train, tiny_cifar.train_labels)


def test_cifar_validation_images_come_from_training_and_order_is_kept(tmp_path, tiny_cifar):
    _place_archive(tmp_path, tiny_cifar.archive)
    data = load_cifar10(tmp_path, download=False, num_val=4, checksums=tiny_cifar.checksums)
    assert data.X_train.shape[0] == 16 and data.X_val.shape[0] == 4
    written = tiny_cifar.train_data.reshape(20, 3, 32, 32) / np.float32(255)
    # Every image appears once; each split lists its images in the written order.
    rows = [
        int(np.flatnonzero((written == image).all(axis=(1, 2, 3)))[0]) for image in data.X_train
    ]
    val_rows = [
        int(np.flatnonzero((written == image).all(axis=(1, 2, 3)))[0]) for image in data.X_val
    ]
    assert rows == sorted(rows) and val_rows == sorted(val_rows)
    assert sorted(rows + val_rows) == list(range(20))
    np.testing.assert_array_equal(data.y_val, tiny_cifar.train_labels[val_rows])


def test_missing_cifar_archive_names_file_folder_and_source(tmp_path, tiny_cifar):
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    message = str(caught.value)
    assert "cifar-10-python.tar.gz" in message
    assert str(tmp_path / "cifar10") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_damaged_cifar_archive_fails_checksum_and_extracts_nothing(tmp_path, tiny_cifar, damage):
    archive = bytearray(tiny_cifar.archive)
    if damage == "flipped byte":
        archive[len(archive) // 2] ^= 0xFF
    else:
        archive = archive[: len(archive) // 2]
    folder = _place_archive(tmp_path, bytes(archive))
    with pytest.raises(DatasetCorruptError) as caught:
        load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    message = str(caught.value)
    assert "cifar-10-python.tar.gz" in message and str(folder) in message and "md5" in message
    _assert_nothing_extracted(folder)


def test_archive_that_is_not_gzip_is_reported_and_extracts_nothing(tmp_path, tiny_cifar):
    bogus = b"this is not a gzip file" * 10
    folder = _place_archive(tmp_path, bogus)
    checksums = {**tiny_cifar.checksums, "cifar-10-python.tar.gz": _md5(bogus)}
    with pytest.raises(DatasetCorruptError, match="could not be extracted") as caught:
        load_cifar10(tmp_path, download=False, checksums=checksums)
    assert str(folder) in str(caught.value)
    _assert_nothing_extracted(folder)


def test_member_with_unexpected_checksum_stops_extraction_midway(tmp_path, tiny_cifar):
    folder = _place_archive(tmp_path, tiny_cifar.archive)
    checksums = {**tiny_cifar.checksums, "data_batch_3": "0" * 32}
    with pytest.raises(DatasetCorruptError, match="data_batch_3 extracted from"):
        load_cifar10(tmp_path, download=False, checksums=checksums)
    _assert_nothing_extracted(folder)


def test_corrupted_extracted_batch_is_reported_by_name_and_folder(tmp_path, tiny_cifar):
    folder = _place_archive(tmp_path, tiny_cifar.archive)
    load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    batch = folder / "cifar-10-batches-py" / "data_batch_2"
    data = bytearray(batch.read_bytes())
    data[100] ^= 0x01
    batch.write_bytes(bytes(data))
    with pytest.raises(DatasetCorruptError) as caught:
        load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    assert "data_batch_2" in str(caught.value)
    assert str(folder / "cifar-10-batches-py") in str(caught.value)


class _Payload:
    """Unpickling this creates a marker file: stands in for code a hostile pickle runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_batches_failing_the_official_checksums_are_never_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    batches = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in CIFAR_MEMBERS:
        (batches / name).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(DatasetCorruptError, match="data_batch_1"):
        load_cifar10(tmp_path / "data", download=False)  # official checksum table
    assert not marker.exists()


def test_batch_that_does_not_unpickle_is_reported(tmp_path, tiny_cifar):
    members = {**tiny_cifar.members, "test_batch": b"\x80\x02garbage"}
    archive = _tar_gz(members)
    checksums = {name: _md5(data) for name, data in members.items()}
    checksums["cifar-10-python.tar.gz"] = _md5(archive)
    folder = _place_archive(tmp_path, archive)
    with pytest.raises(DatasetCorruptError, match="could not be unpickled") as caught:
        load_cifar10(tmp_path, download=False, checksums=checksums)
    assert "test_batch" in str(caught.value)
    assert str(folder / "cifar-10-batches-py") in str(caught.value)


def test_batch_without_the_cifar_keys_is_reported(tmp_path, tiny_cifar):
    members = {**tiny_cifar.members, "data_batch_4": pickle.dumps({"data": [1, 2, 3]})}
    archive = _tar_gz(members)
    checksums = {name: _md5(data) for name, data in members.items()}
    checksums["cifar-10-python.tar.gz"] = _md5(archive)
    _place_archive(tmp_path, archive)
    with pytest.raises(DatasetCorruptError, match="data_batch_4 .* is not a CIFAR-10 batch"):
        load_cifar10(tmp_path, download=False, checksums=checksums)


def test_incomplete_batch_folder_without_archive_names_the_missing_member(tmp_path, tiny_cifar):
    folder = _place_archive(tmp_path, tiny_cifar.archive)
    load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    (folder / "cifar-10-batches-py" / "data_batch_3").unlink()
    (folder / "cifar-10-python.tar.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    message = str(caught.value)
    assert "data_batch_3" in message and str(folder / "cifar-10-batches-py") in message
    assert "cifar-10-python.tar.gz" in message and str(folder) in message


def test_incomplete_batch_folder_is_refilled_from_the_archive(tmp_path, tiny_cifar):
    folder = _place_archive(tmp_path, tiny_cifar.archive)
    load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    (folder / "cifar-10-batches-py" / "test_batch").unlink()
    data = load_cifar10(tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums)
    np.testing.assert_array_equal(data.y_test, tiny_cifar.test_labels)


def test_incomplete_checksum_table_is_refused(tmp_path, tiny_cifar):
    table = {k: v for k, v in tiny_cifar.checksums.items() if k != "batches.meta"}
    with pytest.raises(ValueError, match="batches.meta"):
        load_cifar10(tmp_path, checksums=table)


# -------------------------------------------------------------------- downloading


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def no_proxy(monkeypatch):
    """Make urllib talk to 127.0.0.1 directly even where a proxy is configured."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def http_root(tmp_path, no_proxy):
    """``(folder, url)``: a loopback HTTP server serving ``folder``, stopped afterwards."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval lets shutdown() return quickly at teardown.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_cifar_download_is_verified_cached_and_loaded(tmp_path, tiny_cifar, http_root):
    root, url = http_root
    (root / "cifar-10-python.tar.gz").write_bytes(tiny_cifar.archive)
    data_dir = tmp_path / "data"
    data = load_cifar10(
        data_dir, url=url + "cifar-10-python.tar.gz", num_val=0, checksums=tiny_cifar.checksums
    )
    np.testing.assert_array_equal(data.y_train, tiny_cifar.train_labels)
    cached = data_dir / "cifar10" / "cifar-10-python.tar.gz"
    assert cached.read_bytes() == tiny_cifar.archive
    assert not [p for p in _files_under(data_dir) if p.name.endswith(".part")]


def test_download_with_wrong_checksum_leaves_no_file_behind(tmp_path, tiny_cifar, http_root):
    root, url = http_root
    (root / "cifar-10-python.tar.gz").write_bytes(tiny_cifar.archive)
    checksums = {**tiny_cifar.checksums, "cifar-10-python.tar.gz": "f" * 32}
    with pytest.raises(DatasetCorruptError, match="download of cifar-10-python.tar.gz"):
        load_cifar10(tmp_path / "data", url=url + "cifar-10-python.tar.gz", checksums=checksums)
    assert _files_under(tmp_path / "data") == []


def test_download_from_unreachable_server_names_file_folder_and_url(tmp_path, tiny_cifar, no_proxy):
    url = _closed_port_url() + "cifar-10-python.tar.gz"
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10(tmp_path, url=url, checksums=tiny_cifar.checksums, progress=False)
    message = str(caught.value)
    assert "cifar-10-python.tar.gz" in message and str(tmp_path / "cifar10") in message
    assert url in message
    assert _files_under(tmp_path) == []


def test_missing_file_on_the_server_is_reported_as_not_found(tmp_path, tiny_cifar, http_root):
    _, url = http_root
    with pytest.raises(DatasetNotFoundError, match="404"):
        load_cifar10(
            tmp_path / "data", url=url + "nothing-here.tar.gz", checksums=tiny_cifar.checksums
        )
    assert _files_under(tmp_path / "data") == []


# --------------------------------------------------------------------- MNIST fixtures


@dataclass
class TinyIdx:
    """Four tiny gzipped IDX files (by name), the arrays in them and their checksums."""

    files: dict[str, bytes]
    train_images: np.ndarray  # (12, 28, 28) uint8
    train_labels: np.ndarray
    test_images: np.ndarray  # (5, 28, 28) uint8
    test_labels: np.ndarray
    checksums: dict[str, str]


def _idx_images(images: np.ndarray, magic: int = 2051, count: int | None = None) -> bytes:
    n, rows, cols = images.shape
    header = struct.pack(">IIII", magic, n if count is None else count, rows, cols)
    return gzip.compress(header + images.tobytes())


def _idx_labels(labels: np.ndarray, magic: int = 2049) -> bytes:
    return gzip.compress(struct.pack(">II", magic, labels.size) + labels.astype(np.uint8).tobytes())


def _tiny_idx(seed: int) -> TinyIdx:
    rng = np.random.default_rng(seed)
    train_images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    train_labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1], dtype=np.uint8)
    test_images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    test_labels = rng.integers(0, 10, size=5).astype(np.uint8)
    files = {
        "train-images-idx3-ubyte.gz": _idx_images(train_images),
        "train-labels-idx1-ubyte.gz": _idx_labels(train_labels),
        "t10k-images-idx3-ubyte.gz": _idx_images(test_images),
        "t10k-labels-idx1-ubyte.gz": _idx_labels(test_labels),
    }
    checksums = {name: _md5(data) for name, data in files.items()}
    return TinyIdx(files, train_images, train_labels, test_images, test_labels, checksums)


@pytest.fixture(scope="module")
def tiny_idx() -> TinyIdx:
    return _tiny_idx(7)


def _place_idx(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _with(tiny: TinyIdx, name: str, data: bytes) -> tuple[dict, dict]:
    """Files and checksum table with one file replaced (and its checksum injected)."""
    return {**tiny.files, name: data}, {**tiny.checksums, name: _md5(data)}


# ------------------------------------------------------------------------ MNIST tests


def test_mnist_idx_files_load_to_the_arrays_written(tmp_path, tiny_idx):
    _place_idx(tmp_path / "mnist", tiny_idx.files)
    data = load_mnist(tmp_path, download=False, num_val=0, checksums=tiny_idx.checksums)
    np.testing.assert_array_equal(data.X_train[:, 0], tiny_idx.train_images / np.float32(255))
    np.testing.assert_array_equal(data.y_train, tiny_idx.train_labels)
    np.testing.assert_array_equal(data.X_test[:, 0], tiny_idx.test_images / np.float32(255))
    np.testing.assert_array_equal(data.y_test, tiny_idx.test_labels)
    assert data.X_train.shape == (12, 1, 28, 28) and data.X_train.dtype == np.float32
    assert data.y_train.dtype == np.int64
    assert data.classes == tuple("0123456789")


def test_mnist_validation_split_is_stratified_and_seeded(tmp_path, tiny_idx):
    _place_idx(tmp_path / "mnist", tiny_idx.files)
    first = load_mnist(tmp_path, download=False, num_val=6, seed=3, checksums=tiny_idx.checksums)
    again = load_mnist(tmp_path, download=False, num_val=6, seed=3, checksums=tiny_idx.checksums)
    np.testing.assert_array_equal(first.y_val, again.y_val)
    np.testing.assert_array_equal(first.X_val, again.X_val)
    # Classes 0 and 1 hold 2 of the 12 images each, so each gives exactly one of 6.
    assert np.sum(first.y_val == 0) == 1 and np.sum(first.y_val == 1) == 1
    assert sorted(np.concatenate([first.y_train, first.y_val])) == sorted(tiny_idx.train_labels)


def test_fashion_mnist_uses_its_own_folder_and_class_names(tmp_path, tiny_idx):
    fashion = _tiny_idx(8)
    _place_idx(tmp_path / "mnist", tiny_idx.files)
    _place_idx(tmp_path / "fashion-mnist", fashion.files)
    data = load_fashion_mnist(tmp_path, download=False, num_val=0, checksums=fashion.checksums)
    np.testing.assert_array_equal(data.X_train[:, 0], fashion.train_images / np.float32(255))
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"


@pytest.mark.parametrize("name", MNIST_FILES)
def test_missing_idx_file_names_file_folder_and_source(tmp_path, tiny_idx, name):
    files = {k: v for k, v in tiny_idx.files.items() if k != name}
    folder = _place_idx(tmp_path / "mnist", files)
    with pytest.raises(DatasetNotFoundError) as caught:
        load_mnist(tmp_path, download=False, checksums=tiny_idx.checksums)
    message = str(caught.value)
    assert name in message and str(folder) in message
    assert f"https://ossci-datasets.s3.amazonaws.com/mnist/{name}" in message


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_damaged_idx_file_fails_its_checksum(tmp_path, tiny_idx, damage):
    data = bytearray(tiny_idx.files["train-images-idx3-ubyte.gz"])
    if damage == "flipped byte":
        data[40] ^= 0x10
    else:
        data = data[:-100]
    files = {**tiny_idx.files, "train-images-idx3-ubyte.gz": bytes(data)}
    folder = _place_idx(tmp_path / "fashion-mnist", files)
    with pytest.raises(DatasetCorruptError) as caught:
        load_fashion_mnist(tmp_path, download=False, checksums=tiny_idx.checksums)
    message = str(caught.value)
    assert "train-images-idx3-ubyte.gz" in message and str(folder) in message
    assert "checksum" in message


def test_truncated_gzip_with_matching_checksum_is_caught_by_the_decompressor(tmp_path, tiny_idx):
    whole = tiny_idx.files["t10k-images-idx3-ubyte.gz"]
    files, checksums = _with(tiny_idx, "t10k-images-idx3-ubyte.gz", whole[: len(whole) // 2])
    folder = _place_idx(tmp_path / "mnist", files)
    with pytest.raises(DatasetCorruptError, match="not a complete gzip file") as caught:
        load_mnist(tmp_path, download=False, checksums=checksums)
    assert str(folder) in str(caught.value)


def test_swapped_idx_files_fail_on_the_magic_number(tmp_path, tiny_idx):
    labels = tiny_idx.files["train-labels-idx1-ubyte.gz"]
    files, checksums = _with(tiny_idx, "train-images-idx3-ubyte.gz", labels)
    _place_idx(tmp_path / "mnist", files)
    with pytest.raises(DatasetCorruptError, match="magic number 2049, expected 2051"):
        load_mnist(tmp_path, download=False, checksums=checksums)


def test_idx_header_promising_more_images_than_stored_is_reported(tmp_path, tiny_idx):
    short = _idx_images(tiny_idx.train_images, count=13)
    files, checksums = _with(tiny_idx, "train-images-idx3-ubyte.gz", short)
    _place_idx(tmp_path / "mnist", files)
    with pytest.raises(DatasetCorruptError, match=r"declares sizes \(13, 28, 28\)"):
        load_mnist(tmp_path, download=False, checksums=checksums)


def test_image_and_label_counts_must_agree(tmp_path, tiny_idx):
    fewer = _idx_labels(tiny_idx.test_labels[:4])
    files, checksums = _with(tiny_idx, "t10k-labels-idx1-ubyte.gz", fewer)
    _place_idx(tmp_path / "mnist", files)
    with pytest.raises(DatasetCorruptError, match="5 images but t10k-labels-idx1-ubyte.gz holds 4"):
        load_mnist(tmp_path, download=False, checksums=checksums)


def test_mnist_download_fetches_all_four_files(tmp_path, tiny_idx, http_root):
    root, url = http_root
    _place_idx(root, tiny_idx.files)
    data = load_mnist(
        tmp_path / "data", base_url=url, num_val=0, checksums=tiny_idx.checksums, progress=False
    )
    np.testing.assert_array_equal(data.y_test, tiny_idx.test_labels)
    assert sorted(p.name for p in _files_under(tmp_path / "data")) == sorted(MNIST_FILES)


# --------------------------------------------------------------------- the data folder


def test_data_dir_argument_wins_then_environment_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "dlcourse"
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"


def test_loader_finds_files_through_the_environment_variable(tmp_path, tiny_idx, monkeypatch):
    _place_idx(tmp_path / "mnist", tiny_idx.files)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    data = load_mnist(download=False, num_val=0, checksums=tiny_idx.checksums)
    np.testing.assert_array_equal(data.y_train, tiny_idx.train_labels)


# ---------------------------------------------------------------------------- digits


def test_digits_splits_have_the_documented_sizes_shapes_and_types():
    data = load_digits()
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (1197, 300, 300)
    assert data.X_train.shape == (1197, 1, 8, 8) and data.X_train.dtype == np.float32
    assert data.y_train.dtype == np.int64
    assert data.classes == tuple("0123456789")


def test_digits_values_are_scaled_to_the_unit_interval():
    data = load_digits()
    pixels = np.concatenate([data.X_train, data.X_val, data.X_test])
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    # The raw values are integers 0..16, so every scaled value is a multiple of 1/16.
    np.testing.assert_array_equal(pixels * 16, np.round(pixels * 16))


def test_digits_splits_partition_the_whole_dataset():
    data = load_digits()
    reference = sklearn_digits()
    ours = np.concatenate([data.X_train, data.X_val, data.X_test]).reshape(1797, 64) * 16
    labels = np.concatenate([data.y_train, data.y_val, data.y_test])
    rows = np.column_stack([ours, labels])
    expected = np.column_stack([reference.data, reference.target])
    # Same multiset of (image, label) rows: nothing lost, nothing duplicated across splits.
    np.testing.assert_array_equal(
        rows[np.lexsort(rows.T[::-1])], expected[np.lexsort(expected.T[::-1])]
    )


def test_digits_split_is_deterministic_and_depends_on_the_seed():
    first, again, other = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(first.X_val, again.X_val)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.X_val, other.X_val)


def test_digits_val_and_test_are_stratified_by_class():
    counts = np.bincount(sklearn_digits().target)
    share = 300 * counts / counts.sum()
    data = load_digits()
    for split in (data.y_val, data.y_test):
        got = np.bincount(split, minlength=10)
        assert np.all((got >= np.floor(share)) & (got <= np.ceil(share)))


def test_digits_rejects_splits_larger_than_the_dataset():
    with pytest.raises(ValueError, match="num_val \\+ num_test"):
        load_digits(num_val=1000, num_test=900)


# ------------------------------------------------------------------ the shared entry point


def test_load_dataset_defaults_to_the_embedded_digits():
    data = load_dataset()
    assert isinstance(data, Dataset) and data.image_shape == (1, 8, 8) and data.num_classes == 10


def test_load_dataset_routes_names_and_options_to_the_loaders(tmp_path, tiny_cifar, tiny_idx):
    _place_archive(tmp_path, tiny_cifar.archive)
    _place_idx(tmp_path / "fashion-mnist", tiny_idx.files)
    cifar = load_dataset(
        "CIFAR-10", tmp_path, download=False, num_val=2, checksums=tiny_cifar.checksums
    )
    assert cifar.X_val.shape == (2, 3, 32, 32)
    fashion = load_dataset(
        "fashion_mnist", tmp_path, download=False, num_val=0, checksums=tiny_idx.checksums
    )
    assert fashion.classes[0] == "T-shirt/top"


def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'imagenet'.*'cifar10'.*'digits'"):
        load_dataset("imagenet")


def test_dataset_refuses_images_that_are_not_float32_nchw():
    X = np.zeros((2, 1, 4, 4))
    y = np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match="X_train must be float32"):
        Dataset(X, y, X, y, X, y, ("a",))


def test_validation_split_larger_than_the_training_set_names_num_val(tmp_path, tiny_idx):
    _place_idx(tmp_path / "mnist", tiny_idx.files)
    with pytest.raises(ValueError, match=r"num_val must be an integer in \[0, 12\]"):
        load_mnist(tmp_path, download=False, num_val=13, checksums=tiny_idx.checksums)
