"""The architectures' initialization (dlcourse.torchnn.init.init_cnn) against torchvision's.

Our modules are built in torchvision's order, so from one seed both constructors draw the
same numbers: every tensor of the state dict must be bit-equal, which checks the He mode,
the norms, the linear head and the module order at once.
"""

from __future__ import annotations

import pytest
import torch
from tv_compare import torchvision_model

from dlcourse.models import get_model


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "mobilenet_v2"])
def test_a_seeded_model_starts_with_torchvisions_weights(name: str) -> None:
    torch.manual_seed(0)
    ours = get_model(name).state_dict()
    torch.manual_seed(0)
    theirs = torchvision_model(name).state_dict()
    assert list(ours) == list(theirs)
    for key, expected in theirs.items():
        assert torch.equal(ours[key], expected), key
