"""``dense_prediction.ipynb``: dilated convolution, transposed convolution, FCN, U-Net, IoU.

Thin calls into :mod:`dlcourse.convarith` (receptive fields), :mod:`dlcourse.models.fcn`
(the bilinear kernel, fixed and learned upsampling, zero-started skip scores) and
:mod:`dlcourse.models.unet` (the centre crop and the U-Net). The papers: Yu and Koltun,
"Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016; Long, Shelhamer and
Darrell, "Fully Convolutional Networks for Semantic Segmentation", CVPR 2015; Ronneberger,
Fischer and Brox, "U-Net: Convolutional Networks for Biomedical Image Segmentation", MICCAI
2015.

The NumPy functions take and return arrays (numbers arrive as 0-d arrays); the modules
fix the attribute names the notebook asks for, because the grader loads the reference's
weights into the student's module by name.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlcourse import convarith
from dlcourse.models import fcn, unet

Scalar = int | float | np.ndarray

__all__ = [
    "TinyFCN",
    "UNet",
    "bilinear_kernel",
    "center_crop",
    "mean_iou",
    "receptive_field",
    "transposed_output_size",
]


def receptive_field(kernel: np.ndarray, stride: np.ndarray, dilation: np.ndarray) -> int:
    """Side of the input window that one unit of the last layer sees.

    ``kernel``, ``stride`` and ``dilation`` are ``(L,)`` integers, one entry per layer from
    the input up: layer ``l`` widens the field by ``dilation[l] * (kernel[l] - 1)`` steps
    of the layer below it, a step being the product of the strides under it.
    """
    sizes = [np.atleast_1d(np.asarray(a)) for a in (kernel, stride, dilation)]
    if len({len(a) for a in sizes}) != 1:
        raise ValueError(
            "kernel, stride and dilation must have one entry per layer, got lengths "
            f"{', '.join(str(len(a)) for a in sizes)}"
        )
    layers = [tuple(int(v) for v in layer) for layer in zip(*sizes, strict=True)]
    return convarith.receptive_field(layers)


def transposed_output_size(
    size: Scalar, kernel: Scalar, stride: Scalar = 1, pad: Scalar = 0, output_padding: Scalar = 0
) -> int:
    """Output length of a transposed convolution: ``(size - 1) * stride - 2 * pad + kernel +
    output_padding`` (the input length of the convolution it is the adjoint of)."""
    n, k, s, p, extra = (int(v) for v in (size, kernel, stride, pad, output_padding))
    if not 0 <= extra < s:
        raise ValueError(f"output_padding must be in [0, stride={s}), got {extra}")
    return (n - 1) * s - 2 * p + k + extra


def bilinear_kernel(factor: Scalar) -> np.ndarray:
    """The ``(2 * factor, 2 * factor)`` float64 kernel with which a stride-``factor``
    transposed convolution (padding ``factor // 2``) upsamples bilinearly."""
    return fcn.bilinear_kernel(int(factor)).to(torch.float64).numpy()


def center_crop(x: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The central ``size = (h, w)`` window of ``x`` ``(N, C, H, W)``: ``(N, C, h, w)``; an
    odd surplus leaves its extra row (column) at the bottom (right)."""
    height, width = (int(s) for s in np.asarray(size).reshape(-1))
    return unet.center_crop(torch.as_tensor(np.asarray(x)), (height, width)).numpy()


class TinyFCN(nn.Module):
    """A two-stage fully convolutional network with one skip, FCN-16s' pattern in small.

    Shapes: ``x`` (N, in_channels, H, W), H and W multiples of 4 ->
    ``stage1`` (N, width, H/2, W/2) -> ``stage2`` (N, 2 width, H/4, W/4) -> ``score``
    (N, num_classes, H/4, W/4) -> ``upscore2`` (learned x2, bilinear start) plus
    ``score_skip`` of ``stage1`` (zero start) -> ``upscore_final`` (fixed bilinear x2) ->
    (N, num_classes, H, W). Each stage is a padded 3x3 convolution, a ReLU and a 2x2 max
    pool (indices 0, 1, 2 of an ``nn.Sequential``).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 8) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.stage2 = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.score = nn.Conv2d(2 * width, num_classes, 1)
        self.upscore2 = fcn.learned_upsample2x(num_classes)
        self.score_skip = fcn.skip_score(width, num_classes)
        self.upscore_final = fcn.BilinearUpsample(num_classes, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.stage1(x)  # (N, width, H/2, W/2)
        coarse = self.score(self.stage2(skip))  # (N, K, H/4, W/4)
        fine = self.upscore2(coarse) + self.score_skip(skip)  # (N, K, H/2, W/2)
        return self.upscore_final(fine)  # (N, K, H, W)


class UNet(unet.UNet):
    """The U-Net of Ronneberger et al. (2015) with 2x2 up-convolutions.

    ``padding=False`` (the paper) uses valid 3x3 convolutions and centre-crops the skips;
    ``padding=True`` keeps every map's size. ``batch_norm`` adds a batch norm after each 3x3
    convolution (whose bias it then drops). Shapes: (N, in_channels, H, W) ->
    (N, num_classes, H', W'), see :meth:`dlcourse.models.unet.UNet.output_size`. State keys:
    ``inc``, ``down.<i>`` (double convolutions ``conv1``, ``norm1``, ``conv2``, ``norm2``),
    ``up.<i>.up`` (the up-convolution), ``up.<i>.conv`` and ``head``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        base_channels: int = 8,
        depth: int = 2,
        padding: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__(
            in_channels, num_classes, base_channels, depth, padding, "transposed", batch_norm
        )


def mean_iou(pred: np.ndarray, target: np.ndarray, num_classes: Scalar) -> tuple[np.ndarray, float]:
    """Per-class intersection over union of two label maps, and their mean.

    Args:
        pred, target: integer label maps of one shape (e.g. (N, H, W)), values in
            ``[0, num_classes)``.
        num_classes: K.

    Returns:
        ``(iou, mean)``: ``iou`` (K,) float64 with ``iou[k] = |pred = k and target = k| /
        |pred = k or target = k|``, NaN for a class found in neither map (nothing to
        score); ``mean`` the mean of the classes that are not NaN.
    """
    k = int(num_classes)
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    target = np.asarray(target, dtype=np.int64).reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have one shape, got {pred.shape} {target.shape}")
    # confusion[i, j]: pixels of true class i predicted as j.
    confusion = np.bincount(target * k + pred, minlength=k * k).reshape(k, k)
    intersection = np.diag(confusion).astype(np.float64)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, intersection / union, np.nan)
    return iou, float(np.nanmean(iou))
