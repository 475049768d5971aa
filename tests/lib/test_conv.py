"""Naive and fast convolution against torch autograd (float64) and numeric gradients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional import conv_fast
from dlcourse.functional.conv_fast import conv_backward_fast, conv_forward_fast
from dlcourse.functional.conv_naive import conv_backward_naive, conv_forward_naive
from dlcourse.gradcheck import check_layer

RTOL, ATOL = 1e-10, 1e-11
IMPLEMENTATIONS = {
    "naive": (conv_forward_naive, conv_backward_naive),
    "fast": (conv_forward_fast, conv_backward_fast),
}
REPO = Path(__file__).resolve().parents[2]


def _torch_conv(x, w, b, dout, stride=1, pad=0, dilation=1, groups=1, device="cpu"):
    """Output and (dx, dw, db) of torch's conv2d in float64 on ``device``, by autograd."""
    tx, tw, tb = (
        torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True) for a in (x, w, b)
    )
    out = torch.nn.functional.conv2d(
        tx, tw, tb, stride=stride, padding=pad, dilation=dilation, groups=groups
    )
    if dout is None:
        return out.detach().cpu().numpy(), None
    out.backward(torch.tensor(dout, dtype=torch.float64, device=device))
    grads = (tx.grad.cpu().numpy(), tw.grad.cpu().numpy(), tb.grad.cpu().numpy())
    return out.detach().cpu().numpy(), grads


def _random_problem(rng, x_shape, w_shape):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    return x, w, b


def _assert_matches_torch(impl, x, w, b, rng, device="cpu", **hyper):
    forward, backward = IMPLEMENTATIONS[impl]
    out, cache = forward(x, w, b, **hyper)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    ref_out, ref_grads = _torch_conv(x, w, b, dout, device=device, **hyper)
    np.testing.assert_allclose(out, ref_out, rtol=RTOL, atol=ATOL)
    for name, grad, ref in zip(("dx", "dw", "db"), grads, ref_grads, strict=True):
        np.testing.assert_allclose(grad, ref, rtol=RTOL, atol=ATOL, err_msg=name)


