"""Activation explorer: an activation, its gradient, where it saturates, and dead units.

The lecture's complaints about activations are all about the gradient: a saturated
sigmoid or tanh passes almost none back, and a ReLU whose pre-activation is never
positive passes none at all, so its weights stop learning ("dead" ReLU). The explorer
shows both effects:

- the curve ``f(x)`` and its derivative ``f'(x)`` over a chosen range, with the region
  where ``|f'(x)|`` falls below a threshold shaded as saturated;
- a random layer ``z = x @ w + bias`` whose inputs have a chosen scale. A unit is *dead*
  when ``|f'(z)|`` is below the threshold for every input of the batch, so it would get
  no gradient from that batch. For ReLU this is exactly "never positive"; for sigmoid
  and tanh it means "saturated on every input".

Every number comes from the pure functions below (unit-tested without a browser);
``ActivationExplorer`` only wires them to controls. Gradients are obtained the way the
student computes them: ``forward(x)`` then ``backward(dout=1, cache)``, with the
student's own functions when they work and the reference otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.functional.activations import ACTIVATIONS, Backward, Forward
from dlcourse.widgets.base import (
    REFERENCE_PREFIX,
    Resolved,
    StudentCodeFailure,
    WidgetApp,
    resolve_impl,
)

ActivationPair = tuple[Forward, Backward]

DEFAULT_THRESHOLD = 0.005
"""Below this |gradient| a unit counts as saturated. Under leaky ReLU's 0.01 slope on
purpose: a leaky unit passes a small gradient, which is the point of the leak."""

# A small input with both signs, so a probe exercises both branches of a piecewise function.
_PROBE_X = np.linspace(-2.0, 2.0, 6).reshape(2, 3)


@dataclass(frozen=True)
class Curves:
    """An activation sampled on a grid: ``x``, ``y = f(x)`` and ``grad = f'(x)``, all (num,)."""

    x: np.ndarray
    y: np.ndarray
    grad: np.ndarray


# ----------------------------------------------------------------- pure computations


def _pair(name: str, impls: Mapping[str, ActivationPair] | None) -> ActivationPair:
    """Return the ``(forward, backward)`` pair for ``name`` from ``impls`` (default: reference)."""
    table = ACTIVATIONS if impls is None else impls
    if name not in table:
        raise ValueError(f"name must be one of {sorted(table)}, got {name!r}")
    return table[name]


