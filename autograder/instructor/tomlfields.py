"""Reading TOML tables into typed values, with errors that name the file, key and fix."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

from autograder.instructor.errors import CourseFileError

_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a :class:`CourseFileError` saying why it cannot be read."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise CourseFileError(
            f"{path} does not exist: create it (see docs/INSTRUCTORS.md)"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CourseFileError(f"{path.name}: cannot be read as TOML ({error})") from error


class Table:
    """One TOML table being read; ``where`` is its path, e.g. ``assignments[1].notebooks[0]``."""

    def __init__(self, file: str, where: str, data: object) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, Mapping):
            raise self.error(f"must be a table, got {_describe(data)}")
        self.data: Mapping[str, Any] = data

    def error(self, message: str) -> CourseFileError:
        prefix = f"{self.file}: {self.where}: " if self.where else f"{self.file}: "
        return CourseFileError(prefix + message)

    def only(self, known: Iterable[str]) -> None:
        """Refuse keys outside ``known``, suggesting the closest known key."""
        known = list(known)
        for key in self.data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                raise self.error(f"unknown key {key!r} ({hint})")

    def get(self, key: str, kind: type, default: Any = ..., example: str = "") -> Any:
        """The value of ``key`` checked against ``kind``; ``default`` when it is optional."""
        if key not in self.data:
            if default is not ...:
                return default
            fix = f": add {key} = {example}" if example else ""
            raise self.error(f"missing required key {key!r}{fix}")
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            wanted = _TYPE_NAMES.get(kind, kind.__name__)
            raise self.error(f"{key!r} must be {wanted}, got {_describe(value)}")
        return value

    def tables(self, key: str, required: bool = True) -> list[Table]:
        """The array of tables under ``key`` (``[[key]]`` in TOML)."""
        if key not in self.data:
            if required:
                raise self.error(f"missing required key {key!r}: add at least one [[{key}]] table")
            return []
        items = self.data[key]
        if not isinstance(items, list):
            raise self.error(
                f"{key!r} must be an array of tables ([[{key}]]), got {_describe(items)}"
            )
        prefix = f"{self.where}." if self.where else ""
        return [Table(self.file, f"{prefix}{key}[{i}]", item) for i, item in enumerate(items)]

    def sub(self, key: str) -> Table:
        """The table under ``key``, empty when absent."""
        prefix = f"{self.where}." if self.where else ""
        return Table(self.file, f"{prefix}{key}", self.data.get(key, {}))


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"