# --- the lecture's worked example ------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_conv_reproduces_the_lectures_5x5_image_3x3_filter_feature_map(impl):
    # Intro lecture: sliding the X-shaped 3x3 filter over the 5x5 binary image.
    image = np.array(
        [
            [1, 1, 1, 0, 0],
            [0, 1, 1, 1, 0],
            [0, 0, 1, 1, 1],
            [0, 0, 1, 1, 0],
            [0, 1, 1, 0, 0],
        ],
        dtype=np.float64,
    )
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    forward, _ = IMPLEMENTATIONS[impl]
    out, _ = forward(image[None, None], kernel[None, None], np.zeros(1))
    np.testing.assert_array_equal(out[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_six_5x5_filters_turn_a_3x32x32_image_into_6x28x28_maps(impl, rng):
    forward, _ = IMPLEMENTATIONS[impl]
    x, w, b = _random_problem(rng, (1, 3, 32, 32), (6, 3, 5, 5))
    out, _ = forward(x, w, b)
    assert out.shape == (1, 6, 28, 28)


# --- against torch: named cases and hypothesis-drawn shapes -------------------------------

CASES = {
    "stride_2_pad_0": ((2, 3, 9, 9), (4, 3, 3, 3), {"stride": 2}),
    "pad_2_non_square_input_and_kernel": ((2, 3, 7, 10), (5, 3, 3, 5), {"pad": 2}),
    "kernel_1x1": ((2, 6, 5, 4), (3, 6, 1, 1), {}),
    "kernel_1x1_stride_2": ((2, 4, 7, 7), (8, 4, 1, 1), {"stride": 2}),
    "dilation_2": ((2, 3, 9, 8), (4, 3, 3, 3), {"dilation": 2, "pad": 2}),
    "grouped": ((2, 6, 6, 6), (9, 2, 3, 3), {"groups": 3, "pad": 1}),
    "depthwise": ((2, 4, 6, 7), (4, 1, 3, 3), {"groups": 4, "pad": 1}),
    "depthwise_multiplier_2_stride_2": ((2, 3, 7, 7), (6, 1, 3, 3), {"groups": 3, "stride": 2}),
    "separate_height_width_stride_pad": (
        (2, 3, 8, 10),
        (4, 3, 3, 2),
        {"stride": (1, 2), "pad": (1, 0)},
    ),
    "many_channels_wide_layout": ((3, 8, 6, 6), (4, 8, 3, 3), {"pad": 1}),
    "more_filters_than_taps": ((3, 1, 6, 6), (16, 1, 3, 3), {"pad": 1}),
    # ResNet's stride-2 layers on even maps: (8 + 2 - 3)/2 + 1 = 4.5 and (8 - 1)/2 + 1 = 4.5
    # round down to 4 by default, as in torch.
    "resnet_downsampling_rounded_down": ((2, 4, 8, 8), (8, 4, 3, 3), {"stride": 2, "pad": 1}),
    "resnet_shortcut_rounded_down": ((2, 4, 8, 8), (8, 4, 1, 1), {"stride": 2}),
}


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", CASES)
def test_conv_forward_and_backward_match_torch(impl, case, rng, device):
    x_shape, w_shape, hyper = CASES[case]
    x, w, b = _random_problem(rng, x_shape, w_shape)
    _assert_matches_torch(impl, x, w, b, rng, device=device, **hyper)


@st.composite
def conv_problems(draw):
    """Small convolution problems whose output-size arithmetic is exact."""
    groups = draw(st.integers(1, 3))
    c_per_group = draw(st.integers(1, 2))
    f_per_group = draw(st.integers(1, 2))
    hyper, sizes, kernel = {}, [], []
    for axis in ("h", "w"):
        k = draw(st.integers(1, 3), label=f"kernel_{axis}")
        s = draw(st.integers(1, 3), label=f"stride_{axis}")
        d = draw(st.integers(1, 2), label=f"dilation_{axis}")
        out = draw(st.integers(1, 4), label=f"out_{axis}")
        # The input size that makes (size + 2p - d(k - 1) - 1) / s + 1 == out exactly.
        span = (out - 1) * s + d * (k - 1) + 1
        p = draw(st.integers(0, min(2, (span - 1) // 2)), label=f"pad_{axis}")
        sizes.append(span - 2 * p)
        kernel.append(k)
        hyper.setdefault("stride", []).append(s)
        hyper.setdefault("pad", []).append(p)
        hyper.setdefault("dilation", []).append(d)
    n = draw(st.integers(1, 3))
    x_shape = (n, groups * c_per_group, *sizes)
    w_shape = (groups * f_per_group, c_per_group, *kernel)
    hyper = {k: tuple(v) for k, v in hyper.items()}
    hyper["groups"] = groups
    return x_shape, w_shape, hyper, draw(st.integers(0, 2**16))


@given(problem=conv_problems())
def test_fast_conv_matches_torch_on_drawn_shapes(problem):
    x_shape, w_shape, hyper, seed = problem
    rng = np.random.default_rng(seed)
    x, w, b = _random_problem(rng, x_shape, w_shape)
    _assert_matches_torch("fast", x, w, b, rng, **hyper)


@given(problem=conv_problems())
def test_naive_conv_matches_torch_on_drawn_shapes(problem):
    x_shape, w_shape, hyper, seed = problem
    rng = np.random.default_rng(seed)
    x, w, b = _random_problem(rng, x_shape, w_shape)
    _assert_matches_torch("naive", x, w, b, rng, **hyper)


@given(problem=conv_problems())
def test_naive_and_fast_conv_agree_and_read_each_others_cache(problem):
    x_shape, w_shape, hyper, seed = problem
    rng = np.random.default_rng(seed)
    x, w, b = _random_problem(rng, x_shape, w_shape)
    out_naive, cache_naive = conv_forward_naive(x, w, b, **hyper)
    out_fast, cache_fast = conv_forward_fast(x, w, b, **hyper)
    np.testing.assert_allclose(out_fast, out_naive, rtol=RTOL, atol=ATOL)
    dout = rng.standard_normal(out_fast.shape)
    for grad_a, grad_b in zip(
        conv_backward_naive(dout, cache_fast), conv_backward_fast(dout, cache_naive), strict=True
    ):
        np.testing.assert_allclose(grad_a, grad_b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "hyper"),
    [
        ((5, 8, 6, 5), (4, 8, 3, 3), {"pad": 1}),  # wide layout (stride 1)
        ((5, 2, 7, 6), (4, 2, 3, 3), {"pad": (2, 1), "dilation": 2}),  # wide, dilated
        ((5, 4, 7, 5), (6, 2, 3, 3), {"stride": 2, "groups": 2}),  # strided, grouped
        ((5, 1, 6, 5), (12, 1, 3, 3), {"pad": 1}),  # stride 1, fewer taps than filters
        ((5, 3, 6, 5), (6, 1, 3, 3), {"pad": 1, "groups": 3}),  # depthwise
    ],
)
@pytest.mark.parametrize("images_per_chunk", [1, 2])
def test_fast_conv_is_exact_across_chunk_boundaries(
    x_shape, w_shape, hyper, images_per_chunk, rng, monkeypatch
):
    # Force chunks of 1 or 2 images; with 5 images, chunks of 2 leave a short last one.
    monkeypatch.setattr(conv_fast, "_CHUNK_COLUMNS", 1)
    monkeypatch.setattr(conv_fast, "_CHUNK_BYTES", 1 << 40)
    x, w, b = _random_problem(rng, x_shape, w_shape)
    _, cache = conv_forward_fast(x, w, b, **hyper)
    columns = conv_fast._Layout(cache.geometry, x.itemsize).image_columns
    monkeypatch.setattr(conv_fast, "_CHUNK_COLUMNS", images_per_chunk * columns)
    assert conv_fast._Layout(cache.geometry, x.itemsize).chunk == images_per_chunk
    _assert_matches_torch("fast", x, w, b, rng, **hyper)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "hyper", "full_conv"),
    [
        ((3, 8, 7, 6), (4, 8, 3, 3), {"pad": 1}, True),
        ((3, 8, 7, 6), (8, 8, 3, 2), {"pad": (1, 0)}, True),  # non-square kernel
        ((3, 6, 9, 8), (4, 3, 3, 3), {"pad": 2, "dilation": 2, "groups": 2}, True),
        ((3, 6, 9, 8), (6, 6, 3, 3), {"pad": 0, "dilation": (2, 1)}, True),
        ((3, 6, 7, 6), (6, 6, 1, 1), {}, True),  # 1x1 kernel, no padding
        ((3, 6, 7, 6), (5, 6, 1, 1), {"pad": 1}, False),  # padding beyond the kernel
        ((3, 4, 7, 6), (8, 4, 3, 3), {"pad": 1}, False),  # more filters than channels
        ((3, 8, 7, 7), (4, 8, 3, 3), {"pad": 1, "stride": 2}, False),
    ],
)
def test_both_routes_to_dx_match_torch(x_shape, w_shape, hyper, full_conv, rng, device):
    """dx comes from col2im, or from a convolution of dout with the flipped kernels
    (stride 1, no more filters than channels); each route must agree with torch."""
    x, w, b = _random_problem(rng, x_shape, w_shape)
    _, cache = conv_forward_fast(x, w, b, **hyper)
    assert (conv_fast._full_conv_pad(cache.geometry) is not None) == full_conv
    _assert_matches_torch("fast", x, w, b, rng, device=device, **hyper)


# --- numeric gradients ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impl", "x_shape", "w_shape", "hyper"),
    [
        ("naive", (2, 2, 5, 4), (3, 2, 3, 2), {"stride": (2, 1), "pad": 1}),
        ("fast", (2, 4, 5, 5), (4, 2, 3, 3), {"stride": 2, "pad": 1, "groups": 2}),
        ("fast", (2, 2, 6, 6), (3, 2, 3, 3), {"pad": 2, "dilation": 2}),
        ("fast", (2, 3, 5, 4), (3, 1, 3, 3), {"pad": 1, "groups": 3}),
    ],
)
def test_conv_gradients_match_numeric_gradients(impl, x_shape, w_shape, hyper, rng):
    forward, backward = IMPLEMENTATIONS[impl]
    x, w, b = _random_problem(rng, x_shape, w_shape)
    errors = check_layer(forward, backward, {"x": x, "w": w, "b": b}, **hyper)
    assert max(errors.values()) < 1e-7, errors


# --- dtype -----------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", ["grouped", "depthwise", "kernel_1x1_stride_2"])
def test_conv_keeps_float32_and_stays_close_to_float64(impl, case, rng, device):
    x_shape, w_shape, hyper = CASES[case]
    x, w, b = (a.astype(np.float32) for a in _random_problem(rng, x_shape, w_shape))
    forward, backward = IMPLEMENTATIONS[impl]
    out, cache = forward(x, w, b, **hyper)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = backward(dout, cache)
    assert out.dtype == np.float32
    assert [g.dtype for g in grads] == [np.float32] * 3
    ref_out, ref_grads = _torch_conv(x, w, b, dout, device=device, **hyper)
    np.testing.assert_allclose(out, ref_out, rtol=1e-4, atol=1e-4)
    for grad, ref in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(grad, ref, rtol=1e-4, atol=1e-4)


def test_conv_computes_in_float64_when_any_input_is_float64(rng):
    x, w, b = _random_problem(rng, (1, 2, 4, 4), (2, 2, 3, 3))
    out, _ = conv_forward_fast(x.astype(np.float32), w, b.astype(np.float32))
    assert out.dtype == np.float64


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_len", "hyper", "pattern"),
    [
        ((1, 4, 5, 5), (3, 2, 3, 3), 3, {"groups": 3}, r"groups=3 must divide the C=4 input"),
        ((1, 4, 5, 5), (3, 2, 3, 3), 3, {"groups": 2}, r"groups=2 must divide the F=3 filters"),
        (
            (1, 4, 5, 5),
            (4, 4, 3, 3),
            4,
            {"groups": 2},
            r"w must have shape \(F, C // groups, HH, WW\) = \(4, 2, 3, 3\).*got \(4, 4, 3, 3\)",
        ),
        (
            (1, 3, 32, 32),
            (6, 3, 5, 5),
            6,
            {"stride": 2, "exact": True},
            r"height: \(32 \+ 2\*0 - 5\) / 2 \+ 1 = 14\.5 is not an integer",
        ),
        ((1, 3, 4, 4), (2, 3, 5, 5), 2, {}, r"height: .* = 0 is less than 1"),
        ((1, 3, 5, 5), (2, 3, 3, 3), 3, {}, r"b must have shape \(2,?\)"),
        ((3, 5, 5), (2, 3, 3, 3), 2, {}, r"x must have shape \(N, C, H, W\)"),
        ((1, 3, 5, 5), (2, 3, 3, 3), 2, {"groups": 0}, r"groups must be a positive integer"),
        ((1, 3, 5, 5), (2, 3, 3, 3), 2, {"pad": -1}, r"pad must be an integer >= 0, got -1"),
    ],
)
def test_conv_refuses_inconsistent_arguments(impl, x_shape, w_shape, b_len, hyper, pattern):
    forward, _ = IMPLEMENTATIONS[impl]
    with pytest.raises(ValueError, match=pattern):
        forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_len), **hyper)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_conv_backward_refuses_dout_of_the_wrong_shape(impl):
    forward, backward = IMPLEMENTATIONS[impl]
    _, cache = forward(np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3))
    with pytest.raises(
        ValueError, match=r"dout must have shape \(1, 3, 3, 3\).*got \(1, 3, 5, 5\)"
    ):
        backward(np.zeros((1, 3, 5, 5)), cache)


