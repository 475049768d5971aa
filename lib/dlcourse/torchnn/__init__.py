"""The course's layers as torch modules: the PyTorch counterpart of :mod:`dlcourse.nn`.

Each module is written from the lectures' formulas and checked against torch's own
(outputs, gradients and running statistics in float64); parameter and buffer names are
torch's, so state dicts move between the two.

* :mod:`~dlcourse.torchnn.conv`: ``Conv2d`` as im2col (``F.unfold``) and a matrix product.
* :mod:`~dlcourse.torchnn.batchnorm`: ``BatchNorm1d``, ``BatchNorm2d`` with running statistics.
* :mod:`~dlcourse.torchnn.norms`: ``GroupNorm``, with ``LayerNorm`` and ``InstanceNorm2d``.
* :mod:`~dlcourse.torchnn.dropout`: ``Dropout`` (both forms), ``DropConnectLinear``,
  ``StochasticDepth``.
* :mod:`~dlcourse.torchnn.transforms`: ``Cutout``, ``Mixup`` and ``soft_cross_entropy``.
* :mod:`~dlcourse.torchnn.init`: the initializers on tensors and models, ``init_model``,
  ``init_cnn`` (the architectures' recipe), ``zero_init_last_norm`` (the ``last_norm``
  convention).
* :mod:`~dlcourse.torchnn.fold`: ``fold_batchnorm`` for a whole eval-mode model (the
  ``conv_norm_pairs`` convention).
"""

from dlcourse.torchnn.batchnorm import BatchNorm1d, BatchNorm2d
from dlcourse.torchnn.conv import Conv2d, conv2d_unfold
from dlcourse.torchnn.dropout import DropConnectLinear, Dropout, StochasticDepth, keep_mask
from dlcourse.torchnn.fold import fold_batchnorm, fold_conv_batchnorm
from dlcourse.torchnn.init import (
    SCHEMES,
    constant_,
    fan_in_and_fan_out,
    init_cnn,
    init_model,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    normal_,
    xavier_normal_,
    xavier_uniform_,
    zero_init_last_norm,
    zeros_,
)
from dlcourse.torchnn.norms import GroupNorm, InstanceNorm2d, LayerNorm, group_standardize
from dlcourse.torchnn.transforms import (
    Cutout,
    Mixup,
    MixupBatch,
    cutout,
    mixup,
    soft_cross_entropy,
)

__all__ = [
    "SCHEMES",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Cutout",
    "DropConnectLinear",
    "Dropout",
    "GroupNorm",
    "InstanceNorm2d",
    "LayerNorm",
    "Mixup",
    "MixupBatch",
    "StochasticDepth",
    "constant_",
    "conv2d_unfold",
    "cutout",
    "fan_in_and_fan_out",
    "fold_batchnorm",
    "fold_conv_batchnorm",
    "group_standardize",
    "init_cnn",
    "init_model",
    "keep_mask",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "mixup",
    "normal_",
    "soft_cross_entropy",
    "xavier_normal_",
    "xavier_uniform_",
    "zero_init_last_norm",
    "zeros_",
]
