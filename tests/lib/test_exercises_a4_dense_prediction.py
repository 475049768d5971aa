"""The references of dense_prediction.ipynb against independent oracles.

Receptive fields are measured with autograd (which input pixels one output depends on),
output sizes against torch's transposed convolution, the bilinear kernel against
``F.interpolate``, TinyFCN and the U-Net against forward passes written here with torch's
functional ops in float64 (and ``gradcheck`` for the gradients), the centre crop against
its index arithmetic, and the IoU against a per-class loop over sets of pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision_oracle import import_torchvision

from dlcourse.exercises.a4 import dense_prediction as ex


def _measured_field(kernel, stride, dilation, device, size=200):
    """Width of the input region the first output unit depends on (ones weights)."""
    x = torch.zeros(1, 1, 1, size, dtype=torch.float64, device=device, requires_grad=True)
    h = x
    for k, s, d in zip(kernel, stride, dilation, strict=True):
        weight = torch.ones(1, 1, 1, k, dtype=torch.float64, device=device)
        h = F.conv2d(h, weight, stride=(1, s), dilation=(1, d))
    h[0, 0, 0, 0].backward()
    touched = torch.nonzero(x.grad[0, 0, 0]).flatten()
    return int(touched.max() - touched.min() + 1)


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation"),
    [
        ([3, 3, 3], [1, 1, 1], [1, 1, 1]),
        ([3, 3, 3, 3], [1, 1, 1, 1], [1, 2, 4, 8]),
        ([2, 3, 5], [2, 2, 1], [1, 2, 1]),
        ([5, 1, 3, 3], [2, 1, 2, 1], [1, 1, 4, 2]),
    ],
)
def test_receptive_field_is_what_autograd_sees(device, kernel, stride, dilation):
    expected = _measured_field(kernel, stride, dilation, device)
    assert ex.receptive_field(np.array(kernel), np.array(stride), np.array(dilation)) == expected


def test_doubling_dilations_grow_the_field_exponentially():
    for layers in range(1, 8):
        dilations = [2**i for i in range(layers)]
        field = ex.receptive_field([3] * layers, [1] * layers, dilations)
        assert field == 2 ** (layers + 1) - 1
        assert ex.receptive_field([3] * layers, [1] * layers, [1] * layers) == 2 * layers + 1


def test_receptive_field_refuses_ragged_layers():
    with pytest.raises(ValueError, match="one entry per layer"):
        ex.receptive_field([3, 3], [1], [1, 1])


def test_transposed_output_size_matches_torch(device):
    for size, kernel, stride, pad in [(1, 1, 1, 0), (4, 3, 2, 1), (7, 4, 2, 1), (5, 5, 3, 2)]:
        for extra in range(stride):
            x = torch.zeros(1, 1, size, 2, dtype=torch.float64, device=device)
            w = torch.zeros(1, 1, kernel, 1, dtype=torch.float64, device=device)
            out = F.conv_transpose2d(x, w, stride=(stride, 1), padding=(pad, 0),
                                     output_padding=(extra, 0))  # fmt: skip
            assert ex.transposed_output_size(size, kernel, stride, pad, extra) == out.shape[2]
    with pytest.raises(ValueError, match="output_padding"):
        ex.transposed_output_size(4, 3, 2, 1, 2)


@pytest.mark.parametrize("factor", [2, 4, 6])
def test_bilinear_kernel_interpolates_as_torch_does_inside_the_border(device, factor):
    x = torch.from_numpy(np.random.default_rng(factor).random((1, 2, 5, 7))).to(device)
    kernel = torch.from_numpy(ex.bilinear_kernel(factor)).to(device)
    assert kernel.dtype == torch.float64 and tuple(kernel.shape) == (2 * factor, 2 * factor)
    weight = kernel.expand(2, 1, 2 * factor, 2 * factor)
    out = F.conv_transpose2d(x, weight, stride=factor, padding=factor // 2, groups=2)
    expected = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    b = factor // 2
    torch.testing.assert_close(out[..., b:-b, b:-b], expected[..., b:-b, b:-b])
    # The outer ring blends with zeros: it differs, so the comparison above is not vacuous.
    assert not torch.allclose(out, expected)


def _fcn_oracle(model, x):
    """TinyFCN's forward written with functional ops from its state dict."""
    s = model.state_dict()
    s1 = F.max_pool2d(F.relu(F.conv2d(x, s["stage1.0.weight"], s["stage1.0.bias"], padding=1)), 2)
    s2 = F.max_pool2d(F.relu(F.conv2d(s1, s["stage2.0.weight"], s["stage2.0.bias"], padding=1)), 2)
    coarse = F.conv2d(s2, s["score.weight"], s["score.bias"])
    fine = F.conv_transpose2d(coarse, s["upscore2.weight"], stride=2, padding=1)
    fine = fine + F.conv2d(s1, s["score_skip.weight"], s["score_skip.bias"])
    return F.interpolate(fine, scale_factor=2, mode="bilinear", align_corners=False)