# --- benchmark smoke test ------------------------------------------------------------------


def test_benchmark_script_runs_quickly_and_writes_every_figure(tmp_path):
    report_path = tmp_path / "bench_conv.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_conv.py"),
            "--quick",
            "--json",
            str(report_path),
            "--enforce-targets",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert "ratio" in result.stdout, result.stderr
    report = json.loads(report_path.read_text())
    # With --enforce-targets the exit status is the verdict on the targets.
    assert result.returncode == (0 if report["all_targets_met"] else 1), result.stdout
    assert ("TARGETS MISSED" in result.stdout) == (not report["all_targets_met"])
    assert {"meta", "targets", "conv", "pool", "naive_vs_fast", "all_targets_met"} <= set(report)
    assert report["meta"]["threads"] == 2
    assert report["targets"] == {"forward": 1.5, "backward": 2.0}
    for row in report["conv"] + report["pool"]:
        # The benchmark checks its own results against torch (float32).
        assert row["max_abs_diff_vs_torch"] < 1e-3
        for direction in ("forward", "backward"):
            entry = row[direction]
            assert {"ours_ms", "torch_ms", "ratio", "target", "meets_target"} <= set(entry)
            assert entry["ours_ms"] > 0 and entry["torch_ms"] > 0
    naive = report["naive_vs_fast"]
    assert naive["forward_speedup"] > 0 and naive["backward_speedup"] > 0
