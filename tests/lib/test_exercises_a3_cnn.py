"""The references of cnn.ipynb against PyTorch (float64) and finite differences.

LeNet-5 and its CONV-RELU-POOL sandwich are compositions of the library's layers; these
tests check the composition itself (order, flattening layout, the gradient routing back
through it) against torch's autograd, and the augmentations against direct definitions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.exercises.a3 import cnn as ex
from dlcourse.gradcheck import numeric_gradient_array, rel_error


def _lenet_params(rng, c, h, w, k):
    _, num_features = ex.lenet5_shapes(h, w)
    shapes = [(6, c, 5, 5), (16, 6, 5, 5), (num_features, 120), (120, 84), (84, k)]
    params = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        params.append(rng.standard_normal(shape) * np.sqrt(2.0 / fan_in))
        params.append(0.1 * rng.standard_normal(shape[0] if len(shape) == 4 else shape[1]))
    return params


def _torch_lenet(x, params):
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    s2 = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    s4 = F.max_pool2d(F.relu(F.conv2d(s2, w2, b2)), 2)
    c5 = F.relu(s4.flatten(1) @ w3 + b3)
    f6 = F.relu(c5 @ w4 + b4)
    return f6 @ w5 + b5, s4


@pytest.mark.parametrize(("c", "h", "w", "k"), [(3, 32, 32, 8), (1, 21, 27, 4)])
def test_lenet5_forward_and_backward_match_torch_autograd(device, c, h, w, k):
    rng = np.random.default_rng(h + w)
    x = rng.standard_normal((3, c, h, w))
    params = _lenet_params(rng, c, h, w, k)
    dscores = rng.standard_normal((3, k))
    scores, cache = ex.lenet5_forward(x, *params)
    grads = ex.lenet5_backward(dscores, cache)

    tensors = [torch.tensor(a, device=device, requires_grad=True) for a in (x, *params)]
    t_scores, s4 = _torch_lenet(tensors[0], tensors[1:])
    t_scores.backward(torch.tensor(dscores, device=device))
    maps, num_features = ex.lenet5_shapes(h, w)
    assert tuple(s4.shape[1:]) == tuple(maps[-1]) and num_features == s4[0].numel()
    np.testing.assert_allclose(scores, t_scores.detach().cpu().numpy(), rtol=1e-10, atol=1e-12)
    assert len(grads) == len(tensors)
    for grad, tensor in zip(grads, tensors, strict=True):
        np.testing.assert_allclose(grad, tensor.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)


def test_lenet5_num_params_matches_torch_modules():
    for c, h, w, k in [(3, 32, 32, 10), (1, 28, 28, 10), (2, 41, 19, 5)]:
        _, num_features = ex.lenet5_shapes(h, w)
        layers = [
            torch.nn.Conv2d(c, 6, 5),
            torch.nn.Conv2d(6, 16, 5),
            torch.nn.Linear(num_features, 120),
            torch.nn.Linear(120, 84),
            torch.nn.Linear(84, k),
        ]
        expected = sum(p.numel() for layer in layers for p in layer.parameters())
        assert ex.lenet5_num_params(c, h, w, k) == expected


def test_lenet5_on_32x32_has_the_lectures_sizes():
    maps, num_features = ex.lenet5_shapes(32, 32)
    np.testing.assert_array_equal(maps, [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]])
    assert num_features == 400


def test_conv_relu_pool_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    x, w, b = (
        rng.standard_normal((2, 2, 7, 8)),
        rng.standard_normal((3, 2, 3, 3)),
        rng.standard_normal(3),
    )
    out, cache = ex.conv_relu_pool_forward(x, w, b)
    assert out.shape == (2, 3, 2, 3)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = ex.conv_relu_pool_backward(dout, cache)
    num_dx = numeric_gradient_array(lambda v: ex.conv_relu_pool_forward(v, w, b)[0], x, dout)
    num_dw = numeric_gradient_array(lambda v: ex.conv_relu_pool_forward(x, v, b)[0], w, dout)
    num_db = numeric_gradient_array(lambda v: ex.conv_relu_pool_forward(x, w, v)[0], b, dout)
    assert rel_error(dx, num_dx) < 1e-7
    assert rel_error(dw, num_dw) < 1e-7
    assert rel_error(db, num_db) < 1e-7


def test_soft_cross_entropy_matches_torch_with_probability_targets(device):
    rng = np.random.default_rng(2)
    scores, targets = rng.standard_normal((5, 4)), rng.dirichlet(np.ones(4), size=5)
    loss, dscores = ex.soft_cross_entropy_loss(scores, targets)
    t_scores = torch.tensor(scores, device=device, requires_grad=True)
    t_loss = F.cross_entropy(t_scores, torch.tensor(targets, device=device))
    t_loss.backward()
    assert abs(float(loss) - t_loss.item()) < 1e-12
    np.testing.assert_allclose(dscores, t_scores.grad.cpu().numpy(), rtol=1e-10, atol=1e-14)


def test_augmentations_match_their_definitions(device):
    rng = np.random.default_rng(3)
    x = rng.random((4, 2, 5, 6))
    flip = np.array([True, False, True, False])
    flipped = ex.random_flip(x, flip)
    t_x = torch.tensor(x, device=device)
    expected = torch.where(
        torch.tensor(flip, device=device)[:, None, None, None], t_x.flip(-1), t_x
    )
    np.testing.assert_array_equal(flipped, expected.cpu().numpy())

    top, left = np.array([0, 4, 2, 1]), np.array([4, 0, 2, 3])
    cropped = ex.padded_crop(x, 2, top, left)
    padded = F.pad(t_x, (2, 2, 2, 2)).cpu().numpy()
    for i in range(4):
        np.testing.assert_array_equal(
            cropped[i], padded[i, :, top[i] : top[i] + 5, left[i] : left[i] + 6]
        )

    y, partner = np.array([0, 2, 1, 2]), np.array([1, 3, 3, 0])
    mixed, targets = ex.mixup(x, y, 3, 0.3, partner)
    np.testing.assert_allclose(mixed[0], 0.3 * x[0] + 0.7 * x[1])
    np.testing.assert_allclose(targets[0], [0.3, 0.0, 0.7])  # partner 1 is class 2
    np.testing.assert_allclose(targets[1], [0.0, 0.0, 1.0])  # both partners are class 2
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