def test_tiny_fcn_matches_a_functional_forward_away_from_the_border(device):
    torch.manual_seed(0)
    model = ex.TinyFCN(in_channels=2, num_classes=3, width=4).double().to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.randn(2, 2, 12, 16, dtype=torch.float64, device=device)
    out = model(x)
    assert tuple(out.shape) == (2, 3, 12, 16)
    torch.testing.assert_close(out[..., 1:-1, 1:-1], _fcn_oracle(model, x)[..., 1:-1, 1:-1])
    assert list(model.state_dict()) == [
        "stage1.0.weight", "stage1.0.bias", "stage2.0.weight", "stage2.0.bias",
        "score.weight", "score.bias", "upscore2.weight", "score_skip.weight", "score_skip.bias",
    ]  # fmt: skip


def test_tiny_fcn_starts_as_bilinear_upsampling_of_its_coarse_scores():
    model = ex.TinyFCN(in_channels=3, num_classes=2, width=4).double()
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        coarse = model.score(model.stage2(model.stage1(x)))  # (1, 2, 4, 4)
        twice = F.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False)
        fine = model.upscore2(coarse)
    # The skip starts at zero and upscore2 at bilinear: away from the border, x2 bilinear.
    assert not any(torch.any(p) for p in model.score_skip.parameters())
    torch.testing.assert_close(fine[..., 1:-1, 1:-1], twice[..., 1:-1, 1:-1])


def test_tiny_fcn_gradients_pass_gradcheck():
    torch.manual_seed(1)
    model = ex.TinyFCN(in_channels=1, num_classes=2, width=2).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))


def test_center_crop_takes_the_central_window_rounding_down(device):
    x = np.arange(2 * 3 * 9 * 8, dtype=np.float64).reshape(2, 3, 9, 8)
    for h, w in [(9, 8), (4, 5), (1, 1), (6, 3)]:
        top, left = (9 - h) // 2, (8 - w) // 2
        rows = [r for r in range(9) if top <= r < top + h]
        columns = [c for c in range(8) if left <= c < left + w]
        expected = x[:, :, rows][:, :, :, columns]
        np.testing.assert_array_equal(ex.center_crop(x, np.array([h, w])), expected)
    # torchvision agrees where the surplus is even (it rounds an odd one half-to-even).
    functional = import_torchvision().transforms.functional
    t = torch.from_numpy(x).to(device)
    np.testing.assert_array_equal(
        ex.center_crop(x, np.array([5, 4])), functional.center_crop(t, [5, 4]).cpu().numpy()
    )


def _double_conv(h, s, prefix, padding, batch_norm):
    for i in (1, 2):
        bias = None if batch_norm else s[f"{prefix}.conv{i}.bias"]
        h = F.conv2d(h, s[f"{prefix}.conv{i}.weight"], bias, padding=int(padding))
        if batch_norm:
            h = F.batch_norm(
                h, s[f"{prefix}.norm{i}.running_mean"], s[f"{prefix}.norm{i}.running_var"],
                s[f"{prefix}.norm{i}.weight"], s[f"{prefix}.norm{i}.bias"],
            )  # fmt: skip
        h = F.relu(h)
    return h


