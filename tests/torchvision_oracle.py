"""Import torchvision as the oracle of ``dlcourse.models``, whatever torch build is installed.

The torchvision wheel on PyPI is built against the CUDA build of torch; with the CPU build
(this course's default install) its compiled operators (``nms``, ``roi_align``, ...) do not
load, and ``import torchvision`` fails while registering shape functions for two of them.
The architectures we compare against are pure Python and use none of those operators, so
where they are missing we declare the two schemas torchvision registers eagerly and import
it again. Where the compiled operators load (a matching build, a GPU runner), nothing is
declared.
"""

from __future__ import annotations

import sys

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_LIBRARY: list[torch.library.Library] = []  # kept alive: dropping it removes the schemas


def import_torchvision():
    """Return the ``torchvision`` module, importable with or without its compiled ops."""
    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [name for name in sys.modules if name.startswith("torchvision")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "DEF")
        for schema in _SCHEMAS:
            library.define(schema)
        _LIBRARY.append(library)
        import torchvision
    return torchvision
