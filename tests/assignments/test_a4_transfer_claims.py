"""Claims of transfer.ipynb, section 5, proved by running the notebook's experiment.

The notebook says how well the source network does on its own classes and how the
strategies compare on the four target tasks. This test runs the notebook's data and
training cells (the data, ``fit``, ``pretrain``, ``make_model``, ``run_experiment``)
with the course's references in place of the student's classes, and reads each stated
figure from the notebook's text.
"""

from __future__ import annotations

import functools

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.exercises.a4 import transfer as ex

from .notebook_text import claim, code_cells, number

NAME = "a4/transfer"

matplotlib.use("Agg")


def _cell(marker: str) -> str:
    (cell,) = [source for source in code_cells(NAME) if marker in source]
    return cell


def experiment_namespace() -> dict[str, object]:
    """The notebook's data and training cells, run with the references of its classes."""
    import matplotlib.pyplot as plt

    namespace: dict[str, object] = {"np": np, "torch": torch, "nn": nn, "plt": plt}
    namespace.update({name: getattr(ex, name) for name in ex.__all__})
    namespace["WIDTHS"] = (8, 16, 32)
    data = _cell("load_shapes(")
    exec(data[: data.index("fig, axes")], namespace)  # noqa: S102 (the data, not the figure)
    exec(_cell("def run_experiment"), namespace)  # noqa: S102
    return namespace


@functools.cache
def _results() -> tuple[float, dict[str, dict[str, dict[str, float]]]]:
    """The source accuracy and the experiment's results, as the notebook computes them."""
    run = experiment_namespace()
    torch.set_num_threads(1)
    pretrained = run["pretrain"](seed=0)  # the notebook's calls
    source_accuracy = run["accuracy"](pretrained, *run["source_test"])
    return source_accuracy, run["run_experiment"](pretrained, seed=0)


def test_the_notebook_uses_its_widths_in_the_experiment():
    claim(NAME, r"WIDTHS = \(8, 16, 32\)", in_code=True)


@pytest.mark.slow
def test_the_source_network_reaches_the_stated_accuracy():
    stated = number(NAME, r"reaches a test accuracy \*\*above {num}%\*\* on its own four") / 100
    source_accuracy, _ = _results()
    assert source_accuracy > stated, f"source accuracy {source_accuracy:.1%}"


@pytest.mark.slow
def test_pretrained_features_beat_scratch_on_little_similar_data():
    margin = number(NAME, r"beat training from scratch by \*\*more than {num} points\*\*") / 100
    _, results = _results()
    cell = results["similar"]["little"]
    for strategy in ("frozen (top)", "fine-tune"):
        assert cell[strategy] > cell["scratch"] + margin, cell


@pytest.mark.slow
def test_frozen_top_features_fall_behind_on_a_lot_of_different_data():
    margin = number(NAME, r"the frozen top features stay \*\*more than {num} points\*\*") / 100
    best = number(NAME, r"training from scratch is the best of all, above \*\*{num}%\*\*") / 100
    _, results = _results()
    cell = results["different"]["a lot"]
    assert cell["fine-tune"] > cell["frozen (top)"] + margin, cell
    assert cell["scratch"] == max(cell.values()) and cell["scratch"] > best, cell
