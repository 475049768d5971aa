"""AlexNet: torchvision's one-tower network as the oracle, the paper's two towers against
the lectures' layer table."""

from __future__ import annotations

import torch
from torch import nn
from torchvision_oracle import import_torchvision
from tv_compare import adopt_state, float64_on_cpu, param_count

from dlcourse.models.alexnet import LRN_ALPHA, LRN_BETA, LRN_K, LRN_SIZE, alexnet, alexnet_original
from dlcourse.models.summary import layer_table


def _meta(build):
    with torch.device("meta"):
        return build()


def test_one_tower_parameter_count_equals_torchvision():
    tv = import_torchvision()
    published = tv.models.AlexNet_Weights.IMAGENET1K_V1.meta["num_params"]
    assert param_count(_meta(alexnet)) == param_count(_meta(tv.models.alexnet)) == published


def test_one_tower_outputs_equal_torchvision_in_float64_on_the_smallest_input():
    tv = import_torchvision()
    theirs = float64_on_cpu(tv.models.alexnet).eval()
    ours = adopt_state(alexnet, theirs).eval()  # same keys: no mapping
    x = torch.randn(2, 3, 63, 63, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.std() > 0.01
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


# Lecture 003, "Full AlexNet architecture" on a 227x227x3 input: each layer's output size,
# and (from its filter column and the paper's Figure 2 for the towers) its parameters.
# conv2, conv4 and conv5 read only their own tower's half of the maps (paper, section 3.5:
# "the kernels of layer 3 take input from all kernel maps in layer 2"). NORM1 and NORM2 are
# left out: the lecture lists them after the pools, the paper (followed here) before.
LECTURE_TABLE = [
    ("features.0", (96, 55, 55), (11 * 11 * 3 + 1) * 96),  # CONV1: 96 11x11, stride 4
    ("features.3", (96, 27, 27), 0),  # MAX POOL1: 3x3, stride 2
    ("features.4", (256, 27, 27), (5 * 5 * 48 + 1) * 256),  # CONV2: 256 5x5, pad 2
    ("features.7", (256, 13, 13), 0),  # MAX POOL2
    ("features.8", (384, 13, 13), (3 * 3 * 256 + 1) * 384),  # CONV3: 384 3x3, pad 1
    ("features.10", (384, 13, 13), (3 * 3 * 192 + 1) * 384),  # CONV4
    ("features.12", (256, 13, 13), (3 * 3 * 192 + 1) * 256),  # CONV5
    ("features.14", (256, 6, 6), 0),  # MAX POOL3
    ("classifier.1", (4096,), (6 * 6 * 256 + 1) * 4096),  # FC6
    ("classifier.4", (4096,), (4096 + 1) * 4096),  # FC7
    ("classifier.6", (1000,), (4096 + 1) * 1000),  # FC8: class scores
]


def test_two_tower_network_reproduces_the_lectures_layer_table_on_227():
    model = _meta(alexnet_original)
    rows = {row.name: row for row in layer_table(model, (1, 3, 227, 227))}
    for name, shape, params in LECTURE_TABLE:
        assert rows[name].output_shape == (1, *shape), name
        assert param_count(model.get_submodule(name)) == params, name


def test_two_tower_network_has_the_lectures_61_million_parameters():
    """Lecture 003: "61 million parameters" (summary); the paper: "60 million"."""
    total = param_count(_meta(alexnet_original))
    assert round(total / 1e6) == 61
    assert total == sum(params for _, _, params in LECTURE_TABLE)


def test_grouped_convolutions_keep_the_two_towers_apart():
    """conv2's first 128 maps (tower 1) read only conv1's first 48 maps; conv3 reads both."""
    torch.manual_seed(0)
    model = alexnet_original().eval()
    conv2, conv3 = model.features[4], model.features[8]
    x = torch.randn(1, 96, 9, 9)
    bumped = x.clone()
    bumped[:, 48:] += 1.0  # change tower 2's input only
    with torch.no_grad():
        assert torch.equal(conv2(x)[:, :128], conv2(bumped)[:, :128])
        assert not torch.equal(conv2(x)[:, 128:], conv2(bumped)[:, 128:])
        y = torch.randn(1, 256, 5, 5)
        y2 = y.clone()
        y2[:, 128:] += 1.0
        assert not torch.equal(conv3(y)[:, :192], conv3(y2)[:, :192])


def test_local_response_norm_computes_the_papers_formula():
    """Paper, section 3.3: b_i = a_i / (k + alpha * sum_{j=i-n/2}^{i+n/2} a_j^2)^beta with
    k=2, n=5, alpha=1e-4, beta=0.75 (a window cut at the first and last map)."""
    a = torch.randn(1, 8, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = a * 30  # large enough for the normalization to matter
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    expected = torch.empty_like(a)
    for i in range(8):
        lo, hi = max(0, i - n // 2), min(7, i + n // 2)
        expected[:, i] = a[:, i] / (k + alpha * (a[:, lo : hi + 1] ** 2).sum(1)) ** beta
    lrn = nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)
    torch.testing.assert_close(lrn(a), expected, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(expected, a / k**beta)  # the test sees the sum


def test_two_tower_network_trains_a_step_on_the_device(device):
    torch.manual_seed(0)
    model = alexnet_original(num_classes=5).to(device)  # the one tower: checked above
    x = torch.randn(2, 3, 67, 67, device=device)  # the smallest input of the two towers
    scores = model(x)
    assert scores.shape == (2, 5)
    nn.functional.cross_entropy(scores, torch.tensor([0, 4], device=device)).backward()
    first = model.features[0]
    assert first.weight.grad is not None and torch.isfinite(first.weight.grad).all()
    assert first.weight.grad.abs().sum() > 0
