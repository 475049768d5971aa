"""Claims of hyperparameters.ipynb, proved with the notebook's settings and the references.

Step 1: the scaled-down network's first loss on the digits is log(10) to two decimals.
Step 2: 60 epochs of SGD (lr 0.1, batches of 10) fit 20 training images perfectly.
Search: with 9 trials each, the 3 x 3 grid tries 3 learning rates and random search 9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.data.datasets import load_digits
from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.nn.layers import Linear, ReLU
from dlcourse.nn.module import Sequential
from dlcourse.optim.optimizers import SGD
from dlcourse.train.search import LogUniform, grid_search, random_search
from dlcourse.train.solver import Solver


@pytest.fixture(scope="module")
def data():
    digits = load_digits(seed=0)
    mean, std = digits.X_train.mean(), digits.X_train.std()
    x_train, x_val = (
        ((x.reshape(len(x), -1) - mean) / std).astype(np.float64)
        for x in (digits.X_train, digits.X_val)
    )
    return x_train, digits.y_train, x_val, digits.y_val


def make_network(seed=0, last_scale=0.01):
    """The notebook's make_network."""
    net = Sequential(Linear(64, 32, seed=seed), ReLU(), Linear(32, 10, seed=seed + 1))
    net[2].w.data *= last_scale
    return net


def test_first_loss_of_the_scaled_network_is_log_of_ten(data):
    x_train, y_train, _, _ = data
    loss, _ = softmax_cross_entropy_loss(make_network()(x_train), y_train)
    assert float(loss) == pytest.approx(math.log(10), abs=0.01)


def test_twenty_images_are_fitted_perfectly(data):
    x_train, y_train, x_val, y_val = data
    net = make_network()
    solver = Solver(
        net, softmax_cross_entropy_loss, SGD(net.parameters(), lr=0.1), x_train[:20],
        y_train[:20], x_val, y_val, num_epochs=60, batch_size=10, restore_best=False,
    )  # fmt: skip
    history = solver.train()
    assert history.train_acc[-1] == 1.0
    assert history.val_acc[-1] < 0.9  # 20 images do not generalize


def test_random_search_tries_three_times_as_many_learning_rates():
    seen = []

    def record(lr, reg):
        seen.append(lr)
        return 0.0

    grid = {"lr": list(np.geomspace(1e-4, 1.0, 3)), "reg": list(np.geomspace(1e-6, 1e-1, 3))}
    grid_search(record, grid)
    assert len(seen) == 9 and len(set(seen)) == 3
    seen.clear()
    space = {"lr": LogUniform(1e-4, 1.0), "reg": LogUniform(1e-6, 1e-1)}
    random_search(record, space, num_trials=9, seed=0)
    assert len(seen) == 9 and len(set(seen)) == 9
