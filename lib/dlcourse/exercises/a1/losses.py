"""``losses.ipynb``: ``xxx_loss(scores, y) -> (loss, dscores)``, the library's own."""

from dlcourse.functional.losses import (
    bce_loss,
    bce_with_logits_loss,
    mse_loss,
    multiclass_svm_loss,
    softmax_cross_entropy_loss,
)

__all__ = [
    "bce_loss",
    "bce_with_logits_loss",
    "mse_loss",
    "multiclass_svm_loss",
    "softmax_cross_entropy_loss",
]
