"""Hyperparameter search: random search, grid search and coarse-to-fine narrowing.

A search calls ``train_fn(**params)`` for each setting and expects a score back, such
as the validation accuracy (``maximize=True``, the default) or a validation loss
(``maximize=False``). Results come back as :class:`Trial` records, best first; a score
of NaN (a run that diverged) always sorts last.

The lectures' recipe: search coarsely for a few epochs, then refine around the best
settings and train longer. Random search beats grid search when only some
hyperparameters matter (Bergstra and Bengio, 2012): a grid of 9 runs tries just 3
values of each hyperparameter, 9 random runs try 9 values of each. Rates and
regularization strengths should be sampled on a log scale (:class:`LogUniform`), since
1e-4 versus 1e-3 matters as much as 1e-2 versus 1e-1.

A search space maps names to distributions::

    space = {"lr": LogUniform(1e-5, 1e-1), "reg": LogUniform(1e-6, 1e-2),
             "dropout": Uniform(0.0, 0.6), "hidden": Choice([64, 128, 256])}
    trials = random_search(train_fn, space, num_trials=20, seed=0)
    finer = narrow_space(space, trials, top_k=3)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LogUniform:
    """A number whose logarithm is uniform on ``[log(low), log(high)]``; ``0 < low < high``.

    Every decade between ``low`` and ``high`` is equally likely.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high or not math.isfinite(self.high):
            raise ValueError(
                f"LogUniform needs 0 < low < high (finite), got low={self.low}, high={self.high}"
            )

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def to_unit(self, value: float) -> float:
        """Where ``value`` lies between the bounds, measured on the log scale (0 to 1)."""
        return math.log(value / self.low) / math.log(self.high / self.low)

    def from_unit(self, u: float) -> float:
        return float(self.low * (self.high / self.low) ** u)


@dataclass(frozen=True)
class Uniform:
    """A number drawn uniformly from ``[low, high]``; ``low < high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"Uniform needs finite low < high, got low={self.low}, high={self.high}"
            )

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def to_unit(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        return float(self.low + u * (self.high - self.low))


@dataclass(frozen=True)
class Choice:
    """One of a fixed list of ``options``, each equally likely."""

    options: tuple[Any, ...]

    def __init__(self, options: Sequence[Any]) -> None:
        options = tuple(options)
        if not options:
            raise ValueError("Choice needs at least one option")
        object.__setattr__(self, "options", options)  # the dataclass is frozen

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]


Distribution = LogUniform | Uniform | Choice


@dataclass(frozen=True)
class Trial:
    """One run of ``train_fn``: the hyperparameters it got and the score it returned."""

    params: dict[str, Any]
    score: float


def _check_space(space: Mapping[str, Distribution]) -> None:
    if not space:
        raise ValueError("the search space is empty")
    for name, dist in space.items():
        if not isinstance(dist, (LogUniform, Uniform, Choice)):
            raise ValueError(
                f"space[{name!r}] must be LogUniform, Uniform or Choice, got {type(dist).__name__}"
            )


def sort_trials(trials: Sequence[Trial], maximize: bool = True) -> list[Trial]:
    """Trials best first; NaN scores last; ties keep their original order."""

    def key(trial: Trial) -> tuple[bool, float]:
        if math.isnan(trial.score):
            return (True, 0.0)
        return (False, -trial.score if maximize else trial.score)

    return sorted(trials, key=key)


def _run(train_fn: Callable[..., float], params: dict[str, Any]) -> Trial:
    return Trial(params=params, score=float(train_fn(**params)))


def sample_params(space: Mapping[str, Distribution], rng: np.random.Generator) -> dict[str, Any]:
    """Draw one setting: a value for every name in ``space``, in the space's order."""
    _check_space(space)
    return {name: dist.sample(rng) for name, dist in space.items()}


