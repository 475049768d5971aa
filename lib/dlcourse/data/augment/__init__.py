"""Data augmentation in NumPy: random, label-preserving changes to training images.

Every random function takes the images and a ``np.random.Generator`` and returns new
arrays (the input is never modified), so a run is reproducible from one seed:
``rng = np.random.default_rng(0)``. Images are ``(N, C, H, W)`` floats, or a single image
``(C, H, W)`` which comes back with the same shape; dtype is kept (float32 stays float32).

Augmentation happens at training time only; at test time the network sees the original
images (or an average over a fixed set of crops). The recipes from the lectures:

* horizontal flips;
* random crops: CIFAR pads 4 pixels on each side and crops back to 32x32; ResNet resizes
  the shorter side to a random ``L`` in ``[256, 480]`` and takes a random 224x224 patch
  (:func:`random_scale`);
* colour jitter (brightness, contrast, saturation) and AlexNet's PCA colour shift;
* cutout (zero a random square) and mixup (blend pairs of images and their labels).
"""

from dlcourse.data.augment.color import ColorPCA, color_jitter, fit_color_pca, pca_color
from dlcourse.data.augment.geometric import (
    crop,
    horizontal_flip,
    pad_images,
    random_crop,
    random_scale,
    resize,
)
from dlcourse.data.augment.mixing import Mixup, cutout, mixup

__all__ = [
    "ColorPCA",
    "Mixup",
    "color_jitter",
    "crop",
    "cutout",
    "fit_color_pca",
    "horizontal_flip",
    "mixup",
    "pad_images",
    "pca_color",
    "random_crop",
    "random_scale",
    "resize",
]