def local_gradient(
    name: str, z: np.ndarray, impls: Mapping[str, ActivationPair] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(f(z), f'(z))`` for any array ``z``, both of z's shape.

    ``f'(z)`` is the backward pass with an upstream gradient of ones: for an elementwise
    function, ``dout = 1`` makes ``dx`` equal to the local derivative.
    """
    forward, backward = _pair(name, impls)
    out, cache = _checked_forward(forward, name, z)
    grad = _run(backward, f"{name}_backward", np.ones_like(z), cache)
    return out, _array(grad, f"{name}_backward", z.shape)


def _checked_forward(forward: Forward, name: str, z: np.ndarray) -> tuple[np.ndarray, object]:
    """``(out, cache)`` of ``forward(z)``; raises :class:`StudentCodeFailure` naming
    ``<name>_forward`` when it raises or returns anything but a pair with ``out`` of z's shape.
    """
    result = _run(forward, f"{name}_forward", z)
    if not isinstance(result, tuple | list) or len(result) != 2:
        got = "None" if result is None else f"a {type(result).__name__}"
        raise StudentCodeFailure(f"your {name}_forward returned {got}, not a pair (out, cache)")
    return _array(result[0], f"{name}_forward", z.shape), result[1]


def _run(fn: object, name: str, *args: object) -> object:
    """Call a (possibly student's) function; what it raises is said with its name."""
    try:
        return fn(*args)  # type: ignore[operator]
    except NotImplementedError:
        raise
    except Exception as error:
        raise StudentCodeFailure(f"your {name} raised {type(error).__name__}: {error}") from error


def _array(value: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float array of ``shape``; otherwise say what the function returned."""
    if value is None:
        raise StudentCodeFailure(f"your {name} returned None (a missing `return`?)")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StudentCodeFailure(
            f"your {name} returned a {type(value).__name__}, not an array of numbers"
        ) from None
    if array.shape != shape:
        raise StudentCodeFailure(f"your {name} returned shape {array.shape}, expected {shape}")
    return array


def activation_curves(
    name: str,
    x_min: float,
    x_max: float,
    num: int = 401,
    impls: Mapping[str, ActivationPair] | None = None,
) -> Curves:
    """Sample activation ``name`` and its derivative at ``num`` points of [x_min, x_max]."""
    if not (math.isfinite(x_min) and math.isfinite(x_max) and x_min < x_max):
        raise ValueError(f"x_min must be below x_max (both finite), got {x_min} and {x_max}")
    if num < 2:
        raise ValueError(f"num must be at least 2 points, got {num}")
    x = np.linspace(float(x_min), float(x_max), int(num))
    y, grad = local_gradient(name, x, impls)
    return Curves(x=x, y=y, grad=grad)


def saturation_mask(grad: np.ndarray, threshold: float) -> np.ndarray:
    """Return a boolean array of grad's shape: True where ``|grad| < threshold``."""
    if not threshold >= 0:
        raise ValueError(f"threshold must be a non-negative number, got {threshold}")
    return np.abs(np.asarray(grad)) < threshold


def layer_preactivations(
    bias: float,
    input_scale: float,
    seed: int = 0,
    *,
    batch_size: int = 256,
    fan_in: int = 64,
    num_units: int = 128,
) -> np.ndarray:
    """Return ``z = x @ w + bias`` of shape (batch_size, num_units) for a random layer.

    x: (batch_size, fan_in) with entries ``input_scale * N(0, 1)``; w: (fan_in, num_units)
    with entries ``N(0, 1 / fan_in)``. That weight scale keeps each unit's pre-activation
    spread close to ``input_scale``, so the two sliders mean what they say: ``bias``
    shifts the pre-activations and ``input_scale`` widens them.
    """
    if not (math.isfinite(input_scale) and input_scale > 0):
        raise ValueError(f"input_scale must be a positive number, got {input_scale}")
    if not math.isfinite(bias):
        raise ValueError(f"bias must be a finite number, got {bias}")
    rng = np.random.default_rng(seed)
    x = input_scale * rng.standard_normal((batch_size, fan_in))
    w = rng.standard_normal((fan_in, num_units)) / math.sqrt(fan_in)
    return x @ w + float(bias)


def layer_gradients(
    name: str,
    bias: float,
    input_scale: float,
    seed: int = 0,
    impls: Mapping[str, ActivationPair] | None = None,
) -> np.ndarray:
    """Return ``f'(z)`` (batch_size, num_units) for the layer of ``layer_preactivations``."""
    _, grad = local_gradient(name, layer_preactivations(bias, input_scale, seed), impls)
    return grad


def live_share(grad: np.ndarray, threshold: float) -> np.ndarray:
    """Return, per unit (column of grad, (N, M)), the share of inputs it passes gradient to.

    A unit "passes gradient" on an input when ``|f'(z)| >= threshold`` there. Shape (M,).
    """
    return 1.0 - saturation_mask(grad, threshold).mean(axis=0)


def dead_unit_fraction(
    name: str,
    bias: float,
    input_scale: float,
    seed: int = 0,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    impls: Mapping[str, ActivationPair] | None = None,
) -> float:
    """Return the fraction of a random layer's units whose gradient is near zero on every input.

    See ``layer_preactivations`` for the layer. For ReLU this is the share of units whose
    pre-activation is never positive over the batch.
    """
    grad = layer_gradients(name, bias, input_scale, seed, impls=impls)
    return float(np.mean(live_share(grad, threshold) == 0))


# ------------------------------------------------------------ student implementations


def student_namespace(student: Mapping[str, ActivationPair]) -> dict[str, object]:
    """Flatten ``{"relu": (fwd, bwd)}`` into ``{"relu_forward": fwd, "relu_backward": bwd}``."""
    flat: dict[str, object] = {}
    for name, (forward, backward) in student.items():
        flat[f"{name}_forward"] = forward
        flat[f"{name}_backward"] = backward
    return flat


def resolve_activation(
    name: str, namespace: Mapping[str, object] | None
) -> Resolved[ActivationPair]:
    """Return the student's ``<name>_forward``/``<name>_backward`` pair, or the reference's.

    The two are resolved together: the backward pass consumes the forward's cache, so a
    student's backward cannot run after the reference forward or the other way round.
    """
    reference = _pair(name, None)

    def probe_forward(candidate: Forward) -> object:
        return _checked_forward(candidate, name, _PROBE_X)

    forward = resolve_impl(f"{name}_forward", namespace, reference[0], probe=probe_forward)
    if not forward.is_student:
        return Resolved(reference, False, forward.notice)

    def probe_backward(candidate: Backward) -> object:
        return local_gradient(name, _PROBE_X, {name: (forward.impl, candidate)})

    backward = resolve_impl(f"{name}_backward", namespace, reference[1], probe=probe_backward)
    if not backward.is_student:
        why = " Your forward pass is set aside too: the backward pass needs its cache."
        return Resolved(reference, False, backward.notice + why)
    return Resolved((forward.impl, backward.impl), True)


def resolve_activations(
    student: Mapping[str, ActivationPair] | None = None,
    namespace: Mapping[str, object] | None = None,
) -> dict[str, Resolved[ActivationPair]]:
    """Resolve every activation of ``ACTIVATIONS`` (student's where it works, else reference).

    ``namespace`` is searched for ``<name>_forward``/``<name>_backward`` (pass a
    notebook's ``globals()``); pairs in ``student`` take precedence over it.
    """
    merged: dict[str, object] = dict(namespace or {})
    merged.update(student_namespace(student or {}))
    return {name: resolve_activation(name, merged) for name in ACTIVATIONS}


# --------------------------------------------------------------------------- widget


@dataclass(frozen=True)
class ExplorerState:
    """Everything the explorer shows for one setting of its controls.

    ``curves`` and ``saturated`` (num,) describe the function; ``preactivations``
    (batch_size, num_units) are the layer's inputs to it; ``live`` (num_units,) is
    each layer unit's share of inputs with gradient; ``dead_fraction`` is the share of
    units with none; ``near_zero_fraction`` the share of (input, unit) pairs with a
    near-zero gradient.
    """

    name: str
    curves: Curves
    saturated: np.ndarray
    threshold: float
    preactivations: np.ndarray
    live: np.ndarray
    dead_fraction: float
    near_zero_fraction: float
    uses_student: bool
    notice: str


class ActivationExplorer(WidgetApp[ExplorerState]):
    """Pick an activation; see its gradient, its saturated region and a layer's dead units.

    In a notebook: ``ActivationExplorer(namespace=globals())`` uses the student's
    ``relu_forward``/``relu_backward`` (and so on) where they work, or pass
    ``student={"relu": (relu_forward, relu_backward)}``. Without either, the reference
    implementations are shown, with a notice saying so.
    """

    figsize = (10.5, 3.2)

    def __init__(
        self,
        student: Mapping[str, ActivationPair] | None = None,
        namespace: Mapping[str, object] | None = None,
        seed: int = 0,
    ) -> None:
        self.resolved = resolve_activations(student, namespace)
        self.impls = {name: choice.impl for name, choice in self.resolved.items()}
        self.seed = seed
        super().__init__()

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Activation, x range, saturation threshold, and the layer's bias and input scale."""
        style = {"description_width": "initial"}
        return {
            "name": widgets.Dropdown(
                options=list(ACTIVATIONS), value="sigmoid", description="activation"
            ),
            "x_range": widgets.FloatRangeSlider(
                value=(-6.0, 6.0), min=-12.0, max=12.0, step=0.5, description="x range",
                continuous_update=False, readout_format=".1f",
                layout=widgets.Layout(width="380px"),
            ),
            "threshold": widgets.FloatLogSlider(
                value=DEFAULT_THRESHOLD, base=10, min=-4, max=-0.5, step=0.1,
                description="|f'| threshold", readout_format=".4f", continuous_update=False,
                style=style,
            ),
            "bias": widgets.FloatSlider(
                value=0.0, min=-6.0, max=6.0, step=0.25, description="layer bias",
                continuous_update=False, style=style,
            ),
            "input_scale": widgets.FloatLogSlider(
                value=1.0, base=10, min=-1, max=1, step=0.1, description="input scale",
                continuous_update=False, style=style,
            ),
        }  # fmt: skip

    def compute(
        self,
        name: str,
        x_range: tuple[float, float],
        threshold: float,
        bias: float,
        input_scale: float,
    ) -> ExplorerState:
        """Evaluate the curves and the random layer for these control values (pure).

        A student's pair that passed the probe but fails on these inputs is set aside for
        the reference, and the notice names the function and what it did.
        """
        preactivations = layer_preactivations(bias, input_scale, self.seed)
        uses_student, notice = self.resolved[name].is_student, self.resolved[name].notice
        try:
            curves = activation_curves(name, x_range[0], x_range[1], impls=self.impls)
            _, grad = local_gradient(name, preactivations, self.impls)
        except StudentCodeFailure as failure:
            if not uses_student:
                raise
            uses_student, notice = False, f"{REFERENCE_PREFIX}{failure} on the plotted inputs."
            curves = activation_curves(name, x_range[0], x_range[1])
            _, grad = local_gradient(name, preactivations)
        live = live_share(grad, threshold)
        return ExplorerState(
            name=name,
            curves=curves,
            saturated=saturation_mask(curves.grad, threshold),
            threshold=float(threshold),
            preactivations=preactivations,
            live=live,
            dead_fraction=float(np.mean(live == 0)),
            near_zero_fraction=float(np.mean(saturation_mask(grad, threshold))),
            uses_student=uses_student,
            notice=notice,
        )

    def draw(self, state: ExplorerState, fig: Figure) -> None:
        """Three panels: f(x), f'(x) with the saturated region shaded, per-unit live share."""
        ax_f, ax_g, ax_units = fig.subplots(1, 3)
        x = state.curves.x
        who = "your code" if state.uses_student else "reference"
        for ax, values, label in (
            (ax_f, state.curves.y, f"{state.name}(x)  [{who}]"),
            (ax_g, state.curves.grad, f"{state.name}'(x)"),
        ):
            ax.plot(x, values, color="tab:blue")
            # Shade over the full height: the x-axis transform takes y in axes units.
            ax.fill_between(
                x, 0, 1, where=state.saturated, color="tab:red", alpha=0.15,
                transform=ax.get_xaxis_transform(), label="|f'| < threshold",
            )  # fmt: skip
            ax.set_title(label, fontsize=10)
            ax.set_xlabel("x")
            ax.grid(alpha=0.3)
        for level in (state.threshold, -state.threshold):
            ax_g.axhline(level, color="tab:red", linestyle="--", linewidth=0.8)
        # Where the layer's pre-activations fall on the gradient curve: the mass that lands
        # in the shaded region is the mass that passes (almost) no gradient back.
        ax_z = ax_g.twinx()
        counts, _, _ = ax_z.hist(
            state.preactivations.ravel(), bins=60, range=(x[0], x[-1]), color="gray",
            alpha=0.35, label="layer pre-activations",
        )  # fmt: skip
        # Keep the histogram in the lower part of the panel and behind the curve.
        ax_z.set_ylim(0, 1.6 * max(float(counts.max()), 1.0))
        ax_z.set_yticks([])
        ax_g.set_zorder(ax_z.get_zorder() + 1)
        ax_g.patch.set_visible(False)
        ax_z.legend(loc="upper left", fontsize=8)
        ax_f.legend(loc="upper left", fontsize=8)

        # Sorted so that the dead units form one block at the left. A dead unit's share is
        # zero, so it is drawn as a full-height red band: a zero-height bar would not show.
        live = np.sort(state.live)
        units = np.arange(live.size)
        dead = live == 0
        if dead.any():
            ax_units.bar(
                units[dead], 1.0, width=1.0, color="tab:red", alpha=0.45, label="dead unit"
            )  # fmt: skip
            ax_units.legend(loc="upper right", fontsize=8)
        ax_units.bar(units[~dead], live[~dead], width=1.0, color="tab:green")
        ax_units.set_ylim(0, 1.05)
        ax_units.set_title(f"layer: {state.dead_fraction:.0%} of units dead", fontsize=10)
        ax_units.set_xlabel("unit (sorted)")
        ax_units.set_ylabel("share of inputs with gradient")
        fig.tight_layout()

    def describe(self, state: ExplorerState) -> str:
        """One sentence on the layer: dead units and near-zero gradients."""
        units = state.live.size
        return (
            f"{state.name}: {state.dead_fraction:.1%} of {units} units are dead (no gradient "
            f"for any input of the batch); {state.near_zero_fraction:.1%} of unit activations "
            f"have |gradient| below the threshold; {state.saturated.mean():.0%} of the plotted "
            f"x range is saturated."
        )
