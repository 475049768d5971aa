"""Perceptron explorer: step through the epochs of training and watch the boundary move.

The perceptron's decision boundary ``w1 x1 + w2 x2 + b = 0`` is a line. On a linearly
separable dataset the training rule stops moving it after finitely many mistakes; on
XOR or on overlapping classes it keeps moving forever. The explorer trains on a 2-D
dataset chosen from :data:`DATASETS`, and an epoch slider shows the line and the
misclassified points after each epoch, next to the mistakes of every epoch.

Training is a ``train_perceptron(x, y, num_epochs) -> (w, mistakes)`` function (the
notebook's): the student's when it works, the course reference otherwise, with a notice.
Because training starts from zero weights and is deterministic, the weights after epoch
``k`` are those of ``train_perceptron(x, y, k)``; :func:`epoch_weights` collects them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.exercises.a1.perceptron import train_perceptron
from dlcourse.optim.perceptron import decision_boundary, sign
from dlcourse.widgets.base import WidgetApp, resolve_impl

TrainFn = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]

MAX_EPOCHS = 40
"""The epoch slider's range: 1 to this many epochs."""


reference_train: TrainFn = train_perceptron
"""The exercise's reference, :func:`dlcourse.exercises.a1.perceptron.train_perceptron`."""


def _blobs(rng: np.random.Generator, spread: float, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds around (-1.5, -1) and (1.5, 1), ``n`` points each."""
    x = np.vstack(
        [rng.normal([-1.5, -1.0], spread, (n, 2)), rng.normal([1.5, 1.0], spread, (n, 2))]
    )
    return x, np.repeat([-1.0, 1.0], n)


def make_dataset(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x (N, 2), y (N,))`` with labels in {-1, +1} for a dataset of DATASETS."""
    rng = np.random.default_rng(seed)
    if name == "separable blobs":
        return _blobs(rng, 0.6)
    if name == "AND":
        x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return x, np.array([-1.0, -1.0, -1.0, 1.0])
    if name == "XOR":
        x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return x, np.array([-1.0, 1.0, 1.0, -1.0])
    if name == "noisy XOR":
        centres = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        labels = np.array([-1.0, 1.0, 1.0, -1.0])
        which = np.repeat(np.arange(4), 10)
        return centres[which] + rng.normal(0.0, 0.12, (40, 2)), labels[which]
    if name == "overlapping blobs":
        return _blobs(rng, 1.6)
    raise ValueError(f"name must be one of {list(DATASETS)}, got {name!r}")


DATASETS: tuple[str, ...] = ("separable blobs", "AND", "XOR", "noisy XOR", "overlapping blobs")
"""The datasets the dropdown offers; the first two are linearly separable."""


def epoch_weights(
    train: TrainFn, x: np.ndarray, y: np.ndarray, max_epochs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(weights (E, 3), mistakes (E,))``: the weights after each epoch 1..E.

    ``E`` is ``max_epochs``, or fewer when training converged earlier (later epochs would
    not change anything). Each row is ``train(x, y, k)[0]`` for ``k = 1..E``.
    """
    _, mistakes = train(x, y, max_epochs)
    mistakes = np.asarray(mistakes, dtype=np.int64).reshape(-1)
    weights = np.array(
        [np.asarray(train(x, y, k)[0], dtype=np.float64) for k in range(1, len(mistakes) + 1)]
    )
    return weights.reshape(len(mistakes), x.shape[1] + 1), mistakes


def training_errors(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean (N,): which examples the weights ``(w1, w2, b)`` misclassify (ties are +1)."""
    return sign(x @ weights[:-1] + weights[-1]) != y


def resolve_training(namespace: Mapping[str, object] | None):
    """The student's ``train_perceptron`` if it runs on AND, else the reference."""
    x, y = make_dataset("AND")
    return resolve_impl("train_perceptron", namespace, reference_train, probe=lambda f: f(x, y, 3))


# --------------------------------------------------------------------------- widget


@dataclass(frozen=True)
class PerceptronState:
    """What the explorer shows: a dataset, the weights after ``epoch`` and its errors.

    ``mistakes`` (E,) are the mistakes of every epoch trained (E <= MAX_EPOCHS);
    ``shown_epoch`` is the epoch drawn (the slider's, or E when training stopped earlier);
    ``boundary`` is the line's two end points in the plot box, or None.
    """

    dataset: str
    x: np.ndarray
    y: np.ndarray
    shown_epoch: int
    weights: np.ndarray
    wrong: np.ndarray
    mistakes: np.ndarray
    boundary: np.ndarray | None
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    converged: bool
    notice: str


class PerceptronExplorer(WidgetApp[PerceptronState]):
    """A dataset dropdown and an epoch slider over perceptron training.

    In a notebook: ``PerceptronExplorer(namespace=globals())`` trains with the student's
    ``train_perceptron`` where it works. Training runs are cached per dataset.
    """

    figsize = (10.0, 3.6)

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        self.resolved = resolve_training(namespace)
        self._runs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """The dataset and the epoch to show."""
        return {
            "dataset": widgets.Dropdown(options=list(DATASETS), value=DATASETS[0],
                                        description="dataset"),
            "epoch": widgets.IntSlider(value=1, min=1, max=MAX_EPOCHS, description="epoch",
                                       continuous_update=False),
        }  # fmt: skip

    def run(self, dataset: str) -> tuple[np.ndarray, np.ndarray]:
        """The per-epoch weights and mistakes of ``dataset`` (trained once, then cached)."""
        if dataset not in self._runs:
            x, y = make_dataset(dataset)
            self._runs[dataset] = epoch_weights(self.resolved.impl, x, y, MAX_EPOCHS)
        return self._runs[dataset]

    def compute(self, dataset: str, epoch: int) -> PerceptronState:
        """The weights after ``epoch`` (or after the last epoch, if training stopped)."""
        x, y = make_dataset(dataset)
        weights, mistakes = self.run(dataset)
        shown = min(int(epoch), len(mistakes))
        w = weights[shown - 1]
        low, high = x.min(axis=0) - 0.6, x.max(axis=0) + 0.6
        xlim, ylim = (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))
        return PerceptronState(
            dataset=dataset,
            x=x,
            y=y,
            shown_epoch=shown,
            weights=w,
            wrong=training_errors(w, x, y),
            mistakes=mistakes,
            boundary=decision_boundary(w, xlim, ylim),
            xlim=xlim,
            ylim=ylim,
            converged=bool(mistakes[-1] == 0),
            notice=self.resolved.notice,
        )

    def draw(self, state: PerceptronState, fig: Figure) -> None:
        """Left: data, boundary and wrong points; right: mistakes per epoch."""
        ax_data, ax_mistakes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        x, y = state.x, state.y
        grid_1, grid_2 = np.meshgrid(np.linspace(*state.xlim, 150), np.linspace(*state.ylim, 150))
        side = sign(grid_1 * state.weights[0] + grid_2 * state.weights[1] + state.weights[2])
        ax_data.contourf(grid_1, grid_2, side, levels=[-2, 0, 2], colors=["tab:orange", "tab:blue"],
                         alpha=0.12)  # fmt: skip
        ax_data.scatter(*x[y > 0].T, marker="o", color="tab:blue", label="+1")
        ax_data.scatter(*x[y < 0].T, marker="x", color="tab:orange", label="-1")
        if state.wrong.any():
            ax_data.scatter(*x[state.wrong].T, s=160, facecolors="none", edgecolors="red",
                            label="misclassified")  # fmt: skip
        if state.boundary is not None:
            ax_data.plot(*state.boundary.T, color="black", linewidth=1.5)
        ax_data.set_xlim(state.xlim)
        ax_data.set_ylim(state.ylim)
        ax_data.set_title(f"{state.dataset}: after epoch {state.shown_epoch}", fontsize=10)
        ax_data.legend(fontsize=7, loc="lower right")
        epochs = np.arange(1, state.mistakes.size + 1)
        ax_mistakes.bar(epochs, state.mistakes, color="tab:gray")
        ax_mistakes.bar([state.shown_epoch], [state.mistakes[state.shown_epoch - 1]],
                        color="tab:red")  # fmt: skip
        ax_mistakes.set_xlim(0.4, MAX_EPOCHS + 0.6)
        ax_mistakes.set_xlabel("epoch")
        ax_mistakes.set_title("mistakes during each epoch", fontsize=10)
        ax_mistakes.grid(alpha=0.3, axis="y")
        fig.tight_layout()

    def describe(self, state: PerceptronState) -> str:
        """Epoch, wrong points and whether training has stopped."""
        stop = (
            f"training converged: no mistakes in the last epoch ({state.mistakes.size})"
            if state.converged
            else f"not converged after {state.mistakes.size} epochs: "
            f"{int(state.mistakes[-1])} mistakes in the last epoch"
        )
        return (
            f"after epoch {state.shown_epoch}: w = ({state.weights[0]:.3f}, "
            f"{state.weights[1]:.3f}), b = {state.weights[2]:.3f}; "
            f"{int(state.wrong.sum())} of {state.y.size} points misclassified; {stop}."
        )
