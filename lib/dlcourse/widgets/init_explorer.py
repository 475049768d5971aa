"""Initialization explorer: per-layer activation histograms of a deep stack.

The lecture's activation-statistics experiment (:mod:`dlcourse.init_experiment`) with
controls: the number of layers, their width, the activation and the initialization. The
figure shows one histogram per layer and the mean and standard deviation per layer, and
the text under it says whether the activations collapse toward zero, saturate, explode or
keep their scale.

The "Xavier" and "Kaiming" choices take the weight std from the student's
``xavier_scales(fan_in, fan_out)`` and ``kaiming_std(fan_in, negative_slope)`` when they
work (found in the notebook's namespace), and from the exercises' references
(:mod:`dlcourse.exercises.a2.initialization`) otherwise, with a notice saying so.
Everything a test needs comes from :meth:`InitExplorer.compute`, a pure function of the
control values; runs are cached per setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.exercises.a2.initialization import kaiming_std, xavier_scales
from dlcourse.init_experiment import ACTIVATIONS, LayerStats, activation_statistics
from dlcourse.widgets.base import WidgetApp, resolve_impl

XavierScales = Callable[..., tuple[object, object]]
KaimingStd = Callable[..., object]

INIT_CHOICES: tuple[tuple[str, str | float], ...] = (
    ("std 0.01", 0.01),
    ("std 0.05", 0.05),
    ("std 0.1", 0.1),
    ("Xavier", "xavier"),
    ("Kaiming", "kaiming"),
)
"""The initializations offered: a fixed std, or a rule that depends on the width."""
WIDTHS: tuple[int, ...] = (128, 256, 512, 1024)
"""Layer widths offered (the lecture's 4096 is left out to keep every update quick)."""
BATCH_SIZE = 200
SEED = 0

COLLAPSE_RATIO = 0.1
"""Last-layer std below this fraction of the first layer's: the activations collapse."""
EXPLODE_RATIO = 10.0
"""Last-layer std above this multiple of the first layer's: the activations explode."""
SATURATED_SHARE = 0.5
"""At least this share of saturated tanh/sigmoid units in the last layer: saturation."""


def _positive_number(value: object) -> float:
    number = float(np.asarray(value))
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"expected a positive std, got {number}")
    return number


@dataclass(frozen=True)
class Scales:
    """The std rules the explorer uses, and the notice when a reference stands in."""

    xavier: XavierScales
    kaiming: KaimingStd
    notice: str = ""

    def std(self, init: str | float, width: int) -> float:
        """The weight std for a square ``(width, width)`` layer under ``init``."""
        if init == "xavier":
            return _positive_number(self.xavier(np.array(width), np.array(width))[0])
        if init == "kaiming":
            return _positive_number(self.kaiming(np.array(width), np.array(0.0)))
        return float(init)


REFERENCE = Scales(xavier=xavier_scales, kaiming=kaiming_std)
"""The exercises' references (:mod:`dlcourse.exercises.a2.initialization`)."""


def resolve_scales(namespace: Mapping[str, object] | None) -> Scales:
    """The student's ``xavier_scales`` and ``kaiming_std`` where they give a positive std."""
    xavier = resolve_impl(
        "xavier_scales",
        namespace,
        REFERENCE.xavier,
        probe=lambda f: _positive_number(f(np.array(8), np.array(8))[0]),
    )
    kaiming = resolve_impl(
        "kaiming_std",
        namespace,
        REFERENCE.kaiming,
        probe=lambda f: _positive_number(f(np.array(8), np.array(0.0))),
    )
    notice = " ".join(text for text in (xavier.notice, kaiming.notice) if text)
    return Scales(xavier.impl, kaiming.impl, notice)


def diagnose(stats: list[LayerStats]) -> str:
    """The lecture's reading of a run: collapse, saturation, explosion or a stable scale."""
    first, last = stats[0], stats[-1]
    if last.frac_saturated >= SATURATED_SHARE:
        return "activations saturate: the local gradients vanish"
    if last.std < COLLAPSE_RATIO * first.std:
        return "activations collapse toward zero"
    if last.std > EXPLODE_RATIO * first.std:
        return "activations explode"
    return "activations keep their scale"


