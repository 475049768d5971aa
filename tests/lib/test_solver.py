"""The training loop on a linear softmax classifier written here with NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.nn.module import Module, Parameter
from dlcourse.optim.optimizers import SGD
from dlcourse.optim.schedules import ReduceLROnPlateau, StepDecay
from dlcourse.train.solver import Solver


class LinearSoftmax(Module):
    """scores = x @ w + b, with the gradients written out by hand."""

    def __init__(self, num_features: int, num_classes: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = Parameter(0.01 * rng.standard_normal((num_features, num_classes)))
        self.b = Parameter(np.zeros(num_classes))
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x @ self.w.data + self.b.data

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.w.grad = self._x.T @ dout
        self.b.grad = dout.sum(axis=0)
        return dout @ self.w.data.T


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    return float(loss), dscores / n


def blobs(seed: int, n_per_class: int, noise: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters in 4-D: well separated at the default noise, overlapping at 1.5."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0]])
    x = np.concatenate([c + noise * rng.standard_normal((n_per_class, 4)) for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return x, y


@pytest.fixture
def data() -> dict[str, np.ndarray]:
    x_train, y_train = blobs(0, 40)
    x_val, y_val = blobs(1, 15)
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}


def own_accuracy(model: LinearSoftmax, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(x @ model.w.data + model.b.data, axis=1) == y))


def make_solver(data: dict, lr: float = 0.05, **kwargs) -> Solver:
    """A momentum-SGD solver on ``data``; ``kwargs`` override data arrays or Solver options."""
    model = LinearSoftmax(4, 3)
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    return Solver(model, softmax_loss, opt, **{**data, **kwargs})


def test_loss_decreases_and_accuracy_rises(data) -> None:
    solver = make_solver(data, num_epochs=8, batch_size=16)
    start_acc = own_accuracy(solver.model, data["x_train"], data["y_train"])
    hist = solver.train()
    assert np.mean(hist.loss[-5:]) < 0.3 * np.mean(hist.loss[:5])
    assert start_acc < 0.8
    assert hist.train_acc[-1] >= 0.95
    assert own_accuracy(solver.model, data["x_val"], data["y_val"]) >= 0.9


def test_history_has_one_loss_per_mini_batch_and_one_accuracy_per_epoch(data) -> None:
    hist = make_solver(data, num_epochs=3, batch_size=50).train()
    assert len(hist.loss) == 3 * math.ceil(120 / 50)
    assert len(hist.train_acc) == len(hist.val_acc) == len(hist.lr) == 3


def test_epoch_accuracies_are_measured_on_the_current_weights(data) -> None:
    seen: list[tuple[float, float]] = []

    def record(epoch: int, solver: Solver) -> None:
        acc = own_accuracy(solver.model, data["x_val"], data["y_val"])
        seen.append((acc, solver.history.val_acc[epoch]))

    make_solver(data, num_epochs=4, on_epoch_end=record).train()
    assert [mine for mine, _ in seen] == [theirs for _, theirs in seen]


def test_early_stopping_stops_and_restores_the_best_validation_weights() -> None:
    # Overlapping clusters and weights that start out pointing the wrong way: validation
    # accuracy climbs for a few epochs, peaks, and then slips as training goes on.
    x_train, y_train = blobs(0, 40, noise=1.5)
    x_val, y_val = blobs(1, 15, noise=1.5)
    model = LinearSoftmax(4, 3)
    model.w.data[...] = -np.eye(4)[:, :3]
    snapshots, accs = [], []

    def record(epoch: int, solver: Solver) -> None:
        snapshots.append({k: v.copy() for k, v in solver.model.state_dict().items()})
        accs.append(own_accuracy(solver.model, x_val, y_val))

    patience = 3
    solver = Solver(
        model,
        softmax_loss,
        SGD(model.parameters(), lr=0.015),
        x_train,
        y_train,
        x_val,
        y_val,
        num_epochs=60,
        batch_size=8,
        patience=patience,
        on_epoch_end=record,
    )
    hist = solver.train()
    best = int(np.argmax(accs))  # the first epoch reaching the highest accuracy
    assert best >= 2  # the scenario really has a climb before the peak
    assert accs[-1] < accs[best]
    assert hist.stopped_early
    assert len(accs) == best + patience + 1
    assert hist.best_epoch == best
    restored = solver.model.state_dict()
    for name, value in snapshots[best].items():
        np.testing.assert_array_equal(restored[name], value)
    # Training went on after the best epoch, so the restore really changed the weights.
    assert not np.array_equal(snapshots[-1]["w"], restored["w"])


def test_same_seed_reproduces_training_and_another_seed_shuffles_differently(data) -> None:
    a, b = make_solver(data, seed=3), make_solver(data, seed=3)
    c = make_solver(data, seed=4)
    loss_a, loss_b, loss_c = a.train().loss, b.train().loss, c.train().loss
    assert loss_a == loss_b
    np.testing.assert_array_equal(a.model.w.data, b.model.w.data)
    assert loss_a != loss_c


def test_a_pure_schedule_sets_the_rate_of_each_epoch(data) -> None:
    hist = make_solver(data, num_epochs=5, schedule=StepDecay(0.2, step_size=2, gamma=0.5)).train()
    np.testing.assert_allclose(hist.lr, [0.2, 0.2, 0.1, 0.1, 0.05])


def test_plateau_scheduler_receives_validation_accuracy(data) -> None:
    model = LinearSoftmax(4, 3)
    opt = SGD(model.parameters(), lr=0.05)
    plateau = ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
    hist = Solver(model, softmax_loss, opt, **data, num_epochs=10, schedule=plateau).train()
    assert plateau.best == max(hist.val_acc)
    assert hist.lr[-1] < 0.05  # accuracy saturates on this easy set, so the rate was cut


def test_training_stops_when_the_loss_is_not_finite(data) -> None:
    calls = []

    def loss_going_nan(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(1)
        loss, dscores = softmax_loss(scores, y)
        return (math.nan if len(calls) == 3 else loss), dscores

    model = LinearSoftmax(4, 3)
    hist = Solver(model, loss_going_nan, SGD(model.parameters(), lr=0.1), **data).train()
    assert hist.diverged
    assert len(hist.loss) == 3 and math.isnan(hist.loss[-1])
    assert hist.train_acc == []


def test_progress_bar_does_not_change_the_result(data) -> None:
    quiet = make_solver(data, num_epochs=2).train()
    loud = make_solver(data, num_epochs=2, progress=True).train()
    assert quiet.loss == loud.loss


def test_train_accuracy_uses_a_subset_when_the_set_is_large(data) -> None:
    solver = make_solver(data, max_train_eval=50)
    assert len(solver.train_eval_idx) == 50
    assert len(set(solver.train_eval_idx.tolist())) == 50


@pytest.mark.parametrize(
    "change, message",
    [
        ({"y_train": np.zeros(119, dtype=int)}, "same number of examples"),
        ({"y_train": np.zeros(120)}, "integer class labels"),
        ({"y_val": None}, "both x_val and y_val"),
        ({"batch_size": 0}, "batch_size"),
        ({"num_epochs": 2.5}, "num_epochs"),
    ],
)
def test_bad_arguments_raise_value_errors(data, change, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_solver(data, **change)


def test_early_stopping_without_validation_data_is_refused(data) -> None:
    with pytest.raises(ValueError, match="validation set"):
        make_solver(data, x_val=None, y_val=None, patience=2)


def test_loss_gradient_of_the_wrong_shape_is_reported(data) -> None:
    model = LinearSoftmax(4, 3)

    def bad_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        return 0.0, scores[:, :2]

    solver = Solver(model, bad_loss, SGD(model.parameters(), lr=0.1), **data)
    with pytest.raises(ValueError, match="dscores of shape"):
        solver.train()
