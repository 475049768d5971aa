"""Regularization explorer: training and validation curves as L2 strength and dropout change.

A network with far more weights than training examples memorises them: training
accuracy reaches 100% while validation accuracy stalls well below, and the gap between
the two curves is the lecture's sign of overfitting ("big gap: increase regularization;
no gap: increase model capacity"). The explorer trains a small fully connected network
``x -> fc -> relu -> dropout -> fc -> scores`` on a deliberately small subset of the
digits and plots both curves, so moving the L2 and dropout sliders shows the gap close.

Every number comes from :func:`train_curves`, a pure function of the two settings that
is unit-tested without a browser. The penalty and the dropout are the student's own
``l2_penalty(w, reg)`` and ``inverted_dropout_forward(x, p, seed, train)`` when they
work (found in the notebook's namespace), and the course references otherwise, with a
notice saying so. Runs are cached per setting, so revisiting a slider value is instant.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.data.datasets import load_digits
from dlcourse.exercises.a2 import regularization as exercise
from dlcourse.functional.activations import relu_backward, relu_forward
from dlcourse.functional.linear import linear_backward, linear_forward
from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.init import kaiming_normal
from dlcourse.widgets.base import WidgetApp, resolve_impl

Penalty = Callable[[np.ndarray, float], tuple[object, np.ndarray]]
Dropout = Callable[..., tuple[np.ndarray, object]]

REG_VALUES: tuple[float, ...] = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
"""The L2 strengths the slider offers (0 = no penalty)."""
DROPOUT_VALUES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
"""The drop probabilities the slider offers (0 = no dropout)."""

OVERFIT_GAP = 0.1
"""A final train - val accuracy gap at least this large is labelled overfitting."""
SMALL_GAP = 0.04
"""A gap below this is labelled "no gap"; in between, "some gap"."""


@dataclass(frozen=True)
class Settings:
    """What is trained: a small digits subset with some wrong labels and a wide hidden layer.

    A wrong label can only be fitted by memorising that one image, so the unregularised
    network's training accuracy climbs past its validation accuracy and the gap is easy
    to see; regularization stops the memorising and closes it.
    """

    num_train: int = 200
    """Training images (the first of the seeded digits training split)."""
    label_noise: float = 0.2
    """Share of the training labels replaced by a different, random class."""
    hidden: int = 64
    batch_size: int = 25
    num_epochs: int = 60
    lr: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class Curves:
    """Per-epoch measurements, each of shape (num_epochs,).

    ``train_loss`` and ``val_loss`` are the data loss (softmax cross-entropy) without the
    penalty, measured with dropout off, so the two are comparable with each other and
    across settings.
    """

    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray

    @property
    def gap(self) -> float:
        """Final training accuracy minus final validation accuracy."""
        return float(self.train_acc[-1] - self.val_acc[-1])


@dataclass(frozen=True)
class Impls:
    """The penalty and dropout the training uses, and whether they are the student's."""

    penalty: Penalty
    dropout: Dropout
    penalty_is_student: bool = False
    dropout_is_student: bool = False
    notice: str = ""


REFERENCE = Impls(penalty=exercise.l2_penalty, dropout=exercise.inverted_dropout_forward)
"""The exercises' references (:mod:`dlcourse.exercises.a2.regularization`)."""

_PROBE = np.linspace(-1.0, 1.0, 12).reshape(3, 4)


def resolve_regularizers(namespace: Mapping[str, object] | None) -> Impls:
    """The student's ``l2_penalty`` and ``inverted_dropout_forward`` where they work."""
    penalty = resolve_impl(
        "l2_penalty", namespace, REFERENCE.penalty, probe=lambda f: f(_PROBE, 0.1)
    )
    dropout = resolve_impl(
        "inverted_dropout_forward",
        namespace,
        REFERENCE.dropout,
        probe=lambda f: f(_PROBE, 0.5, 0, True),
    )
    notice = " ".join(text for text in (penalty.notice, dropout.notice) if text)
    return Impls(penalty.impl, dropout.impl, penalty.is_student, dropout.is_student, notice)


