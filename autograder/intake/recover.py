"""Salvage cells from a submission whose JSON does not parse.

Editors crash mid-save, students hand-edit files, uploads get cut off. When the strict
parse fails, two tolerant passes run over the raw text, in this order:

1. :func:`lenient_loads` drops trailing commas outside strings and parses again; if
   that works the whole notebook is back.
2. :func:`salvage_cells` decodes every intact cell object on its own (a cell object is
   a ``{`` that opens an element of the ``cells`` array), then, for each answer
   ``"grade_id"`` marker left outside those cells, decodes just the ``"source"`` field
   of the damaged cell around it.

An answer whose source is cut off is lost rather than partially kept: half a function
only turns into a confusing syntax error, and a blank scores the same zero.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from autograder.intake.status import SubmittedCell, join_source

#: A JSON string, unrolled so long strings do not backtrack per character.
_STRING_OR_TRAILING_COMMA = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|,(\s*[\]}])')
#: A ``{`` opening an array element whose first key is one nbformat puts first in a cell
#: (sorted output starts with attachments or cell_type; other writers with id, metadata,
#: source). Requiring ``[`` or ``,`` before it excludes dicts that are values of keys,
#: such as a release's ``"nbgrader": {"cell_type": ...}``; no colon is required, so a
#: cell whose first key lost its colon still bounds its neighbours.
_CELL_START = re.compile(r'[\[,]\s*(\{)\s*"(?:attachments|cell_type|id|metadata|source)"')
#: The quote before a key must not be escaped, or the "key" is text inside a string.
_GRADE_ID = re.compile(r'(?<!\\)"grade_id"\s*:\s*"([A-Za-z0-9_\-]+)"')
_SOURCE_KEY = re.compile(r'(?<!\\)"source"\s*:\s*')
_CELL_TYPE_KEY = re.compile(r'(?<!\\)"cell_type"\s*:\s*"(code|markdown|raw)"')

#: Bounds the work a hostile file can cause: each failed attempt may scan to the end.
MAX_DECODE_ATTEMPTS = 2000


@dataclass(frozen=True)
class Salvage:
    """What the tolerant scan found, in file order."""

    cells: tuple[SubmittedCell, ...]
    #: Answer ids whose marker was found but whose source could not be decoded.
    damaged_ids: frozenset[str]
    #: Whether the scan stopped early at :data:`MAX_DECODE_ATTEMPTS`.
    exhausted: bool = False


def drop_trailing_commas(text: str) -> str:
    """Remove commas directly before ``]`` or ``}``, leaving string contents untouched."""

    def keep_strings(match: re.Match[str]) -> str:
        closing = match.group(1)
        return match.group(0) if closing is None else closing

    return _STRING_OR_TRAILING_COMMA.sub(keep_strings, text)


def lenient_loads(text: str) -> Any | None:
    """Parse ``text`` after dropping trailing commas; ``None`` if that does not help."""
    repaired = drop_trailing_commas(text)
    if repaired == text:
        return None
    try:
        return json.loads(repaired)
    except (ValueError, RecursionError):
        return None


def salvage_cells(text: str, answer_ids: Collection[str]) -> Salvage:
    """Recover intact cells, then the sources of damaged answer cells, from broken JSON."""
    starts = [match.start(1) for match in _CELL_START.finditer(text)]
    whole, exhausted = _decode_whole_cells(text, starts)
    spans = [(start, end) for start, end, _ in whole]
    found: list[tuple[int, SubmittedCell]] = [
        (start, SubmittedCell.from_json(0, obj)) for start, _, obj in whole
    ]
    damaged: set[str] = set()
    regions_done: set[int] = set()
    for marker in _GRADE_ID.finditer(text):
        grade_id = marker.group(1)
        if grade_id not in answer_ids or _inside(marker.start(), spans):
            continue
        region = _region_around(marker.start(), starts, len(text))
        if region[0] in regions_done:
            continue
        regions_done.add(region[0])
        cell = _cell_from_fields(text, region, marker.start(), grade_id)
        if cell.source is None:
            damaged.add(grade_id)
        found.append((region[0], cell))
    found.sort(key=lambda item: item[0])
    cells = tuple(replace(cell, position=index) for index, (_, cell) in enumerate(found))
    recovered = {cell.grade_id for cell in cells if cell.source is not None}
    return Salvage(cells=cells, damaged_ids=frozenset(damaged - recovered), exhausted=exhausted)


def _decode_whole_cells(
    text: str, starts: list[int]
) -> tuple[list[tuple[int, int, dict[str, Any]]], bool]:
    """Decode each cell object that is intact; return (start, end, cell) and exhaustion."""
    decoder = json.JSONDecoder()
    decoded: list[tuple[int, int, dict[str, Any]]] = []
    attempts = 0
    end_of_last = -1
    for start in starts:
        if start < end_of_last:
            continue  # a candidate inside an intact cell is part of that cell
        if attempts >= MAX_DECODE_ATTEMPTS:
            return decoded, True
        attempts += 1
        try:
            obj, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if _looks_like_cell(obj):
            decoded.append((start, end, obj))
            end_of_last = end
    return decoded, False


def _looks_like_cell(obj: object) -> bool:
    """A salvaged object counts as a cell only with a type and a source."""
    return isinstance(obj, dict) and isinstance(obj.get("cell_type"), str) and "source" in obj


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``position`` falls in one of the sorted, disjoint ``spans``."""
    index = bisect.bisect_right(spans, (position, float("inf"))) - 1
    return index >= 0 and spans[index][0] <= position < spans[index][1]


def _region_around(position: int, starts: list[int], length: int) -> tuple[int, int]:
    """The stretch of text from the cell start before ``position`` to the next one."""
    index = bisect.bisect_right(starts, position)
    low = starts[index - 1] if index > 0 else 0
    high = starts[index] if index < len(starts) else length
    return low, high


def _cell_from_fields(
    text: str, region: tuple[int, int], marker: int, grade_id: str
) -> SubmittedCell:
    """Rebuild what can be read of a damaged cell: its type and its source, if intact."""
    low, high = region
    type_match = _CELL_TYPE_KEY.search(text, low, high)
    return SubmittedCell(
        position=0,
        cell_type=type_match.group(1) if type_match else None,
        source=_nearest_source(text, low, high, marker),
        grade_id=grade_id,
        nbgrader=None,
        metadata_known=False,
    )


def _nearest_source(text: str, low: int, high: int, marker: int) -> str | None:
    """The ``"source"`` value in ``text[low:high]`` that belongs with the marker.

    nbformat writes a cell's source after its metadata, so values after the marker are
    tried first, nearest first; then those before it (other writers put source first).
    """
    keys = list(_SOURCE_KEY.finditer(text, low, high))
    after = [key for key in keys if key.start() > marker]
    before = [key for key in reversed(keys) if key.start() < marker]
    decoder = json.JSONDecoder()
    for key in after + before:
        try:
            value, end = decoder.raw_decode(text, key.end())
        except (ValueError, RecursionError):
            continue
        source = join_source(value)
        if source is not None and end <= high:
            return source
    return None
