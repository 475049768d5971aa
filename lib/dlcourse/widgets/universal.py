"""Universal approximation explorer: one hidden layer of ReLUs fitting a 1-D target.

A ReLU unit of one input, ``max(0, a * x + c)``, is a hinge with its kink at
``x = -c / a``. A network ``x -> fc -> relu -> fc`` with H hidden units is therefore a
continuous piecewise-linear function with up to H kinks, and with enough kinks it
follows any continuous target as closely as we like: the 1-D picture of the universal
approximation theorem.

To make every view instant the first layer is not trained. Each unit gets a random
direction ``a = +-1`` and a kink drawn uniformly inside the interval; the output layer,
in which the network is linear, is then solved exactly by linear least squares. The
units of a smaller network are the first units of a larger one (same seed), so adding
units can only lower the fit error, and the error-versus-units curve is monotone.

The two layers run through the student's ``fc_forward(x, w, b) -> (out, cache)`` and
``relu_layer_forward(x) -> (out, cache)`` when they exist and agree with the reference on
a small probe, and through the course references otherwise, with a notice saying so.
Everything the plot shows comes from :func:`fit_universal`, a pure function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.exercises.a1.backprop import fc_forward, relu_layer_forward
from dlcourse.widgets.base import WidgetApp, resolve_impl

Layer = Callable[..., tuple[np.ndarray, object]]

X_MIN, X_MAX = -2.0, 2.0
"""The interval the targets are fitted on."""
NUM_POINTS = 400
"""Sample points of the interval (evenly spaced, both ends included)."""
MAX_UNITS = 64
"""Largest hidden layer the slider offers."""
UNIT_COUNTS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
"""Unit counts of the error-versus-units curve."""

TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(np.pi * x),
    "step": lambda x: (x > 0.3).astype(np.float64),
    "|x|": np.abs,
}
"""The target functions the dropdown offers, by name."""


@dataclass(frozen=True)
class Impls:
    """The fully connected and ReLU forward passes used, and where they came from."""

    fc_forward: Layer
    relu_forward: Layer
    is_student: bool = False
    notice: str = ""


REFERENCE = Impls(fc_forward=fc_forward, relu_forward=relu_layer_forward)
"""The exercises' references (:mod:`dlcourse.exercises.a1.backprop`)."""

_PROBE_X = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
_PROBE_W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
_PROBE_B = np.array([0.1, -0.2, 0.3])


def _probe_fc(candidate: Layer) -> None:
    out, _ = candidate(_PROBE_X, _PROBE_W, _PROBE_B)
    if not np.allclose(np.asarray(out), _PROBE_X @ _PROBE_W + _PROBE_B):
        raise ValueError("its output differs from x @ w + b")


def _probe_relu(candidate: Layer) -> None:
    out, _ = candidate(_PROBE_X)
    if not np.allclose(np.asarray(out), np.maximum(_PROBE_X, 0)):
        raise ValueError("its output differs from max(x, 0)")


def resolve_layers(namespace: Mapping[str, object] | None) -> Impls:
    """The student's ``fc_forward`` and ``relu_layer_forward`` where they work."""
    fc = resolve_impl("fc_forward", namespace, REFERENCE.fc_forward, probe=_probe_fc)
    relu = resolve_impl("relu_layer_forward", namespace, REFERENCE.relu_forward, probe=_probe_relu)
    notice = " ".join(text for text in (fc.notice, relu.notice) if text)
    return Impls(fc.impl, relu.impl, fc.is_student and relu.is_student, notice)


def sample_points() -> np.ndarray:
    """The fitting grid, shape (NUM_POINTS,)."""
    return np.linspace(X_MIN, X_MAX, NUM_POINTS)


