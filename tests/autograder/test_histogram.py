"""Score histograms: valid PNG files, sensible bins, clear errors."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from autograder.reports.histogram import MAX_BINS, bin_edges, bin_width, plot_score_histogram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, after checking the magic bytes."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_writes_a_png_of_the_figure_size(tmp_path: Path) -> None:
    path = plot_score_histogram([3, 7.5, 12, 12, 9], 12, tmp_path / "plots" / "a1.png", "a1")
    assert path == tmp_path / "plots" / "a1.png"
    assert path.stat().st_size > 1000
    assert _png_size(path) == (700, 400)
    assert [p.name for p in path.parent.iterdir()] == ["a1.png"]  # no temporary left


def test_empty_scores_still_write_a_no_submissions_plot(tmp_path: Path) -> None:
    empty = plot_score_histogram([], 10, tmp_path / "empty.png", "a1 (nothing yet)")
    full = plot_score_histogram([5.0], 10, tmp_path / "full.png", "a1 (nothing yet)")
    assert _png_size(empty) == (700, 400)
    assert empty.read_bytes() != full.read_bytes()


def test_overwrites_an_existing_plot(tmp_path: Path) -> None:
    path = tmp_path / "a1.png"
    path.write_bytes(b"old")
    plot_score_histogram([1, 2], 2, path, "a1")
    assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("max_score", "width"),
    [(1, 0.5), (10, 0.5), (12, 1.0), (30, 2.0), (50, 2.5), (100, 5.0), (1000, 50.0)],
)
def test_bin_width_is_round_and_bins_are_few(max_score: float, width: float) -> None:
    assert bin_width(max_score) == width
    assert max_score / width <= MAX_BINS


def test_full_and_next_lower_score_fall_in_different_bins() -> None:
    edges = bin_edges(12.0)
    counts, _ = np.histogram([11.0, 12.0], bins=edges)
    assert counts.max() == 1
    assert edges[0] < 0 < edges[1] and edges[-2] < 12 < edges[-1]


@pytest.mark.parametrize(
    ("scores", "max_score", "error", "match"),
    [
        ([13.0], 12, ValueError, r"scores must lie in \[0, 12\]; got \[13.0\]"),
        ([-1.0], 12, ValueError, r"got \[-1.0\]"),
        ([math.nan], 12, ValueError, "scores must lie in"),
        ([1.0], 0, ValueError, "max_score must be positive and finite, got 0"),
        ([1.0], math.inf, ValueError, "max_score must be positive"),
        ([1.0], "12", TypeError, "max_score must be a number, got str"),
        ([[1.0, 2.0]], 12, ValueError, r"flat list of numbers, got shape \(1, 2\)"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    tmp_path: Path, scores: list, max_score: object, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        plot_score_histogram(scores, max_score, tmp_path / "bad.png", "bad")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
