"""The demo's network: a small CNN from the NumPy layers, trained on the digits set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse.data.datasets import load_digits
from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.nn.layers import BatchNorm, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from dlcourse.nn.module import Sequential
from dlcourse.optim.optimizers import Adam
from dlcourse.optim.schedules import CosineAnnealing
from dlcourse.train.solver import History, Solver


def build_network(seed: int = 0) -> Sequential:
    """conv-bn-relu-pool twice, then two fully connected layers: (N, 1, 8, 8) -> (N, 10)."""
    return Sequential(
        Conv2d(1, 16, 3, pad=1, seed=seed),  # (N, 16, 8, 8)
        BatchNorm(16, spatial=True),
        ReLU(),
        MaxPool2d(2),  # (N, 16, 4, 4)
        Conv2d(16, 32, 3, pad=1, seed=seed + 1),  # (N, 32, 4, 4)
        BatchNorm(32, spatial=True),
        ReLU(),
        MaxPool2d(2),  # (N, 32, 2, 2)
        Flatten(),  # (N, 128)
        Linear(128, 64, seed=seed + 2),
        ReLU(),
        Dropout(0.2, seed=seed + 3),
        Linear(64, 10, seed=seed + 4),
    )


@dataclass
class TrainingResult:
    network: Sequential
    history: History
    test_accuracy: float
    num_train: int
    num_test: int


def train_on_digits(num_epochs: int = 12, seed: int = 0, progress: bool = True) -> TrainingResult:
    """Train :func:`build_network` with Adam and a cosine schedule; report test accuracy."""
    data = load_digits(seed=seed)
    # Per-channel standardization with training statistics only (see dlcourse.data).
    mean, std = data.X_train.mean(), data.X_train.std()
    x_train, x_val, x_test = ((x - mean) / std for x in (data.X_train, data.X_val, data.X_test))
    net = build_network(seed)
    optimizer = Adam(net.parameters(), lr=3e-3)
    solver = Solver(
        net,
        softmax_cross_entropy_loss,
        optimizer,
        x_train.astype(np.float64),
        data.y_train,
        x_val.astype(np.float64),
        data.y_val,
        num_epochs=num_epochs,
        batch_size=32,
        schedule=CosineAnnealing(3e-3, t_max=num_epochs),
        patience=5,
        seed=seed,
        progress=progress,
    )
    history = solver.train()
    net.eval()
    test_accuracy = solver.accuracy(x_test.astype(np.float64), data.y_test)
    return TrainingResult(net, history, test_accuracy, len(data.y_train), len(data.y_test))
