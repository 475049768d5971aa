"""The references of convolution.ipynb and fast_conv.ipynb against PyTorch (float64) and
central differences, in the notebooks' forms (hyperparameters as 0-d integer arrays)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.exercises.a3 import convolution, fast_conv
from dlcourse.gradcheck import numeric_gradient_array, rel_error

# (N, C, F, H, W, HH, WW, stride, pad, dilation, groups): windows tile exactly.
GEOMETRIES = [
    (2, 3, 4, 7, 7, 3, 3, 2, 1, 1, 1),
    (1, 4, 6, 9, 8, 3, 2, 1, 2, 2, 2),
    (2, 3, 6, 6, 6, 3, 3, 1, 1, 1, 3),  # depthwise, two filters per channel
    (1, 2, 2, 5, 9, 1, 3, 2, 0, 2, 1),
]


def _case(geometry, seed=0):
    n, c, f, h, w, kh, kw, stride, pad, dilation, groups = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((f, c // groups, kh, kw))
    b = rng.standard_normal(f)
    hyper = {
        "stride": np.array(stride),
        "pad": np.array(pad),
        "dilation": np.array(dilation),
        "groups": np.array(groups),
    }
    return x, wt, b, hyper


def _torch(x, wt, b, hyper):
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, wt, b))
    out = torch.nn.functional.conv2d(
        tx, tw, tb, stride=int(hyper["stride"]), padding=int(hyper["pad"]),
        dilation=int(hyper["dilation"]), groups=int(hyper["groups"]),
    )  # fmt: skip
    return (tx, tw, tb), out


@pytest.mark.parametrize("module", [convolution, fast_conv], ids=["naive", "fast"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_forward_and_gradients_match_torch_autograd(module, geometry):
    x, wt, b, hyper = _case(geometry)
    inputs, tout = _torch(x, wt, b, hyper)
    forward = module.conv_forward_naive if module is convolution else module.conv_forward_fast
    gradients = module.conv_gradients if module is convolution else module.conv_fast_gradients
    out, _ = forward(x, wt, b, **hyper)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    grads = gradients(x, wt, b, dout, **hyper)
    expected = torch.autograd.grad(tout, inputs, torch.from_numpy(dout))
    for mine, theirs in zip(grads, expected, strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_gradients_match_central_differences():
    x, wt, b, hyper = _case(GEOMETRIES[1], seed=3)
    out, _ = convolution.conv_forward_naive(x, wt, b, **hyper)
    dout = np.random.default_rng(4).standard_normal(out.shape)
    dx, dw, db = convolution.conv_gradients(x, wt, b, dout, **hyper)

    def forward(xv, wv, bv):
        return convolution.conv_forward_naive(xv, wv, bv, **hyper)[0]

    assert rel_error(dx, numeric_gradient_array(lambda v: forward(v, wt, b), x, dout)) < 1e-7
    assert rel_error(dw, numeric_gradient_array(lambda v: forward(x, v, b), wt, dout)) < 1e-7
    assert rel_error(db, numeric_gradient_array(lambda v: forward(x, wt, v), b, dout)) < 1e-7


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_im2col_is_torch_unfold_with_the_batch_in_the_columns(geometry):
    x, wt, _, hyper = _case(geometry)
    kh, kw = wt.shape[2:]
    cols = fast_conv.im2col(x, np.array(kh), np.array(kw), hyper["stride"], hyper["pad"],
                            hyper["dilation"])  # fmt: skip
    unfolded = torch.nn.functional.unfold(
        torch.from_numpy(x), (kh, kw), dilation=int(hyper["dilation"]),
        padding=int(hyper["pad"]), stride=int(hyper["stride"]),
    )  # fmt: skip  # (N, C*kh*kw, L)
    expected = unfolded.permute(1, 0, 2).reshape(cols.shape[0], -1).numpy()
    np.testing.assert_array_equal(cols, expected)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_col2im_is_torch_fold_and_the_adjoint_of_im2col(geometry):
    x, wt, _, hyper = _case(geometry)
    n, c, h, w = x.shape
    kh, kw = wt.shape[2:]
    args = (np.array(kh), np.array(kw), hyper["stride"], hyper["pad"], hyper["dilation"])
    cols_shape = fast_conv.im2col(x, *args).shape
    dcols = np.random.default_rng(2).standard_normal(cols_shape)
    dx = fast_conv.col2im(dcols, np.array(x.shape), *args)
    per_image = torch.from_numpy(dcols.reshape(cols_shape[0], n, -1)).permute(1, 0, 2)
    folded = torch.nn.functional.fold(
        per_image.contiguous(), (h, w), (kh, kw), dilation=int(hyper["dilation"]),
        padding=int(hyper["pad"]), stride=int(hyper["stride"]),
    )  # fmt: skip
    np.testing.assert_allclose(dx, folded.numpy(), rtol=1e-12, atol=1e-12)
    # <im2col(x), dcols> == <x, col2im(dcols)>: col2im is im2col's transpose.
    assert np.isclose(np.sum(fast_conv.im2col(x, *args) * dcols), np.sum(x * dx))


@pytest.mark.parametrize(
    "kh, kw, height, width, stride, pad",
    [(3, 3, 5, 5, 1, 0), (2, 3, 6, 7, 2, 1), (1, 2, 3, 4, 1, 2)],
)
def test_conv_as_matrix_times_the_image_is_torchs_convolution(kh, kw, height, width, stride, pad):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((kh, kw))
    image = rng.standard_normal((height, width))
    matrix = convolution.conv_as_matrix(
        w, np.array(height), np.array(width), np.array(stride), np.array(pad)
    )
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(image)[None, None], torch.from_numpy(w)[None, None],
        stride=stride, padding=pad,
    )  # fmt: skip
    assert matrix.shape == (expected.numel(), height * width)
    np.testing.assert_allclose(matrix @ image.ravel(), expected.numpy().ravel(), atol=1e-12)


def test_arithmetic_references_accept_0d_arrays_and_agree_with_torch_layers():
    layer = torch.nn.Conv2d(6, 12, 5, stride=2, padding=1, dilation=2, groups=3)
    out = layer(torch.zeros(1, 6, 19, 19))
    as_arrays = [np.array(v) for v in (19, 5, 2, 1, 2)]
    assert convolution.conv_output_size(*as_arrays) == out.shape[-1]
    params = convolution.conv_param_count(np.array(6), np.array(12), np.array(5), np.array(3))
    assert params == sum(p.numel() for p in layer.parameters())
    # Multiply-adds: a convolution of ones with ones counts them (no padding).
    ones = torch.nn.functional.conv2d(torch.ones(1, 6, 9, 9), torch.ones(12, 2, 3, 3), groups=3)
    macs = convolution.conv_macs(np.array(6), np.array(12), np.array(3), np.array(7), np.array(3))
    assert macs == int(ones.sum())
    field = convolution.receptive_field(np.array([3, 3]), np.array([2, 1]), np.array([1, 2]))
    assert field == 1 + 2 + 2 * 2 * 2
