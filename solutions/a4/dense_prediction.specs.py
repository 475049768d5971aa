"""Check specs of ``dense_prediction.ipynb``: receptive fields with dilation, the transposed
convolution's output size, the bilinear kernel, a tiny FCN, the centre crop, the U-Net and
the per-class IoU.

Layer stacks, sizes, channels and class counts are drawn per case, so a solution that
hard-codes the notebook's settings fails. Every U-Net case of the forward/backward test
uses the paper's valid convolutions, so every one needs the centre crop. The references
are ``dlcourse.exercises.a4.dense_prediction``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import argument_inputs, module_inputs, shape_inputs
from dlcourse.exercises.a4 import dense_prediction as ex

Inputs = dict[str, np.ndarray]


def _field_inputs(rng: np.random.Generator) -> Inputs:
    layers = int(rng.integers(2, 6))
    kernel = rng.choice([1, 2, 3, 5], size=layers)
    stride = rng.choice([1, 2], size=layers)
    dilation = rng.choice([1, 2, 4], size=layers)
    # A stride below a wider layer: its steps must be counted in input pixels.
    stride[0], kernel[-1] = 2, 3
    return {"kernel": kernel, "stride": stride, "dilation": dilation}


def _transposed_inputs(rng: np.random.Generator) -> Inputs:
    stride = int(rng.integers(1, 5))
    kernel = int(rng.integers(1, 8))
    return {
        "size": np.array(int(rng.integers(1, 40))),
        "kernel": np.array(kernel),
        "stride": np.array(stride),
        "pad": np.array(int(rng.integers(0, (kernel + 1) // 2))),
        "output_padding": np.array(int(rng.integers(0, stride))),
    }


def _factor_inputs(rng: np.random.Generator) -> Inputs:
    return {"factor": np.array(int(rng.integers(1, 7)))}


def _fcn_args(rng: np.random.Generator) -> dict[str, int]:
    return {
        "in_channels": int(rng.integers(1, 4)),
        "num_classes": int(rng.integers(2, 5)),
        "width": int(rng.integers(2, 5)),
    }


def _fcn_size(rng: np.random.Generator) -> tuple[int, int]:
    height, width = (4 * int(s) for s in rng.integers(2, 5, size=2))
    return height, width


def _fcn_shape_inputs(rng: np.random.Generator) -> Inputs:
    args = _fcn_args(rng)
    n = int(rng.integers(1, 3))
    return shape_inputs(args, (n, args["in_channels"], *_fcn_size(rng)))


def _fcn_inputs(rng: np.random.Generator) -> Inputs:
    args = _fcn_args(rng)
    return module_inputs(ex.TinyFCN, rng, args, (2, args["in_channels"], *_fcn_size(rng)))


def _crop_inputs(rng: np.random.Generator) -> Inputs:
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    height, width = (int(s) for s in rng.integers(5, 12, size=2))
    # An odd surplus on at least one side: the extra row/column must go to the end.
    size = (int(rng.integers(1, height)), int(rng.integers(1, width)))
    if (height - size[0]) % 2 == 0 and (width - size[1]) % 2 == 0:
        size = (size[0] - 1 if size[0] > 1 else size[0] + 1, size[1])
    return {"x": rng.standard_normal((n, c, height, width)), "size": np.array(size)}


def _unet_sizes(depth: int, padding: bool, low: int, high: int) -> list[int]:
    """Input sizes in ``[low, high)`` that a U-Net of this depth and padding accepts."""
    probe = ex.UNet(1, 2, 1, depth, padding)
    sizes = []
    for size in range(low, high):
        try:
            probe.output_size(size)
        except ValueError:
            continue
        sizes.append(size)
    return sizes


def _unet_args(rng: np.random.Generator, depth: int, padding: bool) -> dict[str, int | bool]:
    return {
        "in_channels": int(rng.integers(1, 3)),
        "num_classes": int(rng.integers(2, 4)),
        "base_channels": int(rng.integers(2, 4)),
        "depth": depth,
        "padding": padding,
        "batch_norm": bool(rng.integers(0, 2)),
    }


def _unet_shape_inputs(rng: np.random.Generator) -> Inputs:
    depth, padding = int(rng.integers(1, 4)), bool(rng.integers(0, 2))
    args = _unet_args(rng, depth, padding)
    sizes = _unet_sizes(depth, padding, 8, 120)
    height, width = (int(rng.choice(sizes)) for _ in range(2))
    return shape_inputs(args, (1, args["in_channels"], height, width))


def _unet_params_inputs(rng: np.random.Generator) -> Inputs:
    args = _unet_args(rng, int(rng.integers(1, 5)), bool(rng.integers(0, 2)))
    args["base_channels"] = int(rng.integers(2, 17))
    return argument_inputs(args)


def _unet_inputs(rng: np.random.Generator) -> Inputs:
    depth = int(rng.integers(1, 3))
    args = _unet_args(rng, depth, padding=False)
    sizes = _unet_sizes(depth, False, 8, 60)
    height, width = (int(rng.choice(sizes)) for _ in range(2))
    return module_inputs(ex.UNet, rng, args, (2, args["in_channels"], height, width), backward=True)


def _iou_inputs(rng: np.random.Generator) -> Inputs:
    k = int(rng.integers(4, 8))
    shape = (int(rng.integers(1, 4)), *(int(s) for s in rng.integers(4, 9, size=2)))
    absent, predicted_only = rng.choice(k, size=2, replace=False)
    # One class in neither map (IoU NaN), one only predicted (IoU 0), the rest in both.
    present = np.setdiff1d(np.arange(k), [absent, predicted_only])
    target = rng.choice(present, size=shape)
    # A noisy prediction: right on most pixels, so every class present overlaps.
    noise = rng.random(shape) < 0.3
    noise.flat[0] = True
    guesses = rng.choice(np.setdiff1d(np.arange(k), [absent]), size=shape)
    guesses.flat[0] = predicted_only
    pred = np.where(noise, guesses, target)
    return {"pred": pred, "target": target, "num_classes": np.array(k)}


SPECS = [
    exercise(
        "receptive_field_test",
        "call",
        _field_inputs,
        ex.receptive_field,
        hint="receptive_field (section 1): start with r = 1 and a jump j = 1; each layer "
        "adds dilation * (kernel - 1) * j to r, THEN multiplies j by its stride (the steps "
        "of a layer are measured in input pixels).",
    ),
    exercise(
        "transposed_output_size_test",
        "call",
        _transposed_inputs,
        ex.transposed_output_size,
        hint="transposed_output_size (section 2): (size - 1) * stride - 2 * pad + kernel + "
        "output_padding, the input size of the convolution it is the transpose of.",
    ),
    exercise(
        "bilinear_kernel_test",
        "call",
        _factor_inputs,
        ex.bilinear_kernel,
        hint="bilinear_kernel (section 2): a (2f, 2f) float64 array, the outer product of "
        "the tent taps 1 - |i - c| / f for i = 0 .. 2f - 1 with the centre c = f - 0.5.",
    ),
    exercise(
        "tiny_fcn_shape_test",
        "module_shape",
        _fcn_shape_inputs,
        ex.TinyFCN,
        hint="TinyFCN (section 3): two conv-ReLU-pool stages take H to H/4; the x2 "
        "transposed convolution (kernel 4, stride 2, padding 1) and the fixed x2 bilinear "
        "upsampling bring it back to H, with num_classes channels.",
    ),
    exercise(
        "tiny_fcn_test",
        "module_forward",
        _fcn_inputs,
        ex.TinyFCN,
        hint="TinyFCN (section 3): out = upscore_final(upscore2(score(stage2(s1))) + "
        "score_skip(s1)) with s1 = stage1(x); upscore_final uses YOUR bilinear_kernel "
        "for each channel on its own (groups = channels), stride 2, padding 1.",
    ),
    exercise(
        "center_crop_test",
        "call",
        _crop_inputs,
        ex.center_crop,
        hint="center_crop (section 4): top = (H - h) // 2 and left = (W - w) // 2 (rounded "
        "down), then the rows top .. top + h - 1 and columns left .. left + w - 1.",
    ),
    exercise(
        "unet_shape_test",
        "module_shape",
        _unet_shape_inputs,
        ex.UNet,
        hint="UNet (section 4): each valid 3x3 convolution takes 2 pixels off a side's "
        "length (padded ones none), each pool halves it, each up-convolution doubles it; "
        "the head has num_classes channels.",
    ),
    exercise(
        "unet_params_test",
        "module_params",
        _unet_params_inputs,
        ex.UNet,
        hint="UNet (section 4): level i has base_channels * 2**i channels; each up step "
        "halves the channels with a 2x2 up-convolution (with bias), concatenates the skip "
        "and runs a double convolution; with batch_norm the 3x3 convolutions have no bias.",
    ),
    exercise(
        "unet_test",
        "module_backward",
        _unet_inputs,
        ex.UNet,
        # All or nothing: with two or three channels a level's ReLUs can all be off for
        # one case, and then a wrong crop reads zeros wherever it cuts.
        partial=False,
        hint="UNet (section 4): keep the attribute names of the skeleton; in UNetUp, "
        "centre-crop the SKIP to the upsampled map's size and concatenate [skip, up] in "
        "this order along the channels before the double convolution.",
    ),
    exercise(
        "mean_iou_test",
        "call",
        _iou_inputs,
        ex.mean_iou,
        hint="mean_iou (section 5): per class k, intersection = pixels with pred == k AND "
        "target == k, union = pixels with pred == k OR target == k; NaN where the union is "
        "empty; the mean skips the NaN classes (np.nanmean).",
    ),
]
