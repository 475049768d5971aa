"""VGG: the lectures' configurations and figures, and torchvision as the oracle."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision_oracle import import_torchvision
from tv_compare import adopt_state, float64_on_cpu, param_count

from dlcourse.models import vgg
from dlcourse.models.summary import layer_table

TORCHVISION_TWINS = [
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]
CONFIG_OF = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}


def _meta(build):
    with torch.device("meta"):
        return build()


@pytest.mark.parametrize(
    ("factory", "weight_layers"),
    # Lecture 001, the table "ConvNet Configuration": A 11, B 13, C 16, D 16, E 19 weight layers.
    [(vgg.vgg11, 11), (vgg.vgg13, 13), (vgg.vgg16_c, 16), (vgg.vgg16, 16), (vgg.vgg19, 19)],
)
def test_each_configuration_has_the_lectures_number_of_weight_layers(factory, weight_layers):
    model = _meta(factory)
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(layers) == weight_layers


def test_configuration_c_ends_its_last_three_stacks_with_1x1_convolutions():
    """Lecture 001's column C: conv1-256, conv1-512, conv1-512 before the 3rd-5th pools."""
    model = _meta(vgg.vgg16_c)
    kernels = [m.kernel_size for m in model.features if isinstance(m, nn.Conv2d)]
    ones = [(i, m.out_channels) for i, m in enumerate(model.features)
            if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]  # fmt: skip
    assert kernels.count((1, 1)) == 3
    assert [c for _, c in ones] == [256, 512, 512]
    for i, _ in ones:  # each 1x1 is the last conv before a pool (after its ReLU)
        assert isinstance(model.features[i + 2], nn.MaxPool2d)


@pytest.mark.parametrize(
    ("factory", "millions"),
    # Simonyan and Zisserman (2015), Table 2 "Number of parameters (in millions)".
    [(vgg.vgg11, 133), (vgg.vgg13, 133), (vgg.vgg16_c, 134), (vgg.vgg16, 138), (vgg.vgg19, 144)],
)
def test_parameter_counts_round_to_the_papers_table_2(factory, millions):
    assert round(param_count(_meta(factory)) / 1e6) == millions


def test_vgg16_has_the_lectures_138_million_parameters_mostly_in_fc6():
    """Lecture 003: "138 million parameters"; "most of these parameters are in the first
    fully connected layer"."""
    model = _meta(vgg.vgg16)
    total = param_count(model)
    assert round(total / 1e6) == 138
    fc6 = model.classifier[0]
    assert isinstance(fc6, nn.Linear)
    assert param_count(fc6) > total / 2


@pytest.mark.parametrize("name", TORCHVISION_TWINS)
def test_parameter_count_and_keys_equal_torchvision(name):
    tv = import_torchvision()
    ours = _meta(getattr(vgg, name))
    theirs = _meta(getattr(tv.models, name))
    published = tv.models.get_model_weights(name).IMAGENET1K_V1.meta["num_params"]
    assert param_count(ours) == param_count(theirs) == published
    # Same keys and shapes: torchvision's state_dict loads with no key mapping.
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }


@pytest.mark.parametrize("name", TORCHVISION_TWINS)
def test_feature_stack_equals_torchvision_in_float64(name):
    """Every configuration's conv stack (where the configurations differ) on 32x32."""
    tv = import_torchvision()
    config = CONFIG_OF[name.removesuffix("_bn")]
    batch_norm = name.endswith("_bn")
    theirs = float64_on_cpu(
        lambda: tv.models.vgg.make_layers(tv.models.vgg.cfgs[config], batch_norm)
    )
    ours = adopt_state(lambda: vgg.make_layers(vgg.CONFIGS[config], batch_norm), theirs)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    theirs.eval(), ours.eval()
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.shape == (2, 512, 1, 1)
    assert expected.std() > 0.01  # the comparison is not between two zero maps
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["vgg11", "vgg11_bn"])
def test_whole_network_equals_torchvision_in_float64(name):
    """The whole network (head included) on the smallest input, 1x3x32x32."""
    tv = import_torchvision()
    theirs = float64_on_cpu(getattr(tv.models, name)).eval()
    ours = adopt_state(getattr(vgg, name), theirs).eval()
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.std() > 0.01
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels", [1, 64, 256])
def test_three_3x3_layers_cost_27c2_weights_against_49c2_for_one_7x7(channels):
    """Lecture 002: a stack of three 3x3 layers (no bias) has 3 * 9C^2 = 27C^2 weights, one
    7x7 layer 49C^2, and both see a 7x7 window of the input."""
    stack = vgg.make_layers([channels] * 3, in_channels=channels)
    convs = [m for m in stack if isinstance(m, nn.Conv2d)]
    weights = sum(m.weight.numel() for m in convs)  # the lecture leaves biases out
    big = nn.Conv2d(channels, channels, kernel_size=7, bias=False)
    assert weights == 27 * channels**2
    assert big.weight.numel() == 49 * channels**2

    # The receptive field: the centre output of the stack depends on a 7x7 input window.
    if channels == 1:
        for conv in convs:
            nn.init.constant_(conv.weight, 1.0)
            nn.init.zeros_(conv.bias)
        x = torch.rand(1, 1, 11, 11, requires_grad=True)
        stack(x)[0, 0, 5, 5].backward()
        seen = (x.grad[0, 0] != 0).nonzero()
        assert seen.min(0).values.tolist() == [2, 2]
        assert seen.max(0).values.tolist() == [8, 8]