def random_hidden_layer(num_units: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First-layer weights ``w1 (1, H)`` and bias ``b1 (H,)`` with random kinks.

    Unit k computes ``relu(a_k * (x - t_k))``: direction ``a_k = +-1``, kink ``t_k``
    uniform in [X_MIN, X_MAX]. The draws for MAX_UNITS units are made first and the first
    ``num_units`` kept, so smaller networks are sub-networks of larger ones.
    """
    if not 1 <= num_units <= MAX_UNITS:
        raise ValueError(f"num_units must lie in [1, {MAX_UNITS}], got {num_units}")
    rng = np.random.default_rng(seed)
    directions = rng.choice([-1.0, 1.0], size=MAX_UNITS)[:num_units]
    kinks = rng.uniform(X_MIN, X_MAX, size=MAX_UNITS)[:num_units]
    return directions[None, :], -directions * kinks


@dataclass(frozen=True)
class Fit:
    """One fitted network: its parameters, the prediction on the grid and its error."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    prediction: np.ndarray
    mse: float

    @property
    def kinks(self) -> np.ndarray:
        """Positions of the hidden units' kinks, sorted."""
        return np.sort(-self.b1 / self.w1[0])


def fit_universal(target: str, num_units: int, seed: int = 0, impls: Impls = REFERENCE) -> Fit:
    """Fit ``target`` with ``num_units`` random hidden ReLUs and a least-squares output layer.

    The hidden activations ``h = relu(fc(x, w1, b1))`` and a column of ones form the
    design matrix; ``(w2, b2)`` minimise ``sum (h @ w2 + b2 - y)**2``; the prediction
    goes through ``fc`` again. ``mse`` is the mean squared error on the grid.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    x = sample_points()
    y = TARGETS[target](x)
    w1, b1 = random_hidden_layer(num_units, seed)
    pre, _ = impls.fc_forward(x[:, None], w1, b1)
    hidden, _ = impls.relu_forward(np.asarray(pre, dtype=np.float64))
    hidden = np.asarray(hidden, dtype=np.float64)
    design = np.hstack([hidden, np.ones((x.size, 1))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    w2, b2 = solution[:-1, None], solution[-1:]
    out, _ = impls.fc_forward(hidden, w2, b2)
    prediction = np.asarray(out, dtype=np.float64)[:, 0]
    mse = float(np.mean((prediction - y) ** 2))
    return Fit(w1=w1, b1=b1, w2=w2, b2=b2, prediction=prediction, mse=mse)


def error_curve(target: str, seed: int = 0, impls: Impls = REFERENCE) -> np.ndarray:
    """The fit's mean squared error for every count in :data:`UNIT_COUNTS`."""
    return np.array([fit_universal(target, units, seed, impls).mse for units in UNIT_COUNTS])


@dataclass(frozen=True)
class UniversalState:
    """What the explorer shows for one setting."""

    target: str
    num_units: int
    seed: int
    x: np.ndarray
    y: np.ndarray
    fit: Fit
    curve: np.ndarray
    notice: str


class UniversalApproximationExplorer(WidgetApp[UniversalState]):
    """A target dropdown and sliders for the number of units and the random kinks' seed.

    In a notebook: ``UniversalApproximationExplorer(namespace=globals())`` uses the
    student's ``fc_forward`` and ``relu_layer_forward`` where they work.
    """

    figsize = (10.0, 3.4)

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        self.impls = resolve_layers(namespace)
        self._curves: dict[tuple[str, int], np.ndarray] = {}
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Target dropdown, hidden-unit slider, seed slider."""
        style = {"description_width": "initial"}
        return {
            "target": widgets.Dropdown(
                options=list(TARGETS), value="sine", description="target", style=style
            ),
            "num_units": widgets.IntSlider(
                value=4, min=1, max=MAX_UNITS, description="hidden units",
                continuous_update=False, style=style,
            ),
            "seed": widgets.IntSlider(
                value=0, min=0, max=9, description="random kinks (seed)",
                continuous_update=False, style=style,
            ),
        }  # fmt: skip

    def compute(self, target: str, num_units: int, seed: int) -> UniversalState:
        """Fit the network and look up (or compute) the error curve for this target."""
        fit = fit_universal(target, int(num_units), int(seed), self.impls)
        key = (target, int(seed))
        if key not in self._curves:
            self._curves[key] = error_curve(target, int(seed), self.impls)
        x = sample_points()
        return UniversalState(
            target=target,
            num_units=int(num_units),
            seed=int(seed),
            x=x,
            y=TARGETS[target](x),
            fit=fit,
            curve=self._curves[key],
            notice=self.impls.notice,
        )

    def draw(self, state: UniversalState, fig: Figure) -> None:
        """Left: target, fit and kinks. Right: error against the number of units."""
        ax_fit, ax_err = fig.subplots(1, 2)
        ax_fit.plot(state.x, state.y, color="0.3", lw=2, label="target")
        ax_fit.plot(state.x, state.fit.prediction, color="tab:orange", label="network")
        kinks = state.fit.kinks
        inside = kinks[(kinks >= X_MIN) & (kinks <= X_MAX)]
        low = min(state.y.min(), state.fit.prediction.min())
        ax_fit.plot(inside, np.full(inside.size, low), "|", color="tab:blue", ms=10,
                    label="kinks")  # fmt: skip
        ax_fit.set_title(f"{state.target}, {state.num_units} hidden units", fontsize=10)
        ax_fit.set_xlabel("x")
        ax_fit.legend(fontsize=8)
        ax_err.loglog(UNIT_COUNTS, np.maximum(state.curve, 1e-12), marker="o", color="tab:blue")
        ax_err.plot([state.num_units], [max(state.fit.mse, 1e-12)], "o", color="tab:orange",
                    ms=9)  # fmt: skip
        ax_err.set_xlabel("hidden units")
        ax_err.set_title("mean squared error of the fit", fontsize=10)
        for ax in (ax_fit, ax_err):
            ax.grid(alpha=0.3)
        fig.tight_layout()

    def describe(self, state: UniversalState) -> str:
        """The error of the current fit and whose layers computed it."""
        whose = (
            "your fc_forward and relu_layer_forward"
            if self.impls.is_student
            else "the reference layers"
        )
        return (
            f"{state.target} with {state.num_units} hidden units: mean squared error of the "
            f"fit {state.fit.mse:.2e} (computed with {whose})"
        )
