"""Optimizer race: six update rules on 2-D loss surfaces, and a learning-rate schedule plot.

:class:`OptimizerRace` starts SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam from the
same point of a 2-D surface (a ravine, a saddle or a scaled Rosenbrock function), runs
each for a fixed number of steps, and draws the trajectories over the surface's contour
plot; the final loss of each optimizer is the text under the plot. Sliders set the
learning rate of the SGD family, that of the adaptive methods, and the momentum.

:class:`ScheduleExplorer` plots the step, cosine, linear warm-up and warm-up + cosine
learning-rate schedules over 100 epochs.

Both use the notebook's own functions (``sgd_step``, ``momentum_step``, ...,
``step_decay_lr``, ``cosine_lr``, ``warmup_lr``, with the signatures of
``optimizers.ipynb``) when they are defined and run on a small probe input, and the
exercises' references (:mod:`dlcourse.exercises.a2.optimizers`) otherwise, with a
notice saying so. All
numbers come from pure functions (:func:`race`, :func:`schedule_curve`) that the tests
call without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.exercises.a2 import optimizers as exercise
from dlcourse.widgets.base import WidgetApp, resolve_impl

# --------------------------------------------------------------------------- surfaces


@dataclass(frozen=True)
class Surface:
    """A 2-D loss ``f(x, y)`` with its gradient, a start point and a plotting window."""

    label: str
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[tuple[float, float], ...]


def _ravine_loss(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.05 * x**2 + 5.0 * y**2


def _ravine_grad(w: np.ndarray) -> np.ndarray:
    return np.array([0.1 * w[0], 10.0 * w[1]])


def _saddle_loss(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4 + 0.25


def _saddle_grad(w: np.ndarray) -> np.ndarray:
    return np.array([w[0], -w[1] + w[1] ** 3])


ROSENBROCK_SCALE = 50.0
"""The Rosenbrock function is divided by this, so one learning rate suits all surfaces."""


def _rosenbrock_loss(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((1 - x) ** 2 + 100.0 * (y - x**2) ** 2) / ROSENBROCK_SCALE


def _rosenbrock_grad(w: np.ndarray) -> np.ndarray:
    x, y = w
    dx = -2 * (1 - x) - 400.0 * x * (y - x**2)
    dy = 200.0 * (y - x**2)
    return np.array([dx, dy]) / ROSENBROCK_SCALE


SURFACES: dict[str, Surface] = {
    "ravine": Surface(
        "ravine: 0.05 x² + 5 y²", _ravine_loss, _ravine_grad,
        start=(-4.0, 1.0), xlim=(-4.5, 1.5), ylim=(-1.5, 1.5), minima=((0.0, 0.0),),
    ),
    "saddle": Surface(
        "saddle: x²/2 - y²/2 + y⁴/4 + 1/4", _saddle_loss, _saddle_grad,
        start=(-2.0, 1e-3), xlim=(-2.5, 1.0), ylim=(-1.6, 1.6), minima=((0.0, 1.0), (0.0, -1.0)),
    ),
    "rosenbrock": Surface(
        "Rosenbrock / 50", _rosenbrock_loss, _rosenbrock_grad,
        start=(-1.2, 1.0), xlim=(-1.6, 1.6), ylim=(-0.6, 1.8), minima=((1.0, 1.0),),
    ),
}  # fmt: skip
"""The surfaces of the dropdown, by key."""

# --------------------------------------------------------------------------- update rules

OPTIMIZERS: tuple[str, ...] = ("SGD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam")
"""The racers, in drawing order."""
ADAPTIVE: frozenset[str] = frozenset({"AdaGrad", "RMSProp", "Adam"})
"""The racers that use the adaptive learning rate."""

FUNCTION_NAMES: dict[str, str] = {
    "SGD": "sgd_step",
    "momentum": "momentum_step",
    "Nesterov": "nesterov_step",
    "AdaGrad": "adagrad_step",
    "RMSProp": "rmsprop_step",
    "Adam": "adam_step",
}
"""The notebook function each racer calls."""

EPS = 1e-8
RMSPROP_DECAY = 0.9
ADAM_BETAS = (0.9, 0.999)


REFERENCE_RULES: dict[str, Callable] = {
    name: getattr(exercise, function) for name, function in FUNCTION_NAMES.items()
}
"""The exercises' references (:mod:`dlcourse.exercises.a2.optimizers`), by racer."""

