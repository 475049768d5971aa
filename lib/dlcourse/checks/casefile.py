"""Case files: the ``.npz`` archives that carry test inputs and outputs, never pickles.

Layout (see ``docs/AUTOGRADER.md``): a 0-d unicode array ``__meta__`` holding JSON
``{"test_id", "call", "num_cases", "rtol", "atol", "hint"}``; arrays
``case<i>/in/<name>`` (inputs) and ``case<i>/out/<name>`` (outputs); and, in an outputs
file, ``case<i>/error`` (a 0-d unicode array: exception type and message) for a case
whose call failed, and ``case<i>/forbidden`` (0-d unicode, comma-separated) naming the
forbidden modules the case's call used (``"forbid"`` in ``__meta__``, optional: the
modules the exercise must be written without).

The same files are written by the trusted grader (inputs, shipped visible cases) and by
code running in the sandbox (outputs), so reading is defensive throughout: the file is
read once into memory with a size cap (no symlinks, no FIFOs), the zip directory is
checked (entry count, total size, names), every ``.npy`` header is parsed *before* any
data is read (only plain numeric dtypes, or unicode for text entries; the declared size
must match the bytes present), and arrays are finally loaded with
``np.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

META_KEY = "__meta__"
#: Error texts are capped at this many UTF-8 bytes (a traceback can be huge).
ERROR_CAP_BYTES = 2048
#: dtype kinds an array of numbers may have: bool, signed, unsigned, float.
NUMERIC_KINDS = "biuf"
#: The grade-id pattern nbgrader accepts; test ids are grade ids and become file names.
TEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_\-]{1,100}")
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MODULE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,9}")
_KEY_PATTERN = re.compile(
    r"case(?P<case>0|[1-9][0-9]{0,5})/(?:(?P<section>in|out)/(?P<name>[A-Za-z_][A-Za-z0-9_]{0,63})"
    r"|(?P<error>error)|(?P<forbidden>forbidden))"
)
_META_FIELDS = ("test_id", "call", "num_cases", "rtol", "atol", "hint")
_OPTIONAL_META = ("forbid",)
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class CaseFileError(ValueError):
    """A case file (or one entry of it) is missing, malformed, oversized or unsafe."""


class EntryError(CaseFileError):
    """One entry of a case file is unusable; ``reason`` says why without naming the entry."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key!r} {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class LoadLimits:
    """Caps that keep a hostile case file from exhausting the reader."""

    max_file_bytes: int = 64 * 2**20
    """Size of the ``.npz`` file on disk."""
    max_total_bytes: int = 64 * 2**20
    """Sum of the uncompressed sizes of all entries (a zip bomb claims little on disk)."""
    max_entries: int = 10_000
    max_text_chars: int = 8192
    """Length of ``__meta__`` and error texts."""
    max_ndim: int = 32

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_total_bytes", "max_entries", "max_text_chars"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"LoadLimits.{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class CaseMeta:
    """What a case file is about: the test, how to call the code, and how to compare."""

    test_id: str
    call: str
    num_cases: int
    rtol: float
    atol: float
    hint: str = ""
    forbid: tuple[str, ...] = ()
    """Modules the exercise must be written without (written only when there are some,
    so files of exercises without any stay as they were)."""

    def to_json(self) -> str:
        data: dict[str, object] = {name: getattr(self, name) for name in _META_FIELDS}
        if self.forbid:
            data["forbid"] = list(self.forbid)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CaseMeta:
        """Parse and type-check the ``__meta__`` JSON; raise :class:`CaseFileError` if off."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise CaseFileError(f"__meta__ is not valid JSON ({error})") from None
        if not isinstance(data, dict) or not set(_META_FIELDS) <= set(data) <= set(
            _META_FIELDS + _OPTIONAL_META
        ):
            raise CaseFileError(
                f"__meta__ must be a JSON object with exactly {_META_FIELDS} (and optionally "
                f"{_OPTIONAL_META})"
            )
        forbid = data.get("forbid", [])
        if not isinstance(forbid, list) or not all(
            isinstance(name, str) and _MODULE_PATTERN.fullmatch(name) for name in forbid
        ):
            raise CaseFileError("__meta__ forbid must be a list of dotted module names")
        texts = ("test_id", "call", "hint")
        if not all(isinstance(data[name], str) for name in texts):
            raise CaseFileError("__meta__ fields test_id, call and hint must be strings")
        if not TEST_ID_PATTERN.fullmatch(data["test_id"]):
            raise CaseFileError("__meta__ test_id is not a valid grade id")
        count = data["num_cases"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100_000:
            raise CaseFileError("__meta__ num_cases must be an integer in [0, 100000]")
        for name in ("rtol", "atol"):
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CaseFileError(f"__meta__ {name} must be a number")
            if not math.isfinite(value) or value < 0:
                raise CaseFileError(f"__meta__ {name} must be finite and >= 0")
        return cls(
            test_id=data["test_id"],
            call=data["call"],
            num_cases=count,
            rtol=float(data["rtol"]),
            atol=float(data["atol"]),
            hint=data["hint"],
            forbid=tuple(forbid),
        )


@dataclass
class CaseData:
    """One case: its inputs, its outputs, or the error that replaced the outputs."""

    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    forbidden: str | None = None
    """Comma-separated forbidden modules the call used (outputs files only)."""


@dataclass
class CaseFile:
    """A fully loaded, fully validated case file."""

    meta: CaseMeta
    cases: list[CaseData]


# ----------------------------------------------------------------------------- names


def case_file_name(test_id: str, kind: str) -> str:
    """``<test_id>.visible.npz`` / ``<test_id>.hidden.npz`` in ``inputs/`` and ``outputs/``."""
    if kind not in ("visible", "hidden"):
        raise ValueError(f"kind must be 'visible' or 'hidden', got {kind!r}")
    return f"{checked_test_id(test_id)}.{kind}.npz"


def visible_file_name(test_id: str) -> str:
    """``<test_id>.npz``, the shipped file in the release's ``checks/`` folder."""
    return f"{checked_test_id(test_id)}.npz"


def checked_test_id(test_id: object) -> str:
    """A test id is a grade id and a file name stem, so it must match nbgrader's pattern."""
    if not isinstance(test_id, str) or not TEST_ID_PATTERN.fullmatch(test_id):
        raise ValueError(
            f"test id {test_id!r} is not a grade id: use letters, digits, '_' and '-' only"
        )
    return test_id


def input_key(case: int, name: str) -> str:
    return f"case{case}/in/{name}"


def output_key(case: int, name: str) -> str:
    return f"case{case}/out/{name}"


def error_key(case: int) -> str:
    return f"case{case}/error"


def forbidden_key(case: int) -> str:
    return f"case{case}/forbidden"


def cap_error_text(text: str) -> str:
    """Cut an error text to :data:`ERROR_CAP_BYTES` UTF-8 bytes without splitting a char."""
    return text.encode("utf-8", "replace")[:ERROR_CAP_BYTES].decode("utf-8", "ignore")


# ----------------------------------------------------------------------------- writing


def write_case_file(path: str | PathLike[str], meta: CaseMeta, cases: Sequence[CaseData]) -> Path:
    """Write a case file atomically (temporary file, fsync, rename); return its path.

    Arrays go through ``np.lib.format.write_array(..., allow_pickle=False)``, so an
    object array raises instead of being pickled.
    """
    path = Path(path)
    if len(cases) != meta.num_cases:
        raise ValueError(f"meta says {meta.num_cases} cases but {len(cases)} were given")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                _write_entry(archive, META_KEY, np.array(meta.to_json()))
                for index, case in enumerate(cases):
                    for name, value in case.inputs.items():
                        _write_entry(archive, input_key(index, _checked_name(name)), value)
                    for name, value in case.outputs.items():
                        _write_entry(archive, output_key(index, _checked_name(name)), value)
                    if case.error is not None:
                        _write_entry(
                            archive, error_key(index), np.array(cap_error_text(case.error))
                        )
                    if case.forbidden is not None:
                        text = cap_error_text(case.forbidden)
                        _write_entry(archive, forbidden_key(index), np.array(text))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        # After a successful rename this is a no-op; after a failure it removes the debris.
        temporary.unlink(missing_ok=True)
    return path


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"array name {name!r} must be a Python identifier of <= 64 chars")
    return name


