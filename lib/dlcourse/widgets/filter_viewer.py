"""Filter and activation viewer: what the first layer of a trained CNN learned and sees.

:func:`train_digit_cnn` trains a small convolutional network with the course's NumPy
layers (:mod:`dlcourse.nn`) and solver (:mod:`dlcourse.train`) on scikit-learn's
handwritten digits, each 8x8 image doubled to 16x16 so that a 5x5 filter covers a part
of a stroke rather than half the digit::

    conv 5x5, 8 filters, pad 2 -> ReLU -> max pool 2 -> flatten -> fc 512 -> 10

The first layer starts from small random filters (a tenth of He's scale), so that what
the filters learn in a short run is not hidden under their random start.

The viewer shows the eight first-layer filters, scaled for display by the student's
``normalize_filters`` when it works (the exercise's reference otherwise, with a notice),
and the activation maps of one chosen validation image: the convolution's output before
or after the ReLU. Every number on screen comes from :meth:`FilterViewer.compute`, a pure
function of the control values, tested without a browser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.data.datasets import load_digits
from dlcourse.exercises.a3 import filters as exercise
from dlcourse.functional.losses import softmax_cross_entropy_loss
from dlcourse.nn.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU
from dlcourse.nn.module import Sequential
from dlcourse.optim.optimizers import Adam
from dlcourse.train.solver import Solver
from dlcourse.widgets.base import Resolved, WidgetApp, resolve_impl

Normalizer = Callable[[np.ndarray], np.ndarray]

STAGES: tuple[str, ...] = ("after ReLU", "before ReLU")


@dataclass(frozen=True)
class Settings:
    """What is trained; the defaults are the notebook's network (about 8 s on 2 cores)."""

    num_filters: int = 8
    kernel_size: int = 5
    num_epochs: int = 2
    batch_size: int = 32
    lr: float = 3e-3
    init_scale: float = 0.1
    """Factor on the first layer's He-normal initial weights. Small random filters leave
    the gradient room to shape them, so after two epochs the learned patterns show; at
    full size the random start still dominates and the filters look like noise."""
    num_train: int | None = None
    """Training images used (None: the whole training split of 1197)."""
    seed: int = 0


@dataclass(frozen=True)
class TrainedCNN:
    """The trained network and what the viewer needs to feed it new images."""

    model: Sequential
    val_acc: tuple[float, ...]
    """Validation accuracy after each epoch."""
    x_val: np.ndarray
    """Standardized, upsampled validation images ``(N, 1, 16, 16)``."""
    y_val: np.ndarray
    pixel_mean: float
    pixel_std: float

    @property
    def filters(self) -> np.ndarray:
        """The first layer's weights ``(F, 1, k, k)``."""
        conv = self.model[0]
        assert isinstance(conv, Conv2d)
        return conv.w.data


