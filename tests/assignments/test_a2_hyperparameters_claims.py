"""Claims of hyperparameters.ipynb, proved with the notebook's settings and the references.

Step 1: the scaled-down network's first loss on the digits is log(10) to two decimals.
Step 2: 60 epochs of SGD (lr 0.1, batches of 10) fit 20 training images perfectly.
Search: with 9 trials each, the 3 x 3 grid tries 3 learning rates and random search 9.
The network is the notebook's ``make_network``; the numbers are read from its text and
from its training cell.
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

from .notebook_text import claim, code_cells, definition, number, numbers

NAME = "a2/hyperparameters"
make_network = definition(
    NAME, "make_network", {"Sequential": Sequential, "Linear": Linear, "ReLU": ReLU}
)


@pytest.fixture(scope="module")
def data():
    digits = load_digits(seed=0)
    mean, std = digits.X_train.mean(), digits.X_train.std()
    x_train, x_val = (
        ((x.reshape(len(x), -1) - mean) / std).astype(np.float64)
        for x in (digits.X_train, digits.X_val)
    )
    return x_train, digits.y_train, x_val, digits.y_val


def test_first_loss_of_the_scaled_network_is_log_of_ten(data):
    # "The cross-entropy loss of each example is then $-\log(1/C)$, whatever its label."
    claim(NAME, r"The cross-entropy loss of each example is then \$-\\log\(1/C\)\$")
    x_train, y_train, _, _ = data
    loss, _ = softmax_cross_entropy_loss(make_network()(x_train), y_train)
    assert float(loss) == pytest.approx(math.log(10), abs=0.01)


def test_the_network_has_the_stated_number_of_weights():
    weights = number(NAME, r"A network with {num} weights can memorise")
    assert sum(p.data.size for p in make_network().parameters()) == weights


def test_twenty_images_are_fitted_perfectly(data):
    # "Take 20 training images ... train until the training accuracy is 100%"
    count = int(number(NAME, r"Take {num} training images, switch regularization off"))
    claim(NAME, r"train until the training accuracy is 100%")
    (cell,) = [source for source in code_cells(NAME) if "small = Solver(" in source]
    lr = number(NAME, r"SGD\(net\.parameters\(\), lr={num}\),\s*x_train\[:", in_code=True)
    assert f"x_train[:{count}]" in cell and f"y_train[:{count}]" in cell
    epochs, batch = (
        int(v)
        for v in numbers(
            NAME, r"num_epochs={num},\s*batch_size={num},\s*restore_best", in_code=True
        )
    )
    x_train, y_train, x_val, y_val = data
    net = make_network()
    solver = Solver(
        net, softmax_cross_entropy_loss, SGD(net.parameters(), lr=lr), x_train[:count],
        y_train[:count], x_val, y_val, num_epochs=epochs, batch_size=batch, restore_best=False,
    )  # fmt: skip
    history = solver.train()
    assert history.train_acc[-1] == 1.0
    assert history.val_acc[-1] < 0.9  # 20 images do not generalize


def test_random_search_tries_three_times_as_many_learning_rates():
    # "Both searches get the same budget of 9 trials: a 3 × 3 grid built with your
    # `log_grid`, and 9 random settings." ... "The grid spends three trials on each of only
    # three rates; random search tries nine."
    trials, rows, cols = (
        int(v) for v in numbers(NAME, r"budget of {num} trials: a {num} × {num} grid")
    )
    claim(
        NAME, r"The grid spends three trials on each of only three rates; random search tries nine"
    )
    assert rows * cols == trials
    seen = []

    def record(lr, reg):
        seen.append(lr)
        return 0.0

    grid = {"lr": list(np.geomspace(1e-4, 1.0, rows)), "reg": list(np.geomspace(1e-6, 1e-1, cols))}
    grid_search(record, grid)
    assert len(seen) == trials and len(set(seen)) == rows
    seen.clear()
    space = {"lr": LogUniform(1e-4, 1.0), "reg": LogUniform(1e-6, 1e-1)}
    random_search(record, space, num_trials=trials, seed=0)
    assert len(seen) == trials and len(set(seen)) == trials
