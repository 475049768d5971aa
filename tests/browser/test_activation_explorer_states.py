"""The activation explorer's failure and dead-unit states, as a student sees them in the
browser: the student's failing function named with what it returned, the reference
standing in, and dead units drawn in red."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from . import harness

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).parent / "notebooks" / "activations_failing.ipynb"
# tab:red at the bars' alpha of 0.45 over the white axes background.
DEAD_RED = 255 - 0.45 * (255 - np.array([214.0, 39.0, 40.0]))


def _red_pixels(output) -> int:
    picture = output.locator("img").first.screenshot(animations="disabled")
    pixels = np.asarray(Image.open(io.BytesIO(picture)).convert("RGB"), dtype=float)
    return int(np.sum(np.all(np.abs(pixels - DEAD_RED) < 12, axis=-1)))


def test_dead_units_show_red_and_a_none_returning_backward_is_named(page, jupyter_server):
    harness.assert_saved_without_outputs(NOTEBOOK)
    harness.open_notebook(page, jupyter_server, NOTEBOOK)
    harness.run_all_cells(page)
    (output,) = harness.widget_outputs(page)
    before = harness.settle(page, output)
    shown = " ".join(before.texts)
    assert "relu:" in shown and "units are dead" in shown and "0.0% of 128" not in shown
    assert _red_pixels(output) > 500, "dead units are not drawn in red"

    output.locator(harness.CONTROL_SELECTORS["dropdown"]).select_option(label="tanh")
    after = harness.wait_for_change(output, before, "the activation dropdown")
    after = harness.settle(page, output)
    shown = " ".join(after.texts)
    assert (
        "Using the reference implementation: your tanh_backward returned None "
        "(a missing `return`?) on a small input." in shown
    ), shown
    assert "Error" not in shown and "tanh:" in shown