@functools.lru_cache(maxsize=4)
def digits_subset(
    num_train: int, label_noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, ...]:
    """``(x_train (num_train, 64), y_train, x_val (300, 64), y_val)``: standardized pixels.

    The first ``num_train`` images of the seeded training split (they cover every class)
    and the whole validation split, both standardized with the training subset's mean
    and standard deviation. A share ``label_noise`` of the training labels (and none of
    the validation labels) is moved to another class, chosen with ``seed``.
    """
    if not 10 <= num_train <= 1197:
        raise ValueError(f"num_train must lie in [10, 1197], got {num_train}")
    if not 0 <= label_noise < 1:
        raise ValueError(f"label_noise must lie in [0, 1), got {label_noise}")
    data = load_digits(seed=seed)
    x_train = data.X_train[:num_train].reshape(num_train, -1).astype(np.float64)
    x_val = data.X_val.reshape(len(data.y_val), -1).astype(np.float64)
    mean, std = x_train.mean(), x_train.std()
    y_train = data.y_train[:num_train].copy()
    rng = np.random.default_rng([seed, 1])
    wrong = rng.choice(num_train, int(round(label_noise * num_train)), replace=False)
    # Adding 1..9 modulo 10 always lands on a different class.
    y_train[wrong] = (y_train[wrong] + rng.integers(1, 10, size=wrong.size)) % 10
    return (x_train - mean) / std, y_train, (x_val - mean) / std, data.y_val