_W, _DW, _S = np.array([0.5, -1.0]), np.array([0.2, 0.3]), np.array([0.1, 0.2])
_PROBES: dict[str, Callable[[Callable], object]] = {
    "SGD": lambda f: f(_W.copy(), _DW.copy(), 0.1),
    "momentum": lambda f: f(_W.copy(), _DW.copy(), _S.copy(), 0.1, 0.9),
    "Nesterov": lambda f: f(_W.copy(), _DW.copy(), _S.copy(), 0.1, 0.9),
    "AdaGrad": lambda f: f(_W.copy(), _DW.copy(), _S.copy(), 0.1, EPS),
    "RMSProp": lambda f: f(_W.copy(), _DW.copy(), _S.copy(), 0.1, 0.9, EPS),
    "Adam": lambda f: f(_W.copy(), _DW.copy(), _S.copy(), _S.copy(), 1, 0.1, 0.9, 0.999, EPS),
}


@dataclass(frozen=True)
class Rules:
    """The update function of every racer, which of them are the student's, and a notice."""

    impls: dict[str, Callable]
    from_student: frozenset[str] = frozenset()
    notice: str = ""


REFERENCE = Rules(dict(REFERENCE_RULES))


def resolve_rules(namespace: Mapping[str, object] | None) -> Rules:
    """The student's six update functions where they work, the references elsewhere."""
    impls, from_student, notices = {}, set(), []
    for name in OPTIMIZERS:
        resolved = resolve_impl(
            FUNCTION_NAMES[name], namespace, REFERENCE_RULES[name], probe=_PROBES[name]
        )
        impls[name] = resolved.impl
        if resolved.is_student:
            from_student.add(name)
        elif resolved.notice:
            notices.append(resolved.notice)
    return Rules(impls, frozenset(from_student), " ".join(notices))


# --------------------------------------------------------------------------- the race

DIVERGED_AT = 1e3
"""A racer whose weights leave the box ``|x|, |y| <= DIVERGED_AT`` is stopped as diverged."""


@dataclass(frozen=True)
class Run:
    """One racer's trajectory, shape (steps + 1, 2) (shorter if it diverged), and its fate."""

    path: np.ndarray
    final_loss: float
    diverged: bool