def random_search(
    train_fn: Callable[..., float],
    space: Mapping[str, Distribution],
    num_trials: int,
    seed: int | Sequence[int] = 0,
    maximize: bool = True,
) -> list[Trial]:
    """Run ``train_fn`` on ``num_trials`` settings sampled from ``space``; best first.

    The same ``seed`` draws the same settings, whatever ``train_fn`` does.
    """
    _check_space(space)
    if isinstance(num_trials, bool) or int(num_trials) != num_trials or num_trials < 1:
        raise ValueError(f"num_trials must be a whole number >= 1, got {num_trials!r}")
    rng = np.random.default_rng(seed)
    # Draw every setting before training, so train_fn cannot disturb the sequence.
    settings = [sample_params(space, rng) for _ in range(int(num_trials))]
    return sort_trials([_run(train_fn, p) for p in settings], maximize)


def grid_search(
    train_fn: Callable[..., float],
    grid: Mapping[str, Sequence[Any]],
    maximize: bool = True,
) -> list[Trial]:
    """Run ``train_fn`` on every combination of the values listed in ``grid``; best first.

    ``grid`` maps each name to its values, e.g. ``{"lr": [1e-3, 1e-2], "reg": [0, 1e-4]}``
    (4 runs). Use ``np.geomspace`` for values evenly spaced on a log scale.
    """
    if not grid:
        raise ValueError("the grid is empty")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty sequence of values")
    names = list(grid)
    combos = itertools.product(*(grid[name] for name in names))
    trials = [_run(train_fn, dict(zip(names, combo, strict=True))) for combo in combos]
    return sort_trials(trials, maximize)


def narrow_space(
    space: Mapping[str, Distribution],
    trials: Sequence[Trial],
    top_k: int = 3,
    margin: float = 0.1,
) -> dict[str, Distribution]:
    """A smaller space around the ``top_k`` best of ``trials`` (given best first).

    For a numeric range, the new range spans the top trials' values, widened on each
    side by ``margin`` times the old width (measured on the log scale for
    :class:`LogUniform`) and kept inside the old range; the margin leaves room beyond
    the best values seen, since the optimum rarely sits exactly at a sampled point. A
    :class:`Choice` keeps the options the top trials used.
    """
    _check_space(space)
    if isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1:
        raise ValueError(f"top_k must be a whole number >= 1, got {top_k!r}")
    if not 0 <= margin <= 1:
        raise ValueError(f"margin must lie in [0, 1], got {margin}")
    best = [t for t in trials if not math.isnan(t.score)][: int(top_k)]
    if not best:
        raise ValueError("narrow_space needs at least one trial with a score that is not NaN")
    narrowed: dict[str, Distribution] = {}
    for name, dist in space.items():
        if any(name not in t.params for t in best):
            raise ValueError(f"a trial has no value for the hyperparameter {name!r}")
        values = [t.params[name] for t in best]
        if isinstance(dist, Choice):
            narrowed[name] = Choice([o for o in dist.options if o in values])
            continue
        units = [dist.to_unit(v) for v in values]
        lo, hi = max(0.0, min(units) - margin), min(1.0, max(units) + margin)
        if hi <= lo:  # margin 0 with a single trial: keep a sliver so the range is valid
            lo, hi = max(0.0, lo - 1e-3), min(1.0, hi + 1e-3)
        narrowed[name] = type(dist)(dist.from_unit(lo), dist.from_unit(hi))
    return narrowed


def coarse_to_fine(
    train_fn: Callable[..., float],
    space: Mapping[str, Distribution],
    trials_per_round: int = 10,
    num_rounds: int = 2,
    top_k: int = 3,
    margin: float = 0.1,
    seed: int = 0,
    maximize: bool = True,
) -> tuple[list[Trial], list[dict[str, Distribution]]]:
    """Random search in rounds, each in the space narrowed around the best trials so far.

    Returns every trial of every round, best first, and the space each round sampled
    from (the first is ``space`` itself), so the zooming can be shown on a plot.
    """
    if isinstance(num_rounds, bool) or int(num_rounds) != num_rounds or num_rounds < 1:
        raise ValueError(f"num_rounds must be a whole number >= 1, got {num_rounds!r}")
    all_trials: list[Trial] = []
    spaces = [dict(space)]
    for round_index in range(int(num_rounds)):
        if round_index > 0:
            spaces.append(narrow_space(spaces[-1], all_trials, top_k, margin))
        found = random_search(train_fn, spaces[-1], trials_per_round, [seed, round_index], maximize)
        all_trials = sort_trials(all_trials + found, maximize)
    return all_trials, spaces
