"""Losses and softmax helpers against torch autograd, numeric gradients and known values."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.functional import losses
from dlcourse.gradcheck import numeric_gradient, rel_error

RTOL = 1e-10
ATOL = 1e-12
seeds = st.integers(0, 2**32 - 1)
batch_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def torch_loss_and_grad(
    fn: Callable[[torch.Tensor], torch.Tensor], prediction: np.ndarray, device: str = "cpu"
) -> tuple[float, np.ndarray]:
    """Evaluate a torch loss of one float64 tensor on ``device``; return it and its gradient."""
    t = torch.tensor(prediction, dtype=torch.float64, device=device, requires_grad=True)
    loss = fn(t)
    loss.backward()
    return loss.item(), t.grad.cpu().numpy()


def assert_matches(loss, grad, expected_loss, expected_grad):
    np.testing.assert_allclose(loss, expected_loss, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, expected_grad, rtol=RTOL, atol=ATOL)


def class_problem(n: int, c: int, seed: int, scale: float = 3.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, n)


# ----------------------------------------------------------------------- softmax


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), seed=seeds)
def test_softmax_and_log_softmax_match_torch_over_last_axis(shape, seed):
    scores = 5 * np.random.default_rng(seed).standard_normal(shape)
    t = torch.tensor(scores)
    np.testing.assert_allclose(
        losses.softmax(scores), torch.softmax(t, -1).numpy(), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        losses.log_softmax(scores), torch.log_softmax(t, -1).numpy(), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits_is_finite_and_exact(dtype):
    scores = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = losses.softmax(scores)
        log_probs = losses.log_softmax(scores)
    assert probs.dtype == dtype and log_probs.dtype == dtype
    np.testing.assert_allclose(probs, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-30)
    np.testing.assert_allclose(
        log_probs, [[0, -1e4, -2e4], [-np.log(2), -np.log(2), -2e4 - np.log(2)]], rtol=1e-6
    )


# ------------------------------------------------------------ softmax cross-entropy


@given(n=st.integers(1, 6), c=st.integers(1, 6), seed=seeds)
def test_softmax_cross_entropy_matches_torch_cross_entropy(n, c, seed):
    scores, y = class_problem(n, c, seed)
    loss, dscores = losses.softmax_cross_entropy_loss(scores, y)
    expected = torch_loss_and_grad(lambda t: F.cross_entropy(t, torch.tensor(y)), scores)
    assert_matches(loss, dscores, *expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_finite_and_correct_for_logits_of_1e4(dtype):
    scores = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]], dtype=dtype)
    y = np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dscores = losses.softmax_cross_entropy_loss(scores, y)
    # Example 0 is certain and right (loss 0); example 1 pays 1e4 nats: mean 5e3.
    assert loss.dtype == dtype and dscores.dtype == dtype
    np.testing.assert_allclose(loss, 5e3, rtol=1e-6)
    np.testing.assert_allclose(dscores, [[0, 0, 0], [0.5, -0.5, 0]], atol=1e-30)


def test_softmax_cross_entropy_gradient_matches_numeric_gradient(rng):
    scores, y = class_problem(4, 5, seed=1)
    _, dscores = losses.softmax_cross_entropy_loss(scores, y)
    numeric = numeric_gradient(lambda s: float(losses.softmax_cross_entropy_loss(s, y)[0]), scores)
    assert rel_error(numeric, dscores) < 1e-7


def test_softmax_cross_entropy_of_uniform_scores_is_log_of_class_count():
    loss, _ = losses.softmax_cross_entropy_loss(np.zeros((3, 10)), np.array([0, 4, 9]))
    np.testing.assert_allclose(loss, np.log(10), rtol=1e-14)


# ------------------------------------------------------- cross-entropy on soft labels


def soft_problem(n: int, c: int, seed: int):
    """Logits (N, C) and soft targets (N, C): random distributions, rows summing to 1."""
    rng = np.random.default_rng(seed)
    targets = rng.dirichlet(np.ones(c), size=n)
    return 3.0 * rng.standard_normal((n, c)), targets


@given(n=st.integers(1, 6), c=st.integers(1, 6), seed=seeds)
def test_soft_cross_entropy_matches_torch_cross_entropy_with_probability_targets(n, c, seed):
    scores, targets = soft_problem(n, c, seed)
    loss, dscores = losses.soft_cross_entropy_loss(scores, targets)
    expected = torch_loss_and_grad(
        lambda t: F.cross_entropy(t, torch.tensor(targets, dtype=torch.float64)), scores
    )
    assert_matches(loss, dscores, *expected)


def test_soft_cross_entropy_gradient_matches_numeric_gradient():
    scores, targets = soft_problem(4, 5, seed=2)
    _, dscores = losses.soft_cross_entropy_loss(scores, targets)
    numeric = numeric_gradient(
        lambda s: float(losses.soft_cross_entropy_loss(s, targets)[0]), scores
    )
    assert rel_error(numeric, dscores) < 1e-7


def test_soft_cross_entropy_of_one_hot_targets_is_the_hard_label_loss():
    scores, y = class_problem(5, 4, seed=3)
    soft = losses.soft_cross_entropy_loss(scores, np.eye(4)[y])
    hard = losses.softmax_cross_entropy_loss(scores, y)
    np.testing.assert_allclose(soft[0], hard[0], rtol=1e-14)
    np.testing.assert_allclose(soft[1], hard[1], rtol=1e-14, atol=1e-16)


def test_soft_cross_entropy_trains_on_mixup_targets_in_float32():
    from dlcourse.data.augment import mixup

    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 1, 2, 2)).astype(np.float32)
    mixed = mixup(x, np.arange(6) % 3, np.random.default_rng(0), num_classes=3, lam=0.7)
    scores = rng.standard_normal((6, 3)).astype(np.float32)
    loss, dscores = losses.soft_cross_entropy_loss(scores, mixed.targets)
    expected = F.cross_entropy(torch.tensor(scores), torch.tensor(mixed.targets))
    assert loss.dtype == dscores.dtype == np.float32
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-5)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (np.full((2, 3), 0.5), "row 0 summing to 1.5"),
        (np.array([[1.5, -0.5, 0.0], [0.0, 0.0, 1.0]]), r"targets must lie in \[0, 1\]"),
        (np.full((3, 3), 1 / 3), r"scores and targets must have the same shape"),
    ],
)
def test_soft_cross_entropy_refuses_targets_that_are_not_distributions(targets, message):
    with pytest.raises(ValueError, match=message):
        losses.soft_cross_entropy_loss(np.zeros((2, 3)), targets)


# ------------------------------------------------------------------- on the device


def _device_cases(rng: np.random.Generator):
    """(our loss, its prediction and target, torch's loss of (prediction, target tensor))."""
    scores, y = 3.0 * rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    soft = rng.dirichlet(np.ones(4), size=5)
    probs, binary = rng.uniform(0.05, 0.95, (5, 3)), rng.uniform(0, 1, (5, 3))
    return {
        "softmax_cross_entropy": (
            losses.softmax_cross_entropy_loss, scores, y, F.cross_entropy
        ),
        "soft_cross_entropy": (losses.soft_cross_entropy_loss, scores, soft, F.cross_entropy),
        "multiclass_svm": (
            losses.multiclass_svm_loss, scores, y, lambda t, u: 4 * F.multi_margin_loss(t, u)
        ),
        "mse": (losses.mse_loss, probs, binary, F.mse_loss),
        "bce": (losses.bce_loss, probs, binary, F.binary_cross_entropy),
        "bce_with_logits": (
            losses.bce_with_logits_loss, scores, rng.uniform(0, 1, (5, 4)),
            F.binary_cross_entropy_with_logits,
        ),
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(_device_cases(np.random.default_rng(0))))
def test_every_loss_matches_torch_on_the_device(name, device):
    loss_fn, prediction, target, torch_fn = _device_cases(np.random.default_rng(7))[name]
    loss, grad = loss_fn(prediction, target)
    t_target = torch.tensor(target, device=device)
    expected = torch_loss_and_grad(lambda t: torch_fn(t, t_target), prediction, device)
    assert_matches(loss, grad, *expected)


# ------------------------------------------------------------------ multiclass SVM


def lecture_hinge(scores: torch.Tensor, y: torch.Tensor, delta: float) -> torch.Tensor:
    """(1/N) sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + delta), written out in torch."""
    correct = scores.gather(1, y[:, None])
    margins = torch.clamp(scores - correct + delta, min=0)
    not_true = torch.ones_like(scores).scatter(1, y[:, None], 0.0)
    return (margins * not_true).sum() / scores.shape[0]


@given(n=st.integers(1, 6), c=st.integers(1, 6), delta=st.sampled_from([0.5, 1.0, 2.0]), seed=seeds)
def test_svm_loss_matches_the_lecture_hinge_written_in_torch(n, c, delta, seed):
    scores, y = class_problem(n, c, seed)
    loss, dscores = losses.multiclass_svm_loss(scores, y, delta=delta)
    expected = torch_loss_and_grad(lambda t: lecture_hinge(t, torch.tensor(y), delta), scores)
    assert_matches(loss, dscores, *expected)


@given(n=st.integers(1, 6), c=st.integers(2, 6), seed=seeds)
def test_svm_loss_is_class_count_times_torch_multi_margin_loss(n, c, seed):
    # torch's multi_margin_loss divides each example's hinge sum by the number of classes
    # C as well as by N; the lecture's loss only averages over N, hence the factor C.
    scores, y = class_problem(n, c, seed)
    loss, dscores = losses.multiclass_svm_loss(scores, y)
    expected = torch_loss_and_grad(
        lambda t: c * F.multi_margin_loss(t, torch.tensor(y), margin=1.0), scores
    )
    assert_matches(loss, dscores, *expected)


def test_svm_gradient_matches_numeric_gradient():
    scores, y = class_problem(5, 4, seed=2)
    _, dscores = losses.multiclass_svm_loss(scores, y)
    numeric = numeric_gradient(lambda s: float(losses.multiclass_svm_loss(s, y)[0]), scores)
    assert rel_error(numeric, dscores) < 1e-7


def test_svm_loss_of_lecture_style_example_by_hand():
    # Margins for the first row: 5.1 - 3.2 + 1 = 2.9 and -1.7 - 3.2 + 1 < 0 -> 2.9.
    # Second row (true class 1, score 4.9): 1.3 - 4.9 + 1 < 0 and 2.0 - 4.9 + 1 < 0 -> 0.
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0]])
    loss, dscores = losses.multiclass_svm_loss(scores, np.array([0, 1]))
    np.testing.assert_allclose(loss, 2.9 / 2, rtol=1e-14)
    np.testing.assert_array_equal(dscores, [[-0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])


def test_svm_rejects_negative_margin():
    with pytest.raises(ValueError, match="delta must be a non-negative margin"):
        losses.multiclass_svm_loss(np.zeros((2, 3)), np.array([0, 1]), delta=-1.0)


# ------------------------------------------------------------------------------ MSE


@given(shape=batch_shapes, seed=seeds)
def test_mse_matches_torch_mse_loss(shape, seed):
    rng = np.random.default_rng(seed)
    y_hat, y = rng.standard_normal(shape), rng.standard_normal(shape)
    loss, dy_hat = losses.mse_loss(y_hat, y)
    expected = torch_loss_and_grad(lambda t: F.mse_loss(t, torch.tensor(y)), y_hat)
    assert_matches(loss, dy_hat, *expected)


def test_mse_gradient_matches_numeric_gradient(rng):
    y_hat, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, dy_hat = losses.mse_loss(y_hat, y)
    numeric = numeric_gradient(lambda v: float(losses.mse_loss(v, y)[0]), y_hat)
    assert rel_error(numeric, dy_hat) < 1e-7


def test_mse_rejects_target_of_another_shape():
    with pytest.raises(ValueError, match=r"y_hat and y must have the same shape, got \(3,\)"):
        losses.mse_loss(np.zeros(3), np.zeros((3, 1)))


# ------------------------------------------------------------------------------ BCE


@given(shape=batch_shapes, soft_targets=st.booleans(), seed=seeds)
def test_bce_matches_torch_binary_cross_entropy(shape, soft_targets, seed):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.02, 0.98, shape)
    y = rng.uniform(0, 1, shape) if soft_targets else rng.integers(0, 2, shape).astype(float)
    loss, dprobs = losses.bce_loss(probs, y)
    expected = torch_loss_and_grad(lambda t: F.binary_cross_entropy(t, torch.tensor(y)), probs)
    assert_matches(loss, dprobs, *expected)