def _evaluate(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Data loss and accuracy of the network on ``(x (N, 64), y (N,))``, dropout off."""
    hidden, _ = relu_forward(linear_forward(x, params["w1"], params["b1"])[0])
    scores, _ = linear_forward(hidden, params["w2"], params["b2"])
    loss, _ = softmax_cross_entropy_loss(scores, y)
    return float(loss), float(np.mean(np.argmax(scores, axis=1) == y))


def train_curves(
    reg: float, p: float, impls: Impls = REFERENCE, settings: Settings = Settings()
) -> Curves:
    """Train the explorer's network with L2 strength ``reg`` and drop probability ``p``.

    Mini-batch SGD on ``data loss + reg * (sum w1**2 + sum w2**2)`` (biases are not
    penalised), with inverted dropout of probability ``p`` on the hidden layer. The
    same settings always give the same curves: the initial weights, the batch order and
    every dropout mask come from ``settings.seed``.
    """
    if not (math.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be a finite number >= 0, got {reg}")
    if not 0 <= p < 1:
        raise ValueError(f"p must lie in [0, 1), got {p}")
    x_train, y_train, x_val, y_val = digits_subset(
        settings.num_train, settings.label_noise, settings.seed
    )
    rng = np.random.default_rng(settings.seed)
    num_features, num_classes = x_train.shape[1], 10
    params = {
        "w1": kaiming_normal((num_features, settings.hidden), seed=rng),
        "b1": np.zeros(settings.hidden),
        "w2": kaiming_normal((settings.hidden, num_classes), seed=rng),
        "b2": np.zeros(num_classes),
    }
    history: dict[str, list[float]] = {name: [] for name in Curves.__dataclass_fields__}
    step = 0
    for _ in range(settings.num_epochs):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            grads = _gradients(params, x_train[batch], y_train[batch], reg, p, step, impls)
            for name, grad in grads.items():
                params[name] -= settings.lr * grad
            step += 1
        for split, x, y in (("train", x_train, y_train), ("val", x_val, y_val)):
            loss, acc = _evaluate(params, x, y)
            history[f"{split}_loss"].append(loss)
            history[f"{split}_acc"].append(acc)
    return Curves(**{name: np.array(values) for name, values in history.items()})


def _gradients(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    reg: float,
    p: float,
    step: int,
    impls: Impls,
) -> dict[str, np.ndarray]:
    """Gradients of one mini-batch's regularized loss with respect to every parameter."""
    z1, cache1 = linear_forward(x, params["w1"], params["b1"])  # (B, H)
    h, cache_relu = relu_forward(z1)
    if p > 0:
        # A fresh mask every step, reproducible from the step number.
        h_drop, _ = impls.dropout(h, p, step, True)
    else:
        h_drop = h
    scores, cache2 = linear_forward(np.asarray(h_drop), params["w2"], params["b2"])
    _, dscores = softmax_cross_entropy_loss(scores, y)
    dh_drop, dw2, db2 = linear_backward(dscores, cache2)
    if p > 0:
        # With its mask fixed, dropout is multiplication by a constant diagonal matrix, so
        # its backward pass is the same forward pass (same seed) applied to the gradient.
        dh, _ = impls.dropout(dh_drop, p, step, True)
    else:
        dh = dh_drop
    dx_unused, dw1, db1 = linear_backward(relu_backward(np.asarray(dh), cache_relu), cache1)
    del dx_unused
    grads = {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}
    if reg > 0:
        for name in ("w1", "w2"):
            _, dpenalty = impls.penalty(params[name], reg)
            grads[name] = grads[name] + np.asarray(dpenalty)
    return grads


def diagnose(gap: float) -> str:
    """The lecture's reading of the final train/val accuracy gap."""
    if gap >= OVERFIT_GAP:
        return "overfitting: large train/val gap (increase regularization)"
    if gap < SMALL_GAP:
        return "no gap: underfitting or well regularised (check the accuracy itself)"
    return "some gap: mild overfitting"


# --------------------------------------------------------------------------- widget


@dataclass(frozen=True)
class RegularizationState:
    """What the explorer shows for one (reg, p) setting."""

    reg: float
    p: float
    curves: Curves
    gap: float
    diagnosis: str
    notice: str


class RegularizationExplorer(WidgetApp[RegularizationState]):
    """Sliders for L2 strength and dropout; loss and accuracy curves with a diagnosis.

    In a notebook: ``RegularizationExplorer(namespace=globals())`` uses the student's
    ``l2_penalty`` and ``inverted_dropout_forward`` where they work.
    """

    figsize = (10.0, 3.4)

    def __init__(
        self, namespace: Mapping[str, object] | None = None, settings: Settings = Settings()
    ) -> None:
        self.impls = resolve_regularizers(namespace)
        self.settings = settings
        self._cache: dict[tuple[float, float], Curves] = {}
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """A slider over :data:`REG_VALUES` and one over :data:`DROPOUT_VALUES`."""
        style = {"description_width": "initial"}
        return {
            "reg": widgets.SelectionSlider(
                options=[(f"{value:g}", value) for value in REG_VALUES], value=0.0,
                description="L2 strength reg", continuous_update=False, style=style,
            ),
            "p": widgets.SelectionSlider(
                options=[(f"{value:g}", value) for value in DROPOUT_VALUES], value=0.0,
                description="dropout p", continuous_update=False, style=style,
            ),
        }  # fmt: skip

    def compute(self, reg: float, p: float) -> RegularizationState:
        """Train (or look up) the network for this setting and diagnose its curves."""
        key = (float(reg), float(p))
        if key not in self._cache:
            self._cache[key] = train_curves(key[0], key[1], self.impls, self.settings)
        curves = self._cache[key]
        return RegularizationState(
            reg=key[0],
            p=key[1],
            curves=curves,
            gap=curves.gap,
            diagnosis=diagnose(curves.gap),
            notice=self.impls.notice,
        )

    def draw(self, state: RegularizationState, fig: Figure) -> None:
        """Two panels: data loss per epoch and accuracy per epoch, train and val."""
        ax_loss, ax_acc = fig.subplots(1, 2)
        epochs = np.arange(1, state.curves.train_loss.size + 1)
        for ax, train, val, label in (
            (ax_loss, state.curves.train_loss, state.curves.val_loss, "data loss"),
            (ax_acc, state.curves.train_acc, state.curves.val_acc, "accuracy"),
        ):
            ax.plot(epochs, train, color="tab:blue", label="train")
            ax.plot(epochs, val, color="tab:orange", label="val")
            ax.set_xlabel("epoch")
            ax.set_title(label, fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        ax_acc.set_ylim(0, 1.02)
        fig.suptitle(
            f"reg = {state.reg:g}, p = {state.p:g}: {state.diagnosis.split(':')[0]}", fontsize=10
        )
        fig.tight_layout()

    def describe(self, state: RegularizationState) -> str:
        """Final accuracies, the gap and the diagnosis."""
        curves = state.curves
        return (
            f"final train accuracy {curves.train_acc[-1]:.1%}, val accuracy "
            f"{curves.val_acc[-1]:.1%}, gap {state.gap:+.1%}: {state.diagnosis}"
        )
