"""Claims of fast_conv.ipynb, read from the notebook's text and proved.

The notebook says that the fast convolution students write is the algorithm that
``benchmarks/bench_conv.py`` measures (the library's ``dlcourse.functional.conv_fast``),
quotes that benchmark's figures for its three layers (torch faster on each), counts how
often col2im meets each pixel (corners 4, edges 6, interior 9), states in a rubric the
size of ``cols`` and the multiply-adds of the race's largest layer, and says the loops are
hundreds to thousands of times slower than im2col. The counts are proved with torch; the
speed claim with the notebook's own solution against the course's loops, as a ratio with
a wide margin (it is about a thousand on an idle or a busy machine alike).
"""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from dlcourse.exercises.a3 import fast_conv as ex
from dlcourse.functional import conv_fast
from dlcourse.functional.conv_naive import conv_forward_naive

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "solutions" / "a3" / "fast_conv.ipynb"
BENCHMARK = REPO / "benchmarks" / "bench_conv.py"


@pytest.fixture(scope="module")
def cells() -> list[nbformat.NotebookNode]:
    return nbformat.read(NOTEBOOK, as_version=4).cells


@pytest.fixture(scope="module")
def text(cells) -> str:
    return "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")


@pytest.fixture(scope="module")
def solution(cells) -> dict:
    """The notebook's setup and answer cells (solution regions kept), run in a namespace."""
    namespace: dict = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade_id") == "setup"):
            source = "\n".join(
                line for line in cell.source.split("\n") if "### BEGIN" not in line
                and "### END" not in line
            )  # fmt: skip
            exec(compile(source, f"<{meta['grade_id']}>", "exec"), namespace)
    return namespace


def _benchmark_constant(name: str) -> object:
    """A module-level constant of bench_conv.py, read without importing the script."""
    tree = ast.parse(BENCHMARK.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"bench_conv.py has no constant {name}")


def test_the_benchmark_times_the_librarys_im2col_convolution():
    tree = ast.parse(BENCHMARK.read_text())
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("dlcourse.functional.conv_fast", "conv_forward_fast") in imported
    assert ("dlcourse.functional.conv_fast", "conv_backward_fast") in imported