def run_optimizer(
    name: str,
    surface: Surface,
    step_fn: Callable,
    lr: float,
    mu: float,
    num_steps: int,
) -> Run:
    """Run one update rule from ``surface.start`` for ``num_steps`` steps.

    ``step_fn`` has the notebook's signature for the racer ``name``. Every call gets
    copies of the arrays, so a rule that updates its inputs in place does no harm.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number >= 0, got {lr}")
    if not 0 <= mu < 1:
        raise ValueError(f"mu must lie in [0, 1), got {mu}")
    w = np.array(surface.start, dtype=np.float64)
    state = [np.zeros(2), np.zeros(2)]
    path = [w.copy()]
    diverged = False
    for t in range(1, num_steps + 1):
        dw = surface.grad(w)
        if name == "SGD":
            w = step_fn(w.copy(), dw, lr)
        elif name in ("momentum", "Nesterov"):
            w, state[0] = step_fn(w.copy(), dw, state[0].copy(), lr, mu)
        elif name == "AdaGrad":
            w, state[0] = step_fn(w.copy(), dw, state[0].copy(), lr, EPS)
        elif name == "RMSProp":
            w, state[0] = step_fn(w.copy(), dw, state[0].copy(), lr, RMSPROP_DECAY, EPS)
        else:
            beta1, beta2 = ADAM_BETAS
            w, state[0], state[1] = step_fn(
                w.copy(), dw, state[0].copy(), state[1].copy(), t, lr, beta1, beta2, EPS
            )
        w = np.asarray(w, dtype=np.float64).reshape(2)
        state = [np.asarray(s, dtype=np.float64).reshape(2) for s in state]
        if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > DIVERGED_AT:
            diverged = True
            break
        path.append(w.copy())
    last = path[-1]
    final_loss = math.inf if diverged else float(surface.loss(last[0], last[1]))
    return Run(np.array(path), final_loss, diverged)


def race(
    surface: str,
    lr: float,
    adaptive_lr: float,
    mu: float,
    num_steps: int = 100,
    rules: Rules = REFERENCE,
) -> dict[str, Run]:
    """Every racer on ``SURFACES[surface]``: ``lr`` for the SGD family, ``adaptive_lr`` else."""
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; expected one of {sorted(SURFACES)}")
    chosen = SURFACES[surface]
    return {
        name: run_optimizer(
            name,
            chosen,
            rules.impls[name],
            adaptive_lr if name in ADAPTIVE else lr,
            mu,
            num_steps,
        )
        for name in OPTIMIZERS
    }


def describe_runs(runs: Mapping[str, Run], num_steps: int) -> str:
    """``final loss after N steps: SGD 0.123, ...``; a diverged racer says so."""
    parts = [
        f"{name} diverged" if run.diverged else f"{name} {run.final_loss:.3g}"
        for name, run in runs.items()
    ]
    return f"final loss after {num_steps} steps: " + ", ".join(parts)


COLORS = {
    "SGD": "tab:gray",
    "momentum": "tab:blue",
    "Nesterov": "tab:cyan",
    "AdaGrad": "tab:green",
    "RMSProp": "tab:orange",
    "Adam": "tab:red",
}


@dataclass(frozen=True)
class RaceState:
    """What the race shows for one setting of the controls."""

    surface: str
    lr: float
    adaptive_lr: float
    mu: float
    num_steps: int
    runs: dict[str, Run] = field(default_factory=dict)
    notice: str = ""


class OptimizerRace(WidgetApp[RaceState]):
    """A surface dropdown and sliders for the two learning rates and the momentum.

    In a notebook: ``OptimizerRace(namespace=globals())`` races the student's functions
    where they work.
    """

    figsize = (10.0, 4.2)
    num_steps = 100

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        self.rules = resolve_rules(namespace)
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Surface dropdown; log sliders for both rates; a momentum slider."""
        style = {"description_width": "initial"}
        return {
            "surface": widgets.Dropdown(
                options=[(s.label, key) for key, s in SURFACES.items()], value="ravine",
                description="surface", style=style,
            ),
            "lr": widgets.FloatLogSlider(
                value=0.05, base=10, min=-3, max=0, step=0.1, readout_format=".3g",
                description="lr (SGD, momentum)", continuous_update=False, style=style,
            ),
            "adaptive_lr": widgets.FloatLogSlider(
                value=0.1, base=10, min=-3, max=0, step=0.1, readout_format=".3g",
                description="lr (adaptive)", continuous_update=False, style=style,
            ),
            "mu": widgets.FloatSlider(
                value=0.9, min=0.0, max=0.99, step=0.01, description="momentum μ",
                continuous_update=False, style=style,
            ),
        }  # fmt: skip

    def compute(self, surface: str, lr: float, adaptive_lr: float, mu: float) -> RaceState:
        """Run every racer for :attr:`num_steps` steps."""
        runs = race(surface, float(lr), float(adaptive_lr), float(mu), self.num_steps, self.rules)
        return RaceState(
            surface, float(lr), float(adaptive_lr), float(mu), self.num_steps, runs,
            self.rules.notice,
        )  # fmt: skip

    def draw(self, state: RaceState, fig: Figure) -> None:
        """Contours of the surface, one trajectory per racer, the minima as stars."""
        surface = SURFACES[state.surface]
        ax_map, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        xs = np.linspace(*surface.xlim, 200)
        ys = np.linspace(*surface.ylim, 200)
        grid_x, grid_y = np.meshgrid(xs, ys)
        values = surface.loss(grid_x, grid_y)
        levels = np.quantile(values, np.linspace(0.0, 0.95, 25) ** 2)
        ax_map.contour(grid_x, grid_y, values, levels=np.unique(levels), cmap="Greys", alpha=0.6)
        for x, y in surface.minima:
            ax_map.plot(x, y, marker="*", color="gold", markeredgecolor="k", markersize=14)
        for name, run in state.runs.items():
            ax_map.plot(run.path[:, 0], run.path[:, 1], ".-", color=COLORS[name], markersize=2,
                        linewidth=1, label=name)  # fmt: skip
            losses = surface.loss(run.path[:, 0], run.path[:, 1])
            ax_loss.plot(np.arange(losses.size), losses, color=COLORS[name], label=name)
        ax_map.plot(*surface.start, "ko", markersize=5)
        ax_map.set_xlim(*surface.xlim)
        ax_map.set_ylim(*surface.ylim)
        ax_map.set_title(surface.label, fontsize=10)
        ax_map.legend(fontsize=7, loc="lower right")
        ax_loss.set_yscale("symlog", linthresh=1e-4)
        ax_loss.set_xlabel("step")
        ax_loss.set_title("loss", fontsize=10)
        ax_loss.grid(alpha=0.3)
        fig.tight_layout()

    def describe(self, state: RaceState) -> str:
        """The final loss of every racer."""
        return describe_runs(state.runs, state.num_steps)


# --------------------------------------------------------------------------- schedules

NUM_EPOCHS = 100
WARMUP_EPOCHS = 10
SCHEDULES: tuple[str, ...] = ("step decay", "cosine", "warm-up", "warm-up + cosine")


