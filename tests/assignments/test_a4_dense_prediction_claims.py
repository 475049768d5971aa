"""Claims of dense_prediction.ipynb, proved with the course's references.

The receptive fields of section 1, the bilinear transposed convolution of section 2, the
paper's U-Net of section 4 and the trained U-Net's IoUs of section 6: each number is read
from the notebook's text, and the training runs the notebook's own cell with the
references in place of the student's classes and functions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.data.datasets import load_shapes
from dlcourse.exercises.a4 import dense_prediction as ex

from .notebook_text import claim, code_cells, number, numbers

NAME = "a4/dense_prediction"


def test_six_dilated_layers_see_127_pixels_and_six_plain_ones_13():
    dilated, plain, weights = numbers(
        NAME, r"with 6 layers it sees {num} pixels where the plain stack sees {num}, with the "
        r"same {num} weights"
    )  # fmt: skip
    six = [3] * 6
    assert ex.receptive_field(six, [1] * 6, [1, 2, 4, 8, 16, 32]) == dilated
    assert ex.receptive_field(six, [1] * 6, [1] * 6) == plain
    assert weights == 6 * 3 * 3  # dilation spreads the taps, it adds none


def test_bilinear_transposed_convolution_equals_interpolation_inside_the_border():
    claim(NAME, r"The two agree to rounding error inside the border")
    sample = load_shapes(num_train=8, num_val=0, num_test=0, seed=1, with_masks=True)
    image = torch.from_numpy(sample.X_train[:1]).double()
    for factor in (2, 4):
        weight = torch.from_numpy(ex.bilinear_kernel(factor)).expand(3, 1, 2 * factor, 2 * factor)
        up = F.conv_transpose2d(image, weight, stride=factor, padding=factor // 2, groups=3)
        reference = F.interpolate(image, scale_factor=factor, mode="bilinear", align_corners=False)
        b = factor // 2
        assert (up - reference)[..., b:-b, b:-b].abs().max() < 1e-12
        # ... and the border is darker: it blends with the zeros outside.
        top = (up - reference)[..., :b, :]
        assert top.max() <= 0 and top.mean() < 0


def test_the_papers_unet_sizes_and_parameter_count():
    smaller, smallest = numbers(
        NAME, r"every valid depth-4 U-Net output is {num} pixels smaller than its input, and a "
        r"tile needs at least {num} pixels"
    )  # fmt: skip
    claim(NAME, r"a 572x572 tile into 388x388 outputs")
    with torch.device("meta"):
        paper = ex.UNet(1, 2, 64, 4)
    assert sum(p.numel() for p in paper.parameters()) == 31_030_658
    assert paper.output_size(572) == 388 == 572 - smaller
    assert paper.output_size(int(smallest)) == smallest - smaller
    for size in range(8, int(smallest)):
        with pytest.raises(ValueError):
            paper.output_size(size)
    turns = claim(NAME, r"turns a 44x44 input into a 4x4 output")
    assert turns and ex.UNet(3, 9, 8, 2).output_size(44) == 4
    with pytest.raises(ValueError):  # the question's 32x32 input
        ex.UNet(3, 9, 8, 2).output_size(32)


def test_the_trained_unets_bottom_sees_the_whole_image():
    field = number(NAME, r"A unit at its bottom level has a receptive field of {num} pixels")
    # inc, pool, down[0], pool, down[1] of a padded U-Net: 3x3 convs and 2x2 stride-2 pools.
    kernel, stride = [3, 3, 2, 3, 3, 2, 3, 3], [1, 1, 2, 1, 1, 2, 1, 1]
    assert ex.receptive_field(kernel, stride, [1] * 8) == field == 32


def _training_cell() -> str:
    (cell,) = [source for source in code_cells(NAME) if "def train_segmenter" in source]
    return cell


@pytest.mark.slow
def test_the_trained_unet_finds_shapes_and_names_them_better_than_background():
    foreground = number(NAME, r"\*\*foreground IoU\*\* \(every shape class merged into one\) "
                              r"\*\*is above {num}\*\*")  # fmt: skip
    mean = number(NAME, r"\*\*mean IoU over the 9 classes is above {num}\*\*")
    background = number(NAME, r"scores \(\*\*below {num}\*\*")
    namespace: dict[str, object] = {
        "np": np, "torch": torch, "F": F, "load_shapes": load_shapes,
        "UNet": ex.UNet, "mean_iou": ex.mean_iou,
    }  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        exec(_training_cell(), namespace)  # noqa: S102
    data = namespace["data"]
    assert len(data.masks_test) == 500  # "the 500 held-out images"
    claim(NAME, r"On the 500 held-out images")
    foreground_iou = namespace["foreground_iou"][1]
    miou = namespace["miou"]
    assert foreground_iou > foreground, f"foreground IoU {foreground_iou:.3f}"
    assert mean < miou < foreground_iou, f"mean IoU {miou:.3f}"
    _, all_background = ex.mean_iou(np.zeros_like(data.masks_test), data.masks_test, 9)
    assert all_background < background, f"all-background mean IoU {all_background:.3f}"