def _unet_oracle(model, x, depth, padding, batch_norm):
    """The U-Net's forward in evaluation mode, written with functional ops."""
    s = model.state_dict()
    skips = [_double_conv(x, s, "inc", padding, batch_norm)]
    for i in range(depth):
        skips.append(_double_conv(F.max_pool2d(skips[-1], 2), s, f"down.{i}", padding, batch_norm))
    h = skips.pop()
    for i in range(depth):
        up = F.conv_transpose2d(h, s[f"up.{i}.up.weight"], s[f"up.{i}.up.bias"], stride=2)
        skip = skips.pop()
        top = (skip.shape[2] - up.shape[2]) // 2
        left = (skip.shape[3] - up.shape[3]) // 2
        skip = skip[:, :, top : top + up.shape[2], left : left + up.shape[3]]
        h = _double_conv(torch.cat([skip, up], 1), s, f"up.{i}.conv", padding, batch_norm)
    return F.conv2d(h, s["head.weight"], s["head.bias"])


@pytest.mark.parametrize(
    ("depth", "padding", "batch_norm", "size"),
    [(1, False, False, (20, 24)), (2, False, True, (44, 52)), (2, True, True, (16, 12))],
)
def test_unet_matches_a_functional_forward(device, depth, padding, batch_norm, size):
    torch.manual_seed(depth)
    model = ex.UNet(2, 3, 2, depth, padding, batch_norm).double().to(device).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn_like(p))
        for name, buffer in model.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                buffer.copy_(torch.rand_like(buffer) + 0.5)
    x = torch.randn(2, 2, *size, dtype=torch.float64, device=device)
    out = model(x)
    expected = _unet_oracle(model, x, depth, padding, batch_norm)
    torch.testing.assert_close(out, expected)
    side = [model.output_size(s) for s in size]
    assert tuple(out.shape) == (2, 3, *side)


def test_unet_gradients_pass_gradcheck():
    torch.manual_seed(2)
    model = ex.UNet(1, 2, 1, 1).double()
    x = torch.randn(1, 1, 20, 20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))


def _unet_param_count(c_in, k, base, depth, batch_norm):
    """Parameters of the U-Net counted layer by layer from the paper's description."""

    def double(a, b):
        conv_bias = 0 if batch_norm else b
        norms = 4 * b if batch_norm else 0
        return 9 * a * b + conv_bias + 9 * b * b + conv_bias + norms

    widths = [base * 2**i for i in range(depth + 1)]
    total = double(c_in, base) + sum(double(widths[i], widths[i + 1]) for i in range(depth))
    for i in range(depth):
        wide, narrow = widths[i + 1], widths[i]
        total += 4 * wide * narrow + narrow  # 2x2 up-convolution with bias
        total += double(wide, narrow)
    return total + base * k + k


def test_unet_parameter_counts_and_the_papers_sizes():
    for args in [(1, 2, 64, 4, False), (3, 9, 8, 2, True), (2, 3, 5, 3, False)]:
        model = ex.UNet(*args[:4], batch_norm=args[4])
        assert sum(p.numel() for p in model.parameters()) == _unet_param_count(*args)
    assert _unet_param_count(1, 2, 64, 4, False) == 31_030_658
    assert ex.UNet(1, 2, 64, 4).output_size(572) == 388  # Fig. 1 of the paper


def _iou_oracle(pred, target, k):
    iou = []
    pixels = list(zip(pred.reshape(-1), target.reshape(-1), strict=True))
    for c in range(k):
        predicted = {i for i, (p, _) in enumerate(pixels) if p == c}
        actual = {i for i, (_, t) in enumerate(pixels) if t == c}
        union = predicted | actual
        iou.append(len(predicted & actual) / len(union) if union else np.nan)
    return np.array(iou)


def test_mean_iou_matches_set_arithmetic_and_skips_absent_classes():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(2, 7))
        target = rng.integers(0, k - 1, size=(2, 5, 6))  # class k - 1 only ever predicted
        pred = np.where(rng.random(target.shape) < 0.3, rng.integers(0, k, target.shape), target)
        iou, mean = ex.mean_iou(pred, target, k)
        expected = _iou_oracle(pred, target, k)
        np.testing.assert_allclose(iou, expected, equal_nan=True)
        assert mean == pytest.approx(np.mean(expected[~np.isnan(expected)]))
    iou, mean = ex.mean_iou(np.zeros((3, 3), int), np.zeros((3, 3), int), 3)
    np.testing.assert_array_equal(iou, [1.0, np.nan, np.nan])
    assert mean == 1.0