def _write_entry(archive: zipfile.ZipFile, key: str, value: np.ndarray) -> None:
    array = np.asarray(value)
    if array.dtype.kind not in NUMERIC_KINDS + "U":
        raise ValueError(f"{key}: dtype {array.dtype} cannot be stored; only numbers and text")
    with archive.open(key + ".npy", "w") as entry:
        np.lib.format.write_array(entry, array, allow_pickle=False)


# ----------------------------------------------------------------------------- reading


def read_capped(path: str | PathLike[str], max_bytes: int) -> bytes:
    """Read a regular file of at most ``max_bytes`` bytes, refusing symlinks and FIFOs.

    ``O_NOFOLLOW`` stops a sandboxed program from pointing an outputs file at some other
    file; ``O_NONBLOCK`` plus the ``S_ISREG`` check stops a FIFO from hanging the reader.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise CaseFileError(f"cannot open {Path(path).name}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CaseFileError(f"{Path(path).name} is not a regular file")
        if info.st_size > max_bytes:
            raise CaseFileError(
                f"{Path(path).name} is {info.st_size} bytes, over the limit of {max_bytes} bytes"
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # the file grew after fstat
        raise CaseFileError(f"{Path(path).name} is over the limit of {max_bytes} bytes")
    return data


@dataclass(frozen=True)
class EntryKey:
    """A parsed entry name: ``case<case>/<section>/<name>``, or the case's error."""

    case: int
    section: str
    """``"in"``, ``"out"``, ``"error"`` or ``"forbidden"``."""
    name: str


