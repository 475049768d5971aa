"""dlcourse.torchnn.init against torch.nn.init: fans, identical draws, sample statistics.

Statistical tolerances come from the sample size ``n``: the sample standard deviation of
``n`` Gaussian draws has a relative standard error of ``1 / sqrt(2 n)``; the mean square
of ``n`` uniform draws on ``[-a, a]`` has mean ``a**2 / 3`` and relative standard error
``sqrt(0.8 / n)``. Each check allows 6 standard errors.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torchvision_oracle import import_torchvision

from dlcourse.torchnn import (
    BatchNorm2d,
    Conv2d,
    DropConnectLinear,
    LayerNorm,
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

DT = torch.float64


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Linear(7, 3),
        lambda: nn.Conv2d(6, 4, (3, 2), groups=2),
        lambda: nn.Conv1d(4, 8, 5),
        lambda: nn.Conv3d(2, 3, (1, 2, 3)),
        lambda: Conv2d(6, 9, 3, groups=3),
        lambda: DropConnectLinear(5, 2),
    ],
    ids=["linear", "conv2d-grouped", "conv1d", "conv3d", "ours-conv2d", "ours-dropconnect"],
)
def test_fans_match_torch(make):
    """Are (fan_in, fan_out) torch's for linear and convolution weights (conv: C/g*KH*KW)?"""
    weight = make().weight
    assert fan_in_and_fan_out(weight) == nn.init._calculate_fan_in_and_fan_out(weight)


def test_conv_fan_in_is_channels_per_group_times_kernel():
    """A (8, 6 // 2, 3, 5) grouped conv weight: fan_in 3 * 15 = 45, fan_out 8 * 15 = 120."""
    assert fan_in_and_fan_out(Conv2d(6, 8, (3, 5), groups=2).weight) == (45, 120)


