"""Test-time augmentation: average the model's class probabilities over flipped copies.

A classifier trained with random horizontal flips has learnt that a mirrored image is
the same class; asking it about both the image and its mirror and averaging the two
softmax outputs cancels part of its error for free at test time (used for the ImageNet
entries of Krizhevsky et al. 2012 and Simonyan & Zisserman 2015, who also averaged over
crops). Vertical flips suit only data without an up and down, such as micrographs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

Flip = Literal["horizontal", "vertical"]
_FLIP_DIMS = {"horizontal": -1, "vertical": -2}  # W, H of (N, C, H, W)


@torch.no_grad()
def tta_predict(
    model: torch.nn.Module, x: torch.Tensor, flips: Sequence[Flip] = ("horizontal",)
) -> torch.Tensor:
    """Mean of ``softmax(model(view))`` over ``x`` and one flipped view per entry of ``flips``.

    Args:
        model: a classifier returning scores (logits) of shape (N, K); it runs in eval
            mode (dropout off, batch-norm running statistics) and is put back in the mode
            it was in.
        x: images, shape (N, C, H, W), on the model's device.
        flips: which flips to add; ``()`` gives the plain softmax.

    Returns:
        Class probabilities, shape (N, K), in the dtype of the model's scores (float32
        under autocast, which computes softmax in float32); each row sums to 1.
    """
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    unknown = [f for f in flips if f not in _FLIP_DIMS]
    if unknown:
        raise ValueError(f"flips must be drawn from {sorted(_FLIP_DIMS)}, got {unknown}")
    views = [x] + [x.flip(_FLIP_DIMS[f]) for f in flips]
    was_training = model.training
    model.eval()
    try:
        probs = [torch.softmax(model(v), dim=1) for v in views]
    finally:
        model.train(was_training)
    return torch.stack(probs).mean(dim=0)