REFERENCE_SCHEDULES: dict[str, Callable] = {
    name: getattr(exercise, name) for name in ("step_decay_lr", "cosine_lr", "warmup_lr")
}
"""The exercises' schedule references, by notebook function name."""
_EPOCHS = np.arange(5)
_SCHEDULE_PROBES: dict[str, Callable[[Callable], object]] = {
    "step_decay_lr": lambda f: f(_EPOCHS, 0.1, 2, 0.5),
    "cosine_lr": lambda f: f(_EPOCHS, 0.1, 4, 0.0),
    "warmup_lr": lambda f: f(_EPOCHS, 0.1, 3, 0.1),
}


def resolve_schedules(namespace: Mapping[str, object] | None) -> tuple[dict[str, Callable], str]:
    """The student's three schedule functions where they work, and the notice."""
    impls, notices = {}, []
    for name, fallback in REFERENCE_SCHEDULES.items():
        resolved = resolve_impl(name, namespace, fallback, probe=_SCHEDULE_PROBES[name])
        impls[name] = resolved.impl
        if resolved.notice:
            notices.append(resolved.notice)
    return impls, " ".join(notices)


def schedule_curve(
    schedule: str,
    base_lr: float,
    impls: Mapping[str, Callable] = REFERENCE_SCHEDULES,
    num_epochs: int = NUM_EPOCHS,
) -> np.ndarray:
    """Learning rates of epochs ``0 .. num_epochs - 1``, shape (num_epochs,).

    "step decay" divides by 10 every 30 epochs; "cosine" anneals to 0 over the run;
    "warm-up" ramps from a tenth of ``base_lr`` over :data:`WARMUP_EPOCHS` epochs;
    "warm-up + cosine" warms up and then anneals over the remaining epochs.
    """
    epochs = np.arange(num_epochs)
    if schedule == "step decay":
        lrs = impls["step_decay_lr"](epochs, base_lr, 30, 0.1)
    elif schedule == "cosine":
        lrs = impls["cosine_lr"](epochs, base_lr, num_epochs, 0.0)
    elif schedule == "warm-up":
        lrs = impls["warmup_lr"](epochs, base_lr, WARMUP_EPOCHS, 0.1)
    elif schedule == "warm-up + cosine":
        warm = np.asarray(impls["warmup_lr"](epochs, base_lr, WARMUP_EPOCHS, 0.1), dtype=float)
        after = np.maximum(epochs - WARMUP_EPOCHS, 0)
        cool = impls["cosine_lr"](after, base_lr, num_epochs - WARMUP_EPOCHS, 0.0)
        lrs = np.where(epochs < WARMUP_EPOCHS, warm, np.asarray(cool, dtype=float))
    else:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.shape != (num_epochs,):
        raise ValueError(f"the schedule returned shape {lrs.shape}, expected ({num_epochs},)")
    return lrs


@dataclass(frozen=True)
class ScheduleState:
    """One schedule's learning rates per epoch."""

    schedule: str
    base_lr: float
    lrs: np.ndarray
    notice: str = ""


class ScheduleExplorer(WidgetApp[ScheduleState]):
    """A dropdown of schedules and a base learning rate; the rate plotted per epoch."""

    figsize = (8.0, 3.0)

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        self.impls, self.schedule_notice = resolve_schedules(namespace)
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """The schedule dropdown and a log slider for the base rate."""
        style = {"description_width": "initial"}
        return {
            "schedule": widgets.Dropdown(
                options=list(SCHEDULES), value="warm-up + cosine", description="schedule",
                style=style,
            ),
            "base_lr": widgets.FloatLogSlider(
                value=0.1, base=10, min=-4, max=0, step=0.25, readout_format=".3g",
                description="base lr", continuous_update=False, style=style,
            ),
        }  # fmt: skip

    def compute(self, schedule: str, base_lr: float) -> ScheduleState:
        """The rates of the chosen schedule over :data:`NUM_EPOCHS` epochs."""
        lrs = schedule_curve(schedule, float(base_lr), self.impls)
        return ScheduleState(schedule, float(base_lr), lrs, self.schedule_notice)

    def draw(self, state: ScheduleState, fig: Figure) -> None:
        """The learning rate against the epoch."""
        ax = fig.subplots()
        ax.plot(np.arange(state.lrs.size), state.lrs, color="tab:blue")
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{state.schedule}, base lr {state.base_lr:.3g}", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()

    def describe(self, state: ScheduleState) -> str:
        """The rate at the start, the middle and the end of training."""
        lrs = state.lrs
        return (
            f"learning rate at epoch 0: {lrs[0]:.3g}, epoch {lrs.size // 2}: "
            f"{lrs[lrs.size // 2]:.3g}, epoch {lrs.size - 1}: {lrs[-1]:.3g}"
        )