@dataclass(frozen=True)
class InitState:
    """What the explorer shows for one setting."""

    depth: int
    width: int
    activation: str
    init: str | float
    weight_std: float
    stats: list[LayerStats]
    diagnosis: str
    notice: str

    @property
    def means(self) -> np.ndarray:
        """Mean of each layer's activations, shape ``(depth,)``."""
        return np.array([s.mean for s in self.stats])

    @property
    def stds(self) -> np.ndarray:
        """Standard deviation of each layer's activations, shape ``(depth,)``."""
        return np.array([s.std for s in self.stats])


class InitExplorer(WidgetApp[InitState]):
    """Depth, width, activation and initialization; per-layer histograms and statistics.

    In a notebook: ``InitExplorer(namespace=globals())`` uses the student's
    ``xavier_scales`` and ``kaiming_std`` where they work.
    """

    figsize = (11.0, 4.6)

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        self.scales = resolve_scales(namespace)
        self._cache: dict[tuple[int, int, str, str | float], InitState] = {}
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Sliders for depth and width, dropdowns for activation and initialization."""
        style = {"description_width": "initial"}
        return {
            "depth": widgets.IntSlider(
                value=8, min=2, max=12, description="layers", continuous_update=False,
                style=style,
            ),
            "width": widgets.SelectionSlider(
                options=[(str(w), w) for w in WIDTHS], value=1024, description="width",
                continuous_update=False, style=style,
            ),
            "activation": widgets.Dropdown(
                options=list(ACTIVATIONS), value="tanh", description="activation", style=style
            ),
            "init": widgets.Dropdown(
                options=list(INIT_CHOICES), value=0.01, description="init", style=style
            ),
        }  # fmt: skip

    def compute(self, depth: int, width: int, activation: str, init: str | float) -> InitState:
        """Run the experiment for this setting (or look it up) and diagnose it."""
        key = (int(depth), int(width), str(activation), init)
        if key not in self._cache:
            std = self.scales.std(init, key[1])
            stats = activation_statistics(
                num_layers=key[0],
                width=key[1],
                activation=key[2],
                init=std,
                batch_size=BATCH_SIZE,
                seed=SEED,
                bins=40,
            )
            self._cache[key] = InitState(
                depth=key[0],
                width=key[1],
                activation=key[2],
                init=init,
                weight_std=std,
                stats=stats,
                diagnosis=diagnose(stats),
                notice=self.scales.notice,
            )
        return self._cache[key]

    def draw(self, state: InitState, fig: Figure) -> None:
        """Top row: one histogram per layer; bottom: mean and std against the layer."""
        grid = fig.add_gridspec(2, state.depth, height_ratios=(1.0, 1.2), hspace=0.55)
        for column, stats in enumerate(state.stats):
            ax = fig.add_subplot(grid[0, column])
            widths = np.diff(stats.hist_edges)
            ax.bar(stats.hist_edges[:-1], stats.hist_counts, width=widths, align="edge")
            ax.set_title(f"layer {stats.layer}", fontsize=8)
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
        ax_stats = fig.add_subplot(grid[1, :])
        layers = np.arange(1, state.depth + 1)
        ax_stats.plot(layers, state.means, "o-", label="mean")
        ax_stats.plot(layers, state.stds, "s-", label="std")
        ax_stats.set_xlabel("layer")
        ax_stats.set_xticks(layers)
        ax_stats.grid(alpha=0.3)
        ax_stats.legend(fontsize=8)
        fig.suptitle(
            f"{state.activation}, weight std {state.weight_std:.4g}, width {state.width}: "
            f"{state.diagnosis}",
            fontsize=10,
        )

    def describe(self, state: InitState) -> str:
        """First and last layer statistics and the diagnosis."""
        first, last = state.stats[0], state.stats[-1]
        return (
            f"weight std {state.weight_std:.4g} (x sqrt(width) = "
            f"{state.weight_std * math.sqrt(state.width):.3g} per layer); layer 1: mean "
            f"{first.mean:.3g}, std {first.std:.3g}; layer {last.layer}: mean {last.mean:.3g}, "
            f"std {last.std:.3g}, saturated {last.frac_saturated:.0%}: {state.diagnosis}"
        )
