"""``cnn.ipynb``: output sizes of LeNet-5, the CONV-RELU-POOL sandwich, LeNet-5's forward
and backward passes, augmentation (flip, padded crop, mixup) and the soft-label loss.

Thin calls into :mod:`dlcourse.functional` (convolution, ReLU, max pooling, the affine
layer, the soft cross-entropy), :mod:`dlcourse.convarith` and
:mod:`dlcourse.data.augment`. The notebook's forms fix the hyperparameters of LeNet-5
(LeCun et al., "Gradient-based learning applied to document recognition", 1998, with
the CONV-RELU-POOL pattern in place of its tanh and average pooling): every convolution
is 5x5 with stride 1 and no padding, every pool 2x2 with stride 2, and the widths are
6, 16, 120 and 84. The augmentations take their random choices as arrays (which images
to flip, the crop offsets, the mixing partner and weight), so they are deterministic.
"""

from __future__ import annotations

import numpy as np

from dlcourse import convarith
from dlcourse.data.augment.geometric import crop, pad_images
from dlcourse.functional.activations import relu_backward, relu_forward
from dlcourse.functional.conv_fast import conv_backward_fast, conv_forward_fast
from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.functional.losses import soft_cross_entropy_loss as _soft_cross_entropy
from dlcourse.functional.pooling import max_pool_backward, max_pool_forward

Scalar = int | float | np.ndarray

__all__ = [
    "conv_relu_pool_backward",
    "conv_relu_pool_forward",
    "lenet5_backward",
    "lenet5_forward",
    "lenet5_num_params",
    "lenet5_shapes",
    "mixup",
    "padded_crop",
    "random_flip",
    "soft_cross_entropy_loss",
]

KERNEL = 5
POOL = 2
WIDTHS = (6, 16, 120, 84)  # C1 maps, C3 maps, C5 units, F6 units


def lenet5_shapes(height: Scalar, width: Scalar) -> tuple[np.ndarray, int]:
    """``(maps, num_features)``: the ``(channels, height, width)`` after C1, S2, C3 and S4
    as an int array ``(4, 3)``, and the number of features S4 hands to C5."""
    h, w = int(height), int(width)
    rows = []
    for channels in WIDTHS[:2]:
        h, w = (convarith.conv_output_size(s, KERNEL) for s in (h, w))
        rows.append((channels, h, w))
        h, w = (convarith.conv_output_size(s, POOL, POOL) for s in (h, w))
        rows.append((channels, h, w))
    maps = np.array(rows, dtype=np.int64)
    return maps, int(np.prod(maps[-1]))


def lenet5_num_params(
    in_channels: Scalar, height: Scalar, width: Scalar, num_classes: Scalar
) -> int:
    """Weights and biases of LeNet-5 on ``(in_channels, height, width)`` images."""
    _, num_features = lenet5_shapes(height, width)
    c1, c3, c5, f6 = WIDTHS
    convs = convarith.conv_param_count(int(in_channels), c1, KERNEL) + (
        convarith.conv_param_count(c1, c3, KERNEL)
    )
    fcs = (num_features + 1) * c5 + (c5 + 1) * f6 + (f6 + 1) * int(num_classes)
    return convs + fcs


def conv_relu_pool_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """conv (stride 1, no padding) -> ReLU -> 2x2 max pool (stride 2); ``(out, cache)``.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). out: (N, F, (H-HH+1)//2, (W-WW+1)//2).
    """
    a, conv_cache = conv_forward_fast(x, w, b)
    r, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward(r, POOL, POOL, POOL)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` of :func:`conv_relu_pool_forward`."""
    conv_cache, relu_cache, pool_cache = cache
    dr = max_pool_backward(dout, pool_cache)
    da = relu_backward(dr, relu_cache)
    return conv_backward_fast(da, conv_cache)


def lenet5_forward(
    x: np.ndarray,
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
    w3: np.ndarray,
    b3: np.ndarray,
    w4: np.ndarray,
    b4: np.ndarray,
    w5: np.ndarray,
    b5: np.ndarray,
) -> tuple[np.ndarray, tuple]:
    """Class scores of LeNet-5: ``[conv-relu-pool] x 2 -> fc-relu -> fc-relu -> fc``.

    x: (N, C, H, W); w1: (6, C, 5, 5); w2: (16, 6, 5, 5); w3: (16*h4*w4, 120), the
    pooled maps flattened in (channel, row, column) order; w4: (120, 84); w5: (84, K);
    biases match. Returns ``(scores (N, K), cache)``.
    """
    s2, cache1 = conv_relu_pool_forward(x, w1, b1)
    s4, cache2 = conv_relu_pool_forward(s2, w2, b2)
    a5, fc5 = linear_forward(s4.reshape(len(s4), -1), w3, b3)
    h5, relu5 = relu_forward(a5)
    a6, fc6 = linear_forward(h5, w4, b4)
    h6, relu6 = relu_forward(a6)
    scores, fc7 = linear_forward(h6, w5, b5)
    return scores, (cache1, cache2, s4.shape, fc5, relu5, fc6, relu6, fc7)


def lenet5_backward(dscores: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """``(dx, dw1, db1, ..., dw5, db5)`` of :func:`lenet5_forward`."""
    cache1, cache2, s4_shape, fc5, relu5, fc6, relu6, fc7 = cache
    dh6, dw5, db5 = linear_backward(dscores, fc7)
    dh5, dw4, db4 = linear_backward(relu_backward(dh6, relu6), fc6)
    ds4, dw3, db3 = linear_backward(relu_backward(dh5, relu5), fc5)
    ds2, dw2, db2 = conv_relu_pool_backward(ds4.reshape(s4_shape), cache2)
    dx, dw1, db1 = conv_relu_pool_backward(ds2, cache1)
    return dx, dw1, db1, dw2, db2, dw3, db3, dw4, db4, dw5, db5


def random_flip(x: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror left-right the images ``x`` (N, C, H, W) where ``flip`` (N,) is true."""
    flip = np.asarray(flip, dtype=bool)
    return np.where(flip[:, None, None, None], x[..., ::-1], x)


def padded_crop(x: np.ndarray, pad: Scalar, top: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Zero-pad ``x`` (N, C, H, W) by ``pad`` and cut each image's H x W window back out at
    ``(top[i], left[i])``, offsets in ``[0, 2 * pad]``: a shift by up to ``pad`` pixels."""
    _, _, h, w = x.shape
    return crop(pad_images(x, int(pad)), np.asarray(top), np.asarray(left), h, w)


def mixup(
    x: np.ndarray, y: np.ndarray, num_classes: Scalar, lam: Scalar, partner: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(mixed (N, C, H, W), targets (N, K))``: each image and its one-hot label blended
    with those of ``partner[i]``, the original weighted ``lam`` (Zhang et al., 2018)."""
    lam = float(lam)
    partner = np.asarray(partner, dtype=np.intp)
    onehot = np.eye(int(num_classes))[np.asarray(y, dtype=np.intp)]
    return lam * x + (1 - lam) * x[partner], lam * onehot + (1 - lam) * onehot[partner]


def soft_cross_entropy_loss(
    scores: np.ndarray, targets: np.ndarray
) -> tuple[np.floating, np.ndarray]:
    """Mean over the batch of ``-sum_j targets_ij log softmax(scores)_ij``; ``(loss,
    dscores)``."""
    return _soft_cross_entropy(scores, targets)
