"""Score histogram of one assignment or notebook, as a PNG for the course team.

Drawn on matplotlib's Agg canvas directly (no pyplot): no display is needed, no global
backend is switched, and figures are not kept alive in pyplot's registry.

Bins are centred on "round" scores: the bin width is the smallest of 0.5, 1, 2, 2.5, 5,
10, 20, 25, 50, ... that gives at most :data:`MAX_BINS` bins, and bins are centred on
0, w, 2w, ... so that a full score and a score one step lower never share a bar. With no
scores at all the plot is still written, with an empty axis saying "no submissions":
a report generated before anyone submits should not fail.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autograder.files import atomic_write_bytes

MAX_BINS = 20


def bin_width(max_score: float) -> float:
    """The smallest round width (at least 0.5) giving at most MAX_BINS bins up to max_score."""
    exponent = math.floor(math.log10(max_score / MAX_BINS))
    for power in (exponent, exponent + 1):
        for step in (1.0, 2.0, 2.5, 5.0):
            # Half points are the finest partial credit worth a bar of its own.
            width = max(step * 10.0**power, 0.5)
            if max_score / width <= MAX_BINS:
                return width
    # max_score / MAX_BINS < 10 ** (exponent + 1), so the loop has returned by now.
    raise AssertionError("unreachable")


def bin_edges(max_score: float) -> np.ndarray:
    """Edges of bins of :func:`bin_width` centred on 0, w, 2w, ... up to max_score."""
    width = bin_width(max_score)
    count = math.ceil(max_score / width - 1e-9) + 1
    return (np.arange(count + 1) - 0.5) * width


def _checked(scores: Sequence[float], max_score: float) -> np.ndarray:
    """Scores as a float array; anything unplottable is the caller's bug, so say which."""
    if isinstance(max_score, bool) or not isinstance(max_score, int | float):
        raise TypeError(f"max_score must be a number, got {type(max_score).__name__}")
    if not math.isfinite(max_score) or max_score <= 0:
        raise ValueError(f"max_score must be positive and finite, got {max_score}")
    values = np.asarray(list(scores), dtype=float)
    if values.ndim != 1:
        raise ValueError(f"scores must be a flat list of numbers, got shape {values.shape}")
    bad = values[~np.isfinite(values) | (values < 0) | (values > max_score)]
    if bad.size:
        raise ValueError(
            f"scores must lie in [0, {max_score:g}]; got {bad[:5].tolist()}: check that "
            "max_score is the maximum of the same notebooks the scores are for"
        )
    return values


def plot_score_histogram(
    scores: Sequence[float],
    max_score: float,
    path: str | os.PathLike[str],
    title: str,
) -> Path:
    """Draw the histogram of ``scores`` (each in ``[0, max_score]``) to the PNG ``path``.

    The mean and median are marked with vertical lines, listed in the legend. Returns the
    path; the file is written atomically.
    """
    values = _checked(scores, max_score)
    edges = bin_edges(float(max_score))
    figure = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(f"score (out of {max_score:g})")
    axes.set_ylabel("students")
    axes.set_xlim(edges[0], edges[-1])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if values.size == 0:
        axes.set_ylim(0, 1)
        axes.text(
            0.5,
            0.5,
            "no submissions",
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="0.4",
        )
    else:
        axes.hist(values, bins=edges, color="#5c8ccf", edgecolor="white")
        mean, median = float(np.mean(values)), float(np.median(values))
        axes.axvline(mean, color="#c62828", linewidth=2, label=f"mean {mean:.2f}")
        axes.axvline(
            median, color="#2e7d32", linewidth=2, linestyle="--", label=f"median {median:.2f}"
        )
        axes.legend(loc="upper left", title=f"{values.size} students")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue())
