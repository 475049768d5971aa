"""The classic CNN architectures in PyTorch, in torchvision's shape.

Each architecture lives in its own module; importing this package registers every factory
function, so ``get_model(name)`` and ``list_models()`` see them all.
"""

# Importing an architecture's module registers its factory functions.
from dlcourse.models import (  # noqa: F401
    alexnet,
    densenet,
    fcn,
    googlenet,
    lenet,
    mobilenet_v1,
    mobilenet_v2,
    preact_resnet,
    resnet,
    senet,
    summary,
    unet,
    vgg,
    video,
    wide_resnet,
)
from dlcourse.models.registry import get_model, list_models, register_model

__all__ = ["get_model", "list_models", "register_model"]