@given(shape=batch_shapes, soft_targets=st.booleans(), seed=seeds)
def test_bce_with_logits_matches_torch(shape, soft_targets, seed):
    rng = np.random.default_rng(seed)
    scores = 4 * rng.standard_normal(shape)
    y = rng.uniform(0, 1, shape) if soft_targets else rng.integers(0, 2, shape).astype(float)
    loss, dscores = losses.bce_with_logits_loss(scores, y)
    expected = torch_loss_and_grad(
        lambda t: F.binary_cross_entropy_with_logits(t, torch.tensor(y)), scores
    )
    assert_matches(loss, dscores, *expected)


@pytest.mark.parametrize(
    ("loss_fn", "low", "high"),
    [(losses.bce_loss, 0.05, 0.95), (losses.bce_with_logits_loss, -3.0, 3.0)],
)
def test_bce_gradients_match_numeric_gradient(loss_fn, low, high, rng):
    prediction = rng.uniform(low, high, (3, 4))
    y = rng.uniform(0, 1, (3, 4))
    _, grad = loss_fn(prediction, y)
    numeric = numeric_gradient(lambda v: float(loss_fn(v, y)[0]), prediction)
    assert rel_error(numeric, grad) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_of_saturated_probabilities_is_finite_and_capped_by_the_clip(dtype):
    probs = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0])  # two perfect answers, two confidently wrong ones
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dprobs = losses.bce_loss(probs, y)
    eps = np.finfo(dtype).eps
    assert np.isfinite(loss) and np.all(np.isfinite(dprobs))
    # Each wrong entry costs -log(eps); the right ones cost -log(1 - eps) ~ eps.
    np.testing.assert_allclose(loss, -2 * np.log(eps) / 4, rtol=1e-4)
    assert dprobs[2] < 0 < dprobs[3]  # gradient still pushes toward the right answer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_of_magnitude_1e3_is_finite_and_exact(dtype):
    scores = np.array([1e3, -1e3, 1e3, -1e3], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dscores = losses.bce_with_logits_loss(scores, y)
    # Right answers cost ~0, each wrong one costs 1e3 nats.
    assert loss.dtype == dtype and dscores.dtype == dtype
    np.testing.assert_allclose(loss, 2e3 / 4, rtol=1e-6)
    np.testing.assert_allclose(dscores, [0, 0, 0.25, -0.25], atol=1e-30)


def test_bce_rejects_logits_passed_as_probabilities():
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\].*bce_with_logits_loss"):
        losses.bce_loss(np.array([-2.0, 3.0]), np.array([0.0, 1.0]))