# VGG-16's table from lecture 002's figure "image-12", whose text the seeds lost; the
# figure is CS231n's table (Li, Johnson and Yeung, 2017, lecture 9): for each layer, the
# values it outputs ("memory") and its weights (biases left out). Every number below is
# the table's own product.
VGG16_TABLE = [
    ("conv", 224 * 224 * 64, (3 * 3 * 3) * 64),
    ("conv", 224 * 224 * 64, (3 * 3 * 64) * 64),
    ("pool", 112 * 112 * 64, 0),
    ("conv", 112 * 112 * 128, (3 * 3 * 64) * 128),
    ("conv", 112 * 112 * 128, (3 * 3 * 128) * 128),
    ("pool", 56 * 56 * 128, 0),
    ("conv", 56 * 56 * 256, (3 * 3 * 128) * 256),
    ("conv", 56 * 56 * 256, (3 * 3 * 256) * 256),
    ("conv", 56 * 56 * 256, (3 * 3 * 256) * 256),
    ("pool", 28 * 28 * 256, 0),
    ("conv", 28 * 28 * 512, (3 * 3 * 256) * 512),
    ("conv", 28 * 28 * 512, (3 * 3 * 512) * 512),
    ("conv", 28 * 28 * 512, (3 * 3 * 512) * 512),
    ("pool", 14 * 14 * 512, 0),
    ("conv", 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("conv", 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("conv", 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("pool", 7 * 7 * 512, 0),
    ("fc", 4096, 7 * 7 * 512 * 4096),
    ("fc", 4096, 4096 * 4096),
    ("fc", 1000, 4096 * 1000),
]


def test_vgg16_memory_and_parameters_per_layer_match_the_lecture_table():
    model = _meta(vgg.vgg16)
    rows = layer_table(model, (1, 3, 224, 224))
    kinds = {"Conv2d": "conv", "MaxPool2d": "pool", "Linear": "fc"}
    got = []
    for row in rows:
        if row.kind in kinds:
            module = model.get_submodule(row.name)
            weights = module.weight.numel() if hasattr(module, "weight") else 0
            got.append((kinds[row.kind], row.activations, weights))
    assert got == VGG16_TABLE
    # "Memory keeps reducing ... as the memory reduces, the number of parameters increases."
    convs = [(mem, w) for kind, mem, w in got if kind == "conv"]
    assert all(a[0] >= b[0] and a[1] <= b[1] for a, b in zip(convs, convs[1:], strict=False))


def test_vgg_sizes_halve_at_each_pool_from_224_to_7():
    """Lecture 003: 3x3 convs at stride 1, pad 1 keep the size; 2x2 pools halve it."""
    rows = layer_table(_meta(vgg.vgg16), (1, 3, 224, 224))
    pooled = [r.output_shape[-1] for r in rows if r.kind == "MaxPool2d"]
    assert pooled == [112, 56, 28, 14, 7]


def test_cifar_variant_trains_a_step_on_the_device(device):
    torch.manual_seed(0)
    model = vgg.vgg_cifar(config="A", num_classes=10).to(device)
    x = torch.randn(2, 3, 32, 32, device=device)
    y = torch.tensor([0, 3], device=device)
    scores = model(x)
    assert scores.shape == (2, 10)
    loss = nn.functional.cross_entropy(scores, y)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.features[0].weight.grad.abs().sum() > 0


def test_an_unknown_configuration_is_refused_by_name():
    with pytest.raises(ValueError, match="config must be one of"):
        vgg.vgg_cifar(config="F")  # type: ignore[arg-type]


def test_cifar_variant_is_torchvisions_conv_stack_with_a_512_wide_head():
    """Its conv stack is configuration A's (torchvision's vgg11_bn features); its head is
    512 -> 512 -> 512 -> 10 in place of 25088 -> 4096 -> 4096 -> 1000."""
    tv = import_torchvision()
    ours = _meta(lambda: vgg.vgg_cifar(config="A", num_classes=10, batch_norm=True))
    theirs = _meta(tv.models.vgg11_bn)
    assert param_count(ours.features) == param_count(theirs.features)
    head = (512 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)
    assert param_count(ours) == param_count(theirs.features) + head
