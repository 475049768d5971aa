"""Cutout, Mixup and soft_cross_entropy: against the NumPy augmentations and F.cross_entropy.

The NumPy functions draw their randomness from a ``numpy.random.Generator``; a second
generator with the same seed replays those draws, and the torch functions given the same
draws must produce the NumPy results exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from scipy import stats

from dlcourse.data.augment import cutout as np_cutout
from dlcourse.data.augment import mixup as np_mixup
from dlcourse.torchnn import Cutout, Mixup, cutout, mixup, soft_cross_entropy

DT = torch.float64


@pytest.mark.parametrize("size", [1, 3, 4])
def test_cutout_equals_numpy_cutout_given_the_same_centres(device, size):
    """With the centres the NumPy cutout draws, is the torch cutout its output exactly?"""
    images = np.random.default_rng(0).standard_normal((6, 2, 5, 7)) + 3
    expected = np_cutout(images, np.random.default_rng(1), size)
    replay = np.random.default_rng(1)  # the NumPy function's draws, in its order
    top = replay.integers(0, 5, size=6) - size // 2
    left = replay.integers(0, 7, size=6) - size // 2
    out = cutout(
        torch.from_numpy(images).to(device), torch.from_numpy(top), torch.from_numpy(left), size
    )
    np.testing.assert_array_equal(out.cpu().numpy(), expected)


def test_cutout_transform_zeroes_one_clipped_square_per_image_in_every_channel(device):
    """Each image loses a rectangle of at most size x size, at least its centre pixel, the
    same in every channel, and nothing else changes."""
    generator = torch.Generator().manual_seed(2)
    images = torch.rand(50, 3, 6, 6, dtype=DT, device=device) + 1
    out = Cutout(4, generator)(images)
    zero = out == 0
    assert torch.all(zero == zero[:, :1])  # all channels alike
    assert torch.equal(out[~zero], images[~zero])
    for square in zero[:, 0]:
        rows = square.any(dim=1).nonzero().flatten()
        cols = square.any(dim=0).nonzero().flatten()
        assert 1 <= len(rows) <= 4 and 1 <= len(cols) <= 4
        # A full rectangle: every zeroed row is zero over the same columns.
        assert int(square.sum()) == len(rows) * len(cols)
        assert rows[-1] - rows[0] + 1 == len(rows) and cols[-1] - cols[0] + 1 == len(cols)


def test_cutout_centres_are_uniform_over_the_image():
    """With size 1 the zeroed pixel is the centre: is each of the 16 positions about as
    frequent, by a chi-square test?"""
    generator = torch.Generator().manual_seed(3)
    images = torch.ones(4000, 1, 4, 4, dtype=DT)
    counts = (Cutout(1, generator)(images) == 0).sum(dim=0).flatten().numpy()
    assert counts.sum() == 4000
    assert stats.chisquare(counts).pvalue > 1e-6


@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_mixup_equals_numpy_mixup_given_the_same_draws(device, alpha):
    """With the lam and permutation the NumPy mixup draws, are images and soft targets
    the NumPy ones?"""
    data = np.random.default_rng(4)
    images = data.standard_normal((8, 2, 3, 3))
    y = data.integers(0, 5, size=8)
    expected = np_mixup(images, y, np.random.default_rng(5), num_classes=5, alpha=alpha)
    replay = np.random.default_rng(5)
    lam = float(replay.beta(alpha, alpha))
    partner = torch.from_numpy(replay.permutation(8))
    out = mixup(torch.from_numpy(images).to(device), torch.from_numpy(y), 5, lam, partner)
    assert out.lam == expected.lam
    np.testing.assert_array_equal(out.partner.cpu().numpy(), expected.partner)
    np.testing.assert_allclose(out.images.cpu().numpy(), expected.images, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(out.targets.cpu().numpy(), expected.targets, rtol=1e-14, atol=0)


def test_mixup_transform_with_fixed_lam_blends_images_and_labels(device):
    """Mixup(lam=0.7): images 0.7 x + 0.3 x[partner], targets the same blend of one-hots,
    each row summing to 1, partner a permutation."""
    images = torch.randn(6, 1, 2, 2, dtype=DT, device=device)
    y = torch.tensor([0, 1, 2, 0, 1, 2], device=device)
    out = Mixup(3, lam=0.7, generator=torch.Generator().manual_seed(6))(images, y)
    partner = out.partner.to(device)
    assert sorted(out.partner.tolist()) == list(range(6))
    torch.testing.assert_close(out.images, 0.7 * images + 0.3 * images[partner])
    onehot = F.one_hot(y, 3).to(DT)
    torch.testing.assert_close(out.targets, 0.7 * onehot + 0.3 * onehot[partner])
    torch.testing.assert_close(out.targets.sum(dim=1), torch.ones(6, dtype=DT, device=device))


def test_mixup_accepts_soft_labels():
    """Does mixing (N, K) soft labels blend them like one-hot rows?"""
    targets = torch.softmax(torch.randn(4, 3, dtype=DT), dim=1)
    out = mixup(torch.zeros(4, 1, 1, 1, dtype=DT), targets, 3, 0.25, torch.tensor([1, 0, 3, 2]))
    torch.testing.assert_close(out.targets, 0.25 * targets + 0.75 * targets[[1, 0, 3, 2]])


def test_mixup_lam_follows_beta_alpha_alpha():
    """Are the drawn lam values Beta(alpha, alpha), by a Kolmogorov-Smirnov test?"""
    torch.manual_seed(7)
    transform = Mixup(2, alpha=0.4)
    images, y = torch.zeros(2, 1, 1, 1, dtype=DT), torch.tensor([0, 1])
    lams = [transform(images, y).lam for _ in range(1000)]
    assert stats.kstest(lams, stats.beta(0.4, 0.4).cdf).pvalue > 1e-6


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (torch.tensor([0, 3]), r"labels in \[0, 3\)"),
        (torch.tensor([0.0, 1.0]), r"\(2,\) integer labels or \(2, 3\) soft labels"),
    ],
)
def test_mixup_refuses_bad_labels(y, message):
    """Are out-of-range and float (N,) labels refused with the layouts expected?"""
    with pytest.raises(ValueError, match=message):
        Mixup(3)(torch.zeros(2, 1, 2, 2), y)


def test_transforms_refuse_images_that_are_not_a_batch():
    """Does a (C, H, W) image name the layout "(N, C, H, W)"?"""
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\)"):
        Cutout(2)(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\)"):
        Mixup(3)(torch.zeros(3, 4, 4), torch.tensor([0, 1, 2]))


def test_soft_cross_entropy_matches_cross_entropy_with_probabilities(device):
    """With probability targets: loss and dscores equal F.cross_entropy's?"""
    torch.manual_seed(8)
    scores = (torch.randn(5, 4, dtype=DT, device=device) * 3).requires_grad_()
    targets = torch.softmax(torch.randn(5, 4, dtype=DT, device=device), dim=1)
    loss, expected = soft_cross_entropy(scores, targets), F.cross_entropy(scores, targets)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-14)
    (grad,) = torch.autograd.grad(loss, scores)
    (expected_grad,) = torch.autograd.grad(expected, scores)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-12, atol=1e-14)


def test_soft_cross_entropy_with_indices_or_one_hot_is_cross_entropy(device):
    """Class indices and their one-hot rows both give F.cross_entropy with indices?"""
    torch.manual_seed(9)
    scores = torch.randn(6, 3, dtype=DT, device=device) * 10
    y = torch.tensor([0, 2, 1, 1, 0, 2], device=device)
    expected = F.cross_entropy(scores, y)
    torch.testing.assert_close(soft_cross_entropy(scores, y), expected, rtol=1e-12, atol=1e-14)
    onehot = F.one_hot(y, 3).to(DT)
    torch.testing.assert_close(soft_cross_entropy(scores, onehot), expected, rtol=1e-12, atol=0)


def test_soft_cross_entropy_passes_gradcheck(device):
    """Do finite differences confirm the gradient of the loss in the scores?"""
    scores = torch.randn(3, 4, dtype=DT, device=device, requires_grad=True)
    targets = torch.softmax(torch.randn(3, 4, dtype=DT, device=device), dim=1)
    assert torch.autograd.gradcheck(lambda s: soft_cross_entropy(s, targets), (scores,))