def test_bce_rejects_targets_outside_unit_interval():
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        losses.bce_with_logits_loss(np.zeros(2), np.array([0.0, 2.0]))


# --------------------------------------------------------------- dtypes and checks


@pytest.mark.parametrize(
    ("loss_fn", "make"),
    [
        (
            losses.softmax_cross_entropy_loss,
            lambda r: (r.standard_normal((4, 3)), r.integers(0, 3, 4)),
        ),
        (losses.multiclass_svm_loss, lambda r: (r.standard_normal((4, 3)), r.integers(0, 3, 4))),
        (losses.mse_loss, lambda r: (r.standard_normal((4, 3)), r.standard_normal((4, 3)))),
        (losses.bce_loss, lambda r: (r.uniform(0.1, 0.9, 4), r.integers(0, 2, 4))),
        (losses.bce_with_logits_loss, lambda r: (r.standard_normal(4), r.integers(0, 2, 4))),
    ],
)
def test_loss_float32_keeps_dtype_and_is_close_to_float64(loss_fn, make, rng):
    prediction, y = make(rng)
    loss64, grad64 = loss_fn(prediction, y)
    loss32, grad32 = loss_fn(prediction.astype(np.float32), y)
    assert loss32.dtype == np.float32 and grad32.dtype == np.float32
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("scores", "y", "message"),
    [
        (np.zeros(3), np.array([0, 1, 2]), r"scores must have shape \(N, C\)"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), r"N >= 1 examples"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), r"y must have shape \(2,\)"),
        (np.zeros((2, 3)), np.array([0, 3]), r"labels in \[0, 3\)"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "integer class labels"),
    ],
)
@pytest.mark.parametrize("loss_fn", [losses.softmax_cross_entropy_loss, losses.multiclass_svm_loss])
def test_classification_losses_reject_bad_scores_or_labels(loss_fn, scores, y, message):
    with pytest.raises(ValueError, match=message):
        loss_fn(scores, y)


def test_softmax_rejects_scalar_scores():
    with pytest.raises(ValueError, match=r"scores must have shape \(..., C\)"):
        losses.softmax(np.float64(1.0))