def parse_key(key: str) -> EntryKey | None:
    """Parse a case entry name; ``None`` for anything outside the grammar."""
    match = _KEY_PATTERN.fullmatch(key)
    if match is None:
        return None
    if match["error"]:
        return EntryKey(int(match["case"]), "error", "error")
    if match["forbidden"]:
        return EntryKey(int(match["case"]), "forbidden", "forbidden")
    return EntryKey(int(match["case"]), match["section"], match["name"])


class CaseArchive:
    """A case file opened for careful, entry-by-entry reading.

    Opening checks the file as a whole (size, zip structure, entry count and total size,
    duplicate names) and raises :class:`CaseFileError`. Entries are then validated one
    at a time, so a bad entry spoils only its case: :meth:`header` and :meth:`array`
    raise :class:`CaseFileError` for that entry alone.
    """

    def __init__(self, path: str | PathLike[str], limits: LoadLimits | None = None) -> None:
        self.limits = limits or LoadLimits()
        self.name = Path(path).name
        data = read_capped(path, self.limits.max_file_bytes)
        try:
            # zipfile tolerates bytes before the archive and np.load does not (it then
            # reads a .npy, or refuses a "pickle"): only a file that starts as a zip is one.
            if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                raise ValueError("not a zip")
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except Exception:  # zipfile raises many kinds on crafted bytes; its messages may
            # quote the file (names, bytes), so say only what went wrong
            raise CaseFileError(f"{self.name} is not a valid .npz archive") from None
        if len(infos) > self.limits.max_entries:
            raise CaseFileError(f"{self.name} has {len(infos)} entries, over the limit")
        total = sum(info.file_size for info in infos)
        if total > self.limits.max_total_bytes:
            raise CaseFileError(
                f"{self.name} claims {total} bytes of arrays, over the limit of "
                f"{self.limits.max_total_bytes} bytes"
            )
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.filename.endswith(".npy") or info.compress_type not in _ALLOWED_COMPRESSION:
                continue  # never read: not something a case file may hold
            key = info.filename[: -len(".npy")]
            if key in self._infos:
                # The name itself is not quoted: it is text the sandbox chose.
                raise CaseFileError(f"{self.name} holds two entries with the same name")
            self._infos[key] = info
        try:
            self._npz = np.lib.npyio.NpzFile(io.BytesIO(data), allow_pickle=False)
        except Exception:
            self._zip.close()
            raise CaseFileError(f"{self.name} is not a valid .npz archive") from None

    def __enter__(self) -> CaseArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._npz.close()
        self._zip.close()

    @property
    def keys(self) -> tuple[str, ...]:
        """Entry names (without ``.npy``) in the order they are stored."""
        return tuple(self._infos)

    def entries(self) -> list[tuple[str, EntryKey]]:
        """Case entries that follow the naming grammar, in stored order."""
        parsed = ((key, parse_key(key)) for key in self._infos)
        return [(key, entry) for key, entry in parsed if entry is not None]

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype of an entry, read from its ``.npy`` header without its data.

        Raises :class:`CaseFileError` unless the header is a plain version 1/2 header of
        a non-object, non-structured dtype whose declared size matches the bytes present.
        """
        info = self._infos.get(key)
        if info is None:
            raise EntryError(key, "is missing")
        try:
            with self._zip.open(info) as entry:
                version = np.lib.format.read_magic(entry)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(entry, 4096)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(entry, 4096)
                else:
                    raise EntryError(key, f"uses an unsupported .npy version {version}")
                header_bytes = entry.tell()
        except EntryError:
            raise
        except Exception:  # any parse failure of untrusted bytes means "unreadable"; the
            # library's message would quote the header, so it is not passed on
            raise EntryError(key, "has an unreadable .npy header") from None
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise EntryError(key, f"is not stored as plain numbers ({dtype_text(dtype)})")
        if len(shape) > self.limits.max_ndim:
            raise EntryError(key, f"has {len(shape)} dimensions, over the limit")
        claimed = math.prod(shape) * dtype.itemsize
        if claimed != info.file_size - header_bytes:
            raise EntryError(
                key, f"declares {claimed} bytes of data but holds {info.file_size - header_bytes}"
            )
        return tuple(int(size) for size in shape), dtype

    def array(self, key: str, kinds: str = NUMERIC_KINDS) -> np.ndarray:
        """Load one entry after checking its header; its dtype kind must be in ``kinds``."""
        _, dtype = self.header(key)
        if dtype.kind not in kinds:
            raise EntryError(key, f"is not stored as numbers ({dtype_text(dtype)})")
        try:
            array = self._npz[key]
        except Exception:  # truncated or corrupt data behind a valid header
            raise EntryError(key, "cannot be loaded: its data is damaged") from None
        return np.asarray(array)

    def text(self, key: str) -> str:
        """Load a 0-d unicode entry (``__meta__``, ``case<i>/error``) of bounded length."""
        shape, dtype = self.header(key)
        if dtype.kind != "U" or shape != ():
            raise EntryError(key, "must be a 0-d text array")
        if dtype.itemsize // 4 > self.limits.max_text_chars:
            raise EntryError(key, f"is longer than {self.limits.max_text_chars} characters")
        return str(self.array(key, kinds="U")[()])

    def meta(self) -> CaseMeta:
        """The parsed ``__meta__`` entry."""
        return CaseMeta.from_json(self.text(META_KEY))


def dtype_text(dtype: np.dtype) -> str:
    """A dtype for a message; field names of a structured dtype are file content, so hidden."""
    if dtype.fields is not None:
        return "a structured dtype"
    return f"dtype {dtype}"


def read_case_file(path: str | PathLike[str], limits: LoadLimits | None = None) -> CaseFile:
    """Load a whole case file, validating everything; any problem raises CaseFileError.

    Used for files that should be perfect (inputs written by the grader, the shipped
    visible cases). Cases keep their arrays in stored order, which for inputs is the
    order of the function's parameters.
    """
    with CaseArchive(path, limits) as archive:
        meta = archive.meta()
        cases = [CaseData() for _ in range(meta.num_cases)]
        for key in archive.keys:
            if key == META_KEY:
                continue
            entry = parse_key(key)
            if entry is None or entry.case >= meta.num_cases:
                raise CaseFileError(f"{archive.name} has an unexpected entry {key!r}")
            case = cases[entry.case]
            if entry.section == "error":
                case.error = archive.text(key)
            elif entry.section == "forbidden":
                case.forbidden = archive.text(key)
            elif entry.section == "in":
                case.inputs[entry.name] = archive.array(key)
            else:
                case.outputs[entry.name] = archive.array(key)
    return CaseFile(meta=meta, cases=cases)