def test_the_students_fast_convolution_computes_what_the_benchmarked_one_does(solution):
    """The notebook's im2col solution, the library's conv_fast (what bench_conv times) and
    torch agree on the benchmark's kind of layer and on a grouped, strided, dilated one."""
    rng = np.random.default_rng(0)
    for shape, params in [
        ((3, 4, 6, 9, 9), {"stride": 1, "pad": 1, "dilation": 1, "groups": 1}),
        ((2, 6, 4, 11, 11), {"stride": 2, "pad": 2, "dilation": 2, "groups": 2}),
    ]:
        n, c, f, h, w_side = shape
        x = rng.standard_normal((n, c, h, w_side))
        w = rng.standard_normal((f, c // params["groups"], 3, 3))
        b = rng.standard_normal(f)
        dout_shape = conv_fast.conv_forward_fast(x, w, b, **params)[0].shape
        dout = rng.standard_normal(dout_shape)
        out, cache = solution["conv_forward_fast"](x, w, b, **params)
        grads = solution["conv_backward_fast"](dout, cache)
        lib_out, lib_cache = conv_fast.conv_forward_fast(x, w, b, **params)
        lib_grads = conv_fast.conv_backward_fast(dout, lib_cache)
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        torch_params = {("padding" if k == "pad" else k): v for k, v in params.items()}
        tout = torch.nn.functional.conv2d(tx, tw, tb, **torch_params)
        torch_grads = torch.autograd.grad(tout, (tx, tw, tb), torch.from_numpy(dout))
        np.testing.assert_allclose(out, lib_out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        for mine, library, theirs in zip(grads, lib_grads, torch_grads, strict=True):
            np.testing.assert_allclose(mine, library, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)
    # The graded references are the library's functions, called with the notebook's names.
    assert ex.conv_forward_fast.__module__ == "dlcourse.exercises.a3.fast_conv"
    assert "conv_fast.conv_forward_fast" in Path(ex.__file__).read_text()


def test_the_quoted_benchmark_rows_are_the_benchmarks_layers_and_torch_led_on_each(text):
    ratio_range = r"([\d.]+)x to ([\d.]+)x"
    pattern = rf"\| (\d+) -> (\d+) maps, (\d+)x(\d+) \| {ratio_range} \| {ratio_range} \|"
    rows = re.findall(pattern, text)
    assert len(rows) == 3, "the notebook no longer quotes three benchmark rows"
    measured = {tuple(int(v) for v in row[:4]) for row in rows}
    benchmarked = {(c, f, h, w) for _, c, f, h, w in _benchmark_constant("CONV_SHAPES")}
    assert measured == benchmarked
    assert "torch\n  was faster still on every layer" in text
    for row in rows:
        fwd_low, fwd_high, bwd_low, bwd_high = (float(v) for v in row[4:])
        assert 1 < fwd_low <= fwd_high and 1 < bwd_low <= bwd_high
    # "the largest layer ... falls furthest behind": in both directions, at both ends.
    largest = max(rows, key=lambda row: int(row[1]) * int(row[2]) * int(row[3]) ** 2)
    others = [row for row in rows if row is not largest]
    for column in (4, 5, 6, 7):
        assert all(float(largest[column]) > float(row[column]) for row in others)
    assert "batch 64, 3x3 filters, pad 1, float32, 2 threads" in text
    assert _benchmark_constant("THREADS") == 2


def test_col2im_of_ones_counts_4_6_and_9_windows(text):
    match = re.search(
        r"the corners are read by (\d) windows, the edges by (\d) and the interior by\s+(\d)",
        text,
    )
    assert match, "the notebook no longer states the col2im counts"
    corner, edge, interior = (int(g) for g in match.groups())
    ones = torch.ones(1, 9, 36, dtype=torch.float64)  # 9 taps x 36 windows of a 6x6 map
    counts = torch.nn.functional.fold(ones, (6, 6), 3, padding=1)[0, 0]
    assert counts[0, 0] == corner and counts[0, 3] == edge and counts[3, 3] == interior


def _largest_batch(text: str) -> int:
    """The batch of the race's largest layer, as the question states it."""
    match = re.search(r"largest shape of the race \(batch (\d+), 32\s+channels, 16x16 maps", text)
    assert match, "the question no longer states the race's largest layer"
    return int(match.group(1))


def test_the_question_describes_the_races_largest_layer(cells, text):
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    shapes = ast.literal_eval(re.search(r"SHAPES = (\[.*\])", code).group(1))
    assert max(shapes, key=lambda shape: np.prod(shape)) == (_largest_batch(text), 32, 64, 16, 16)


def test_cols_of_the_largest_race_layer_is_nine_times_the_input(text):
    rows, columns = (int(g.replace(",", "")) for g in re.search(
        r"= (\d+) x ([\d,]+) float32 numbers", text
    ).groups())  # fmt: skip
    megabytes = float(re.search(r"about ([\d.]+) MB; the input", text).group(1))
    x = torch.zeros(_largest_batch(text), 32, 16, 16)
    cols = torch.nn.functional.unfold(x, 3, padding=1)  # (N, C*9, H*W)
    assert (cols.shape[1], cols.shape[0] * cols.shape[2]) == (rows, columns)
    assert round(cols.numel() * 4 / 1e6, 1) == megabytes
    assert "nine times smaller" in text and cols.numel() == 9 * x.numel()


def test_the_largest_race_layer_has_the_stated_multiply_adds(text):
    millions = int(re.search(r"multiply-adds: (\d+) million multiply-adds", text).group(1))
    # Pad with ones instead of zeros so that every product of the layer is counted.
    batch = _largest_batch(text)
    x = torch.nn.functional.pad(
        torch.ones(batch, 32, 16, 16, dtype=torch.float64), (1,) * 4, value=1
    )
    out = torch.nn.functional.conv2d(x, torch.ones(64, 32, 3, 3, dtype=torch.float64))
    assert round(float(out.sum()) / 1e6) == millions


def test_the_loops_are_hundreds_of_times_slower_than_the_notebooks_im2col(text, solution):
    """ "hundreds to thousands of times faster than the loops": at least 100 times, on the
    race's smallest shape (the measured ratio is near a thousand)."""
    assert "hundreds to\nthousands of times faster than the loops" in text
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 16, 16), dtype=np.float32)
    w = rng.standard_normal((8, 3, 3, 3), dtype=np.float32)
    b = np.zeros(8, dtype=np.float32)

    def best(fn, repeat):
        fn()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    loops = best(lambda: conv_forward_naive(x, w, b, pad=1), 1)
    fast = best(lambda: solution["conv_forward_fast"](x, w, b, 1, 1, 1, 1), 5)
    assert loops / fast >= 100