def upsample(x: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N, C, 2H, 2W)``: every pixel repeated as a 2x2 block."""
    return np.asarray(x, dtype=np.float64).repeat(2, axis=2).repeat(2, axis=3)


@functools.lru_cache(maxsize=2)
def train_digit_cnn(settings: Settings = Settings()) -> TrainedCNN:
    """Train the module docstring's network with Adam; cached per ``settings``."""
    data = load_digits(seed=settings.seed)
    x_train, y_train = upsample(data.X_train), data.y_train
    if settings.num_train is not None:
        x_train, y_train = x_train[: settings.num_train], y_train[: settings.num_train]
    mean, std = float(x_train.mean()), float(x_train.std())
    x_train = (x_train - mean) / std
    x_val = (upsample(data.X_val) - mean) / std
    f, k = settings.num_filters, settings.kernel_size
    side = x_train.shape[2] // 2  # after the 2x2 pooling of a same-size convolution
    model = Sequential(
        Conv2d(1, f, k, pad=k // 2, seed=settings.seed),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(f * side * side, 10, seed=settings.seed + 1),
    )
    first = model[0]
    assert isinstance(first, Conv2d)
    first.w.data *= settings.init_scale
    solver = Solver(
        model,
        softmax_cross_entropy_loss,
        Adam(model.parameters(), lr=settings.lr),
        x_train,
        y_train,
        x_val,
        data.y_val,
        num_epochs=settings.num_epochs,
        batch_size=settings.batch_size,
        seed=settings.seed,
    )
    solver.train()
    model.eval()
    return TrainedCNN(model, tuple(solver.history.val_acc), x_val, data.y_val, mean, std)


def first_layer_maps(trained: TrainedCNN, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first convolution's output for one image ``(1, H, W)``: before and after ReLU.

    Both ``(F, H, W)`` (the convolution keeps the size: padding ``k // 2``).
    """
    conv = trained.model[0]
    assert isinstance(conv, Conv2d)
    before = conv.forward(np.asarray(image, dtype=np.float64)[None])[0]
    return before, np.maximum(before, 0.0)


def _probe(candidate: Normalizer) -> None:
    w = np.arange(24.0).reshape(2, 3, 2, 2) % 5 - 2.0
    w[1] = 0.7  # a constant filter
    got = np.asarray(candidate(w), dtype=np.float64)
    want = exercise.normalize_filters(w)
    if got.shape != want.shape or not np.allclose(got, want):
        raise ValueError("its result differs from the reference's")


def resolve_normalizer(namespace: Mapping[str, object] | None) -> Resolved[Normalizer]:
    """The student's ``normalize_filters`` where it works, else the exercise's reference."""
    return resolve_impl("normalize_filters", namespace, exercise.normalize_filters, probe=_probe)


@dataclass(frozen=True)
class FilterViewState:
    """The filters (normalized for display) and one image's activation maps."""

    index: int
    image: np.ndarray
    """The chosen validation image, standardized ``(16, 16)``."""
    label: int
    predicted: int
    filters: np.ndarray
    """``(F, k, k)`` in [0, 1]."""
    maps: np.ndarray
    """``(F, 16, 16)`` at the chosen stage."""
    stage: str
    strongest: int
    """The filter whose map has the largest mean activation after the ReLU."""
    notice: str


class FilterViewer(WidgetApp[FilterViewState]):
    """A validation image slider and a stage menu; filters above, activation maps below."""

    figsize = (10.0, 3.6)

    def __init__(
        self,
        trained: TrainedCNN | None = None,
        namespace: Mapping[str, object] | None = None,
        num_images: int = 40,
    ) -> None:
        self.trained = train_digit_cnn() if trained is None else trained
        self.impl = resolve_normalizer(namespace)
        self.num_images = min(num_images, len(self.trained.y_val))
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Which validation image, and whether the maps are shown before or after ReLU."""
        return {
            "index": widgets.IntSlider(
                value=0, min=0, max=self.num_images - 1, description="image",
                continuous_update=False,
            ),
            "stage": widgets.Dropdown(options=list(STAGES), value=STAGES[0], description="maps"),
        }  # fmt: skip

    def compute(self, index: int, stage: str) -> FilterViewState:
        """Filters through ``normalize_filters``; maps of validation image ``index``."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if not 0 <= index < self.num_images:
            raise ValueError(f"index must lie in [0, {self.num_images}), got {index}")
        image = self.trained.x_val[index]  # (1, 16, 16)
        before, after = first_layer_maps(self.trained, image)
        scores = self.trained.model.forward(image[None])
        filters = np.asarray(self.impl.impl(self.trained.filters), dtype=np.float64)
        return FilterViewState(
            index=index,
            image=image[0],
            label=int(self.trained.y_val[index]),
            predicted=int(np.argmax(scores[0])),
            filters=filters[:, 0],
            maps=after if stage == STAGES[0] else before,
            stage=stage,
            strongest=int(np.argmax(after.mean(axis=(1, 2)))),
            notice=self.impl.notice,
        )

    def draw(self, state: FilterViewState, fig: Figure) -> None:
        """The image, then one column per filter: the filter above, its map below."""
        num = state.filters.shape[0]
        axes = fig.subplots(2, num + 1)
        axes[0, 0].imshow(state.image, cmap="gray")
        axes[0, 0].set_title(f"label {state.label}\npredicted {state.predicted}", fontsize=8)
        axes[1, 0].axis("off")
        extent = max(float(np.abs(state.maps).max()), 1e-12)
        for f in range(num):
            axes[0, f + 1].imshow(state.filters[f], cmap="gray", vmin=0, vmax=1)
            axes[0, f + 1].set_title(f"filter {f}", fontsize=8)
            low = 0.0 if state.stage == STAGES[0] else -extent
            axes[1, f + 1].imshow(state.maps[f], cmap="magma", vmin=low, vmax=extent)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"first-layer filters and their maps ({state.stage})", fontsize=10)
        fig.tight_layout()

    def describe(self, state: FilterViewState) -> str:
        """The image's label and prediction, and its most active filter."""
        return (
            f"validation image {state.index}: label {state.label}, predicted "
            f"{state.predicted}; strongest mean activation after ReLU: filter "
            f"{state.strongest}; validation accuracy {self.trained.val_acc[-1]:.1%}"
        )