# (ours, torch's, keyword arguments for both): the same normal_/uniform_ call underneath.
PAIRS = [
    (normal_, lambda t: nn.init.normal_(t, 0.0, 0.01), {}),
    (xavier_normal_, nn.init.xavier_normal_, {"gain": 1.5}),
    (xavier_uniform_, nn.init.xavier_uniform_, {"gain": 0.5}),
    (kaiming_normal_, nn.init.kaiming_normal_, {}),
    (kaiming_normal_, nn.init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "tanh"}),
    (kaiming_uniform_, nn.init.kaiming_uniform_, {}),
    (
        lambda t: kaiming_uniform_(t, nonlinearity="leaky_relu", negative_slope=0.2),
        lambda t: nn.init.kaiming_uniform_(t, a=0.2, nonlinearity="leaky_relu"),
        {},
    ),
    (lecun_normal_, lambda t: nn.init.kaiming_normal_(t, nonlinearity="linear"), {}),
    (lecun_uniform_, lambda t: nn.init.kaiming_uniform_(t, nonlinearity="linear"), {}),
    (zeros_, nn.init.zeros_, {}),
    (lambda t: constant_(t, 0.3), lambda t: nn.init.constant_(t, 0.3), {}),
]
PAIR_IDS = [
    "normal",
    "xavier_normal",
    "xavier_uniform",
    "kaiming_normal",
    "kaiming_normal-fan_out-tanh",
    "kaiming_uniform",
    "kaiming_uniform-leaky",
    "lecun_normal",
    "lecun_uniform",
    "zeros",
    "constant",
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("shape", [(5, 7), (6, 3, 3, 2)], ids=["linear", "conv"])
def test_initializers_draw_what_torch_nn_init_draws(device, ours, theirs, kwargs, shape):
    """Under one seed, is each initializer torch.nn.init's counterpart element for element?"""
    mine = torch.empty(shape, dtype=DT, device=device)
    reference = torch.empty(shape, dtype=DT, device=device)
    torch.manual_seed(0)
    ours(mine, **kwargs)
    torch.manual_seed(0)
    theirs(reference, **kwargs)
    assert torch.equal(mine, reference)


def test_generator_gives_reproducible_draws_independent_of_the_global_seed():
    """Two generators with one seed give the same weights; the global RNG is untouched."""
    state = torch.random.get_rng_state()
    first = kaiming_normal_(torch.empty(4, 5), generator=torch.Generator().manual_seed(1))
    second = kaiming_normal_(torch.empty(4, 5), generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, second)
    assert torch.equal(torch.random.get_rng_state(), state)


# fan_in = 32 * 3 * 3 = 288 and fan_out = 64 * 3 * 3 = 576 for a (64, 32, 3, 3) weight.
SHAPE, FAN_IN, FAN_OUT = (64, 32, 3, 3), 288, 576
N = math.prod(SHAPE)
NORMAL_STDS = [
    (lambda t: normal_(t, 0.05), 0.05),
    (xavier_normal_, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (kaiming_normal_, math.sqrt(2 / FAN_IN)),
    (lambda t: kaiming_normal_(t, mode="fan_out"), math.sqrt(2 / FAN_OUT)),
    (lecun_normal_, math.sqrt(1 / FAN_IN)),
]
UNIFORM_BOUNDS = [
    (xavier_uniform_, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (kaiming_uniform_, math.sqrt(6 / FAN_IN)),
    (lecun_uniform_, math.sqrt(3 / FAN_IN)),
]


@pytest.mark.parametrize(
    ("init", "std"), NORMAL_STDS, ids=["small", "xavier", "he", "he-out", "lecun"]
)
def test_normal_initializers_have_the_formula_std(device, init, std):
    """Mean 0 and the lectures' std, within 6 standard errors of a sample of 18432 draws?"""
    torch.manual_seed(2)
    weight = init(torch.empty(SHAPE, dtype=DT, device=device))
    assert abs(weight.mean().item()) <= 6 * std / math.sqrt(N)
    assert abs(weight.std().item() / std - 1) <= 6 / math.sqrt(2 * N)


@pytest.mark.parametrize(("init", "bound"), UNIFORM_BOUNDS, ids=["xavier", "he", "lecun"])
def test_uniform_initializers_fill_the_formula_interval(device, init, bound):
    """All draws in [-a, a], the extremes within 0.1% of +-a, mean square a**2 / 3?"""
    torch.manual_seed(3)
    weight = init(torch.empty(SHAPE, dtype=DT, device=device))
    assert weight.abs().max().item() <= bound
    # P(max < a (1 - d)) = (1 - d / 2)**N, about e**-9 for d = 1e-3 and N = 18432.
    assert weight.max().item() >= bound * (1 - 1e-3)
    assert weight.min().item() <= -bound * (1 - 1e-3)
    mean_square = (weight**2).mean().item()
    assert abs(mean_square / (bound**2 / 3) - 1) <= 6 * math.sqrt(0.8 / N)


def _small_net(device):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        Conv2d(8, 8, 3, groups=2),
        BatchNorm2d(8),
        nn.Flatten(),
        LayerNorm(8 * 4 * 4),
        nn.Linear(8 * 4 * 4, 10),
    ).to(device, DT)


@pytest.mark.parametrize(
    ("scheme", "torch_init"),
    [
        ("kaiming_normal", lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")),
        ("xavier_uniform", lambda w: nn.init.xavier_uniform_(w, nn.init.calculate_gain("relu"))),
        ("small", lambda w: nn.init.normal_(w, 0.0, 0.01)),
        ("lecun_normal", lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear")),
    ],
    ids=["kaiming_normal", "xavier_uniform", "small", "lecun_normal"],
)
def test_init_model_equals_torch_init_applied_layer_by_layer(device, scheme, torch_init):
    """Is init_model torch.nn.init on every conv/linear weight in modules() order, zero
    biases, and norms at weight 1, bias 0?"""
    ours, theirs = _small_net(device), _small_net(device)
    for module in ours.modules():
        if isinstance(module, (nn.BatchNorm2d, BatchNorm2d, LayerNorm)):
            with torch.no_grad():
                module.weight.normal_()
                module.bias.normal_()
    torch.manual_seed(4)
    init_model(ours, scheme)
    torch.manual_seed(4)
    for module in theirs.modules():
        if isinstance(module, (nn.Conv2d, Conv2d, nn.Linear)):
            torch_init(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, BatchNorm2d, LayerNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    for (name, got), (_, want) in zip(
        ours.state_dict().items(), theirs.state_dict().items(), strict=True
    ):
        assert torch.equal(got, want), name


def test_init_model_refuses_unknown_scheme_before_changing_anything():
    """Does scheme='he' raise a ValueError listing the schemes, leaving the model as it was?"""
    net = _small_net("cpu")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="scheme must be one of"):
        init_model(net, "he")  # type: ignore[arg-type]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


class _Block(nn.Module):
    """A residual block declaring its last norm: ``relu(x + bn2(conv2(relu(bn1(conv1(x))))))``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(channels)

    @property
    def last_norm(self) -> nn.Module:
        return self.bn2

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(out)))


def test_zero_init_last_norm_makes_each_residual_block_the_identity(device):
    """After zeroing, bn2.weight is 0 in every block and a nonnegative input passes the
    stack of blocks unchanged, in train and eval mode?"""
    net = nn.Sequential(_Block(3), _Block(3)).to(device, DT)
    names = zero_init_last_norm(net)
    assert names == ["0.bn2", "1.bn2"]
    assert all(torch.all(block.bn2.weight == 0) for block in net)
    assert all(torch.all(block.bn1.weight == 1) for block in net)
    x = torch.rand(2, 3, 4, 4, dtype=DT, device=device)
    torch.testing.assert_close(net(x), x)
    torch.testing.assert_close(net.eval()(x), x)


def test_zero_init_last_norm_zeroes_what_torchvision_zero_init_residual_zeroes(monkeypatch):
    """Declaring last_norm on torchvision's blocks: are the zeroed norms those of
    resnet18(zero_init_residual=True)?"""
    models = import_torchvision().models
    monkeypatch.setattr(
        models.resnet.BasicBlock, "last_norm", property(lambda block: block.bn2), raising=False
    )
    ours = models.resnet18(num_classes=10)
    zero_init_last_norm(ours)
    theirs = models.resnet18(num_classes=10, zero_init_residual=True)
    zero = {n for n, p in ours.named_parameters() if p.ndim == 1 and torch.all(p == 0)}
    expected = {n for n, p in theirs.named_parameters() if p.ndim == 1 and torch.all(p == 0)}
    assert zero == expected
    assert len(expected) == 8 + 20  # 8 blocks' bn2.weight, and 20 norm biases start at 0


def test_zero_init_last_norm_refuses_a_wrong_declaration(monkeypatch):
    """Is a last_norm that returns a conv refused with the block's name?"""
    monkeypatch.setattr(_Block, "last_norm", property(lambda block: block.conv2))
    with pytest.raises(ValueError, match="'0' declares last_norm, which is a Conv2d"):
        zero_init_last_norm(nn.Sequential(_Block(2)))


def test_zero_init_last_norm_refuses_a_model_without_declarations():
    """Does a model with no last_norm anywhere raise instead of silently doing nothing?"""
    with pytest.raises(ValueError, match="declares last_norm"):
        zero_init_last_norm(nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1)))


def _small_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.Conv2d(8, 4, 1), nn.Linear(4, 5)
    )


@pytest.mark.parametrize("conv_mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("linear", ["default", "zero_bias", "small"])
def test_init_cnn_draws_what_torch_nn_init_draws(conv_mode: str, linear: str) -> None:
    """Does init_cnn give the bits of torch.nn.init's He normal convolutions, unit norms
    and the chosen linear init (the torchvision constructors' loop), in the same order?"""
    torch.manual_seed(3)
    ours = init_cnn(_small_cnn(), conv_mode=conv_mode, linear=linear)  # type: ignore[arg-type]
    torch.manual_seed(3)
    theirs = _small_cnn()
    for module in theirs.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode=conv_mode, nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear) and linear != "default":
            if linear == "small":
                nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)
    mine = ours.state_dict()
    for key, expected in theirs.state_dict().items():
        assert torch.equal(mine[key], expected), key


@pytest.mark.parametrize(
    ("kwargs", "named"), [({"conv_mode": "fan_avg"}, "conv_mode"), ({"linear": "xavier"}, "linear")]
)
def test_init_cnn_names_a_bad_argument(kwargs: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        init_cnn(_small_cnn(), **kwargs)  # type: ignore[arg-type]
