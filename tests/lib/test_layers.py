"""Do the module wrappers compose into networks that match torch and pass gradient checks?"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.gradcheck import numeric_gradient, rel_error
from dlcourse.nn.layers import (
    Activation,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool,
    GroupNorm,
    LayerNorm,
    Linear,
    MaxPool2d,
    PReLU,
    ReLU,
)
from dlcourse.nn.module import Sequential


def _small_cnn(naive: bool = False) -> Sequential:
    return Sequential(
        Conv2d(2, 4, 3, pad=1, naive=naive, seed=0),
        BatchNorm(4, spatial=True),
        ReLU(),
        MaxPool2d(2),
        Conv2d(4, 4, 3, pad=1, groups=2, seed=1),
        GroupNorm(2, 4),
        PReLU(4),
        AvgPool2d(2),
        Flatten(),
        Linear(4 * 2 * 2, 6, seed=2),
        LayerNorm(6),
        Activation("tanh"),
        Linear(6, 3, seed=3),
    )


def _torch_twin(
    net: Sequential, x: np.ndarray, device: str = "cpu"
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run the same network in torch on ``device`` with the same weights; return scores and
    leaf params."""
    params = [torch.tensor(p.data, device=device, requires_grad=True) for p in net.parameters()]
    (c1w, c1b, bn_g, bn_b, c2w, c2b, gn_g, gn_b, alpha, l1w, l1b, ln_g, ln_b, l2w, l2b) = params
    h = F.conv2d(torch.tensor(x, device=device), c1w, c1b, padding=1)
    h = F.batch_norm(h, None, None, bn_g, bn_b, training=True, eps=1e-5)
    h = F.max_pool2d(F.relu(h), 2)
    h = F.conv2d(h, c2w, c2b, padding=1, groups=2)
    h = F.prelu(F.group_norm(h, 2, gn_g, gn_b, eps=1e-5), alpha)
    h = F.avg_pool2d(h, 2).flatten(1)
    h = torch.tanh(F.layer_norm(h @ l1w + l1b, (6,), ln_g, ln_b, eps=1e-5))
    return h @ l2w + l2b, params


@pytest.mark.parametrize("naive", [False, True], ids=["fast", "naive"])
def test_network_forward_and_backward_match_torch(naive, rng, device):
    net = _small_cnn(naive)
    x = rng.standard_normal((5, 2, 8, 8))
    y = rng.integers(0, 3, size=5)
    scores = net.forward(x)
    _, dscores = softmax_cross_entropy_loss(scores, y)
    dx = net.backward(dscores)

    t_scores, t_params = _torch_twin(net, x, device)
    F.cross_entropy(t_scores, torch.tensor(y, device=device)).backward()

    assert rel_error(scores, t_scores.detach().cpu().numpy()) < 1e-10
    for (name, p), tp in zip(net.named_parameters(), t_params, strict=True):
        # atol: the conv bias before batch norm has a true gradient of exactly zero.
        np.testing.assert_allclose(
            p.grad, tp.grad.cpu().numpy(), rtol=1e-8, atol=1e-12, err_msg=name
        )
    assert dx.shape == x.shape


def test_network_parameter_gradients_pass_a_numeric_check(rng):
    net = _small_cnn()
    x = rng.standard_normal((4, 2, 8, 8))
    y = rng.integers(0, 3, size=4)

    def loss_of_current_params(_: np.ndarray) -> float:
        return float(softmax_cross_entropy_loss(net.forward(x), y)[0])

    _, dscores = softmax_cross_entropy_loss(net.forward(x), y)
    dx = net.backward(dscores)
    analytic = {name: p.grad.copy() for name, p in net.named_parameters()}
    for name, p in net.named_parameters():
        numeric = numeric_gradient(loss_of_current_params, p.data)
        np.testing.assert_allclose(numeric, analytic[name], rtol=1e-5, atol=1e-8, err_msg=name)
    numeric_dx = numeric_gradient(
        lambda v: float(softmax_cross_entropy_loss(net.forward(v), y)[0]), x
    )
    np.testing.assert_allclose(numeric_dx, dx, rtol=1e-5, atol=1e-8)


def test_batchnorm_uses_running_statistics_in_eval_mode_and_saves_them(rng):
    bn = BatchNorm(3)
    x = rng.standard_normal((64, 3)) * 2.0 + 5.0
    for _ in range(50):
        bn.forward(x)
    # Fifty updates with momentum 0.1 move the zero start (1 - 0.9**50) of the way.
    np.testing.assert_allclose(bn.running_mean, (1 - 0.9**50) * x.mean(axis=0), rtol=1e-10)
    bn.eval()
    out = bn.forward(x)
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    assert set(bn.state_dict()) == {"gamma", "beta", "running_mean", "running_var"}


def test_dropout_is_the_identity_in_eval_mode_and_random_in_training(rng):
    drop = Dropout(0.5, seed=0)
    x = rng.standard_normal((10, 20))
    assert np.any(drop.forward(x) == 0)
    drop.eval()
    np.testing.assert_array_equal(drop.forward(x), x)


def test_global_average_pool_then_linear_gives_class_scores(rng):
    net = Sequential(Conv2d(3, 5, 1, seed=0), GlobalAvgPool(), Linear(5, 2, seed=1))
    assert net.forward(rng.standard_normal((4, 3, 6, 7))).shape == (4, 2)


def test_backward_before_forward_explains_the_order():
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(2, 2).backward(np.zeros((1, 2)))


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        Activation("swishy")


def test_conv_refuses_groups_that_do_not_divide_channels():
    with pytest.raises(ValueError, match="groups=3 must divide"):
        Conv2d(4, 6, 3, groups=3)


def test_strided_layers_round_the_output_size_down_like_torch(rng, device):
    x = rng.standard_normal((2, 3, 8, 8))
    conv = Conv2d(3, 4, 3, stride=2, pad=1, seed=0)  # (8 + 2 - 3) / 2 + 1 = 4.5 -> 4
    out = conv.forward(x)
    x_t, w_t, b_t = (torch.tensor(a, device=device) for a in (x, conv.w.data, conv.b.data))
    expected = F.conv2d(x_t, w_t, b_t, stride=2, padding=1)
    np.testing.assert_allclose(out, expected.cpu().numpy(), rtol=1e-10)
    assert MaxPool2d(3, stride=2).forward(x).shape == (2, 3, 3, 3)  # (8 - 3) / 2 + 1 = 3.5 -> 3


@pytest.mark.parametrize(
    ("layer", "torch_pool"), [(MaxPool2d, F.max_pool2d), (AvgPool2d, F.avg_pool2d)]
)
def test_padded_pool_layers_match_torch_as_in_resnets_stem(layer, torch_pool, rng, device):
    # He et al. (2016): the stem's 3x3 max pool with stride 2 and pad 1 halves the map.
    x = rng.standard_normal((2, 3, 8, 8))
    pool = layer(3, stride=2, pad=1)
    out = pool.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = pool.backward(dout)
    tx = torch.tensor(x, device=device, requires_grad=True)
    tout = torch_pool(tx, 3, stride=2, padding=1)
    tout.backward(torch.tensor(dout, device=device))
    assert out.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(out, tout.detach().cpu().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.cpu().numpy(), rtol=1e-10, atol=1e-12)
    assert repr(pool) == f"{layer.__name__}(3, stride=2, pad=1)"
