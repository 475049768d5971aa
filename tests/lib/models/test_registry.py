"""The model registry: unique names, refused duplicates, every name builds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.models import get_model, list_models, register_model

# The factories of lenet, alexnet, vgg, googlenet, fcn and video.
CLASSIC_MODELS = [
    "lenet5", "alexnet", "alexnet_original",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16_c", "vgg16_c_bn",
    "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vgg_cifar",
    "googlenet", "fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16", "c3d_small",
]  # fmt: skip


def test_every_classic_model_is_registered_once():
    names = list_models()
    assert names == sorted(set(names))
    assert set(CLASSIC_MODELS) <= set(names)


@pytest.mark.parametrize("name", CLASSIC_MODELS)
def test_get_model_builds_each_name(name):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = get_model(name)
    assert isinstance(model, nn.Module)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_get_model_passes_keyword_arguments_to_the_factory():
    model = get_model("lenet5", num_classes=3)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 3)


def test_a_second_factory_under_a_taken_name_is_refused():
    before = list_models()
    with pytest.raises(ValueError, match="'vgg16' is already registered by .*vgg"):

        @register_model("vgg16")
        def impostor() -> nn.Module:  # pragma: no cover - never called
            return nn.Identity()

    assert list_models() == before


def test_an_unknown_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match="unknown model 'vgg17'") as error:
        get_model("vgg17")
    for name in CLASSIC_MODELS:
        assert name in str(error.value)
