"""Hyperparameter search on a cheap analytic objective with a known optimum."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dlcourse.train.search import (
    Choice,
    LogUniform,
    Trial,
    Uniform,
    coarse_to_fine,
    grid_search,
    narrow_space,
    random_search,
    sort_trials,
)

SPACE = {
    "lr": LogUniform(1e-6, 1e-0),
    "reg": LogUniform(1e-7, 1e-1),
    "dropout": Uniform(0.0, 0.8),
    "activation": Choice(["relu", "tanh", "sigmoid"]),
}


def objective(lr: float, reg: float, dropout: float = 0.3, activation: str = "relu") -> float:
    """Peaks at 0 for lr = 1e-3, reg = 1e-4, dropout = 0.3 and ReLU."""
    penalty = {"relu": 0.0, "tanh": 0.5, "sigmoid": 2.0}[activation]
    return (
        -((math.log10(lr) + 3) ** 2) - (math.log10(reg) + 4) ** 2 - (dropout - 0.3) ** 2 - penalty
    )


def test_random_search_samples_stay_within_bounds_and_options() -> None:
    trials = random_search(objective, SPACE, num_trials=40, seed=0)
    assert len(trials) == 40
    for t in trials:
        assert 1e-6 <= t.params["lr"] <= 1.0
        assert 1e-7 <= t.params["reg"] <= 1e-1
        assert 0.0 <= t.params["dropout"] <= 0.8
        assert t.params["activation"] in {"relu", "tanh", "sigmoid"}


def test_random_search_returns_trials_best_first_with_the_objectives_scores() -> None:
    trials = random_search(objective, SPACE, num_trials=30, seed=1)
    recomputed = [objective(**t.params) for t in trials]
    assert [t.score for t in trials] == recomputed
    assert recomputed == sorted(recomputed, reverse=True)
    assert trials[0].score == max(recomputed)


def test_log_uniform_puts_equal_mass_in_every_decade() -> None:
    rng = np.random.default_rng(0)
    dist = LogUniform(1e-6, 1.0)
    samples = np.array([dist.sample(rng) for _ in range(3000)])
    counts, _ = np.histogram(np.log10(samples), bins=6, range=(-6, 0))
    assert np.all(counts > 400) and np.all(counts < 600)  # 500 expected in each
    # A plain uniform draw on the same range almost never leaves the top decade.
    uniform = np.array([Uniform(1e-6, 1.0).sample(rng) for _ in range(3000)])
    assert np.mean(uniform < 1e-2) < 0.02


def test_random_search_is_reproducible_from_its_seed() -> None:
    a = random_search(objective, SPACE, 10, seed=5)
    b = random_search(objective, SPACE, 10, seed=5)
    c = random_search(objective, SPACE, 10, seed=6)
    assert a == b
    assert [t.params for t in a] != [t.params for t in c]


def test_grid_search_enumerates_the_whole_product_once() -> None:
    grid = {"lr": [1e-4, 1e-3, 1e-2], "reg": [1e-5, 1e-4], "activation": ["relu", "tanh"]}
    trials = grid_search(objective, grid)
    seen = [(t.params["lr"], t.params["reg"], t.params["activation"]) for t in trials]
    assert sorted(seen) == sorted(itertools.product(*grid.values()))
    assert len(set(seen)) == 12


def test_grid_search_finds_the_optimum_on_the_grid() -> None:
    grid = {"lr": np.geomspace(1e-5, 1e-1, 5).tolist(), "reg": [1e-6, 1e-4, 1e-2]}
    best = grid_search(objective, grid)[0]
    assert best.params["lr"] == pytest.approx(1e-3)
    assert best.params["reg"] == 1e-4
    assert best.score == pytest.approx(0.0, abs=1e-12)


def test_minimizing_sorts_ascending_and_nan_scores_always_come_last() -> None:
    trials = [Trial({"a": 1}, 3.0), Trial({"a": 2}, math.nan), Trial({"a": 3}, -1.0)]
    assert [t.params["a"] for t in sort_trials(trials, maximize=True)] == [1, 3, 2]
    assert [t.params["a"] for t in sort_trials(trials, maximize=False)] == [3, 1, 2]


def test_narrow_space_zooms_in_around_the_best_trials() -> None:
    coarse = random_search(objective, SPACE, num_trials=30, seed=2)
    finer = narrow_space(SPACE, coarse, top_k=3, margin=0.1)
    top = coarse[:3]
    for name in ("lr", "reg", "dropout"):
        old, new = SPACE[name], finer[name]
        assert type(new) is type(old)
        assert old.low <= new.low and new.high <= old.high
        assert all(new.low <= t.params[name] <= new.high for t in top)
    assert math.log(finer["lr"].high / finer["lr"].low) < math.log(1e6)
    assert set(finer["activation"].options) == {t.params["activation"] for t in top}


def test_narrow_space_widens_by_the_margin_on_the_log_scale() -> None:
    space = {"lr": LogUniform(1e-6, 1.0)}
    trials = [Trial({"lr": 1e-3}, 1.0), Trial({"lr": 1e-4}, 0.5)]
    finer = narrow_space(space, trials, top_k=2, margin=0.5 / 6)  # half a decade each side
    assert finer["lr"].low == pytest.approx(10**-4.5)
    assert finer["lr"].high == pytest.approx(10**-2.5)


def test_coarse_to_fine_samples_each_round_inside_its_narrowed_space() -> None:
    trials, spaces = coarse_to_fine(objective, SPACE, trials_per_round=15, num_rounds=3, seed=0)
    assert len(trials) == 45 and len(spaces) == 3
    assert spaces[0] == SPACE
    width = [math.log(s["lr"].high / s["lr"].low) for s in spaces]
    assert width[0] > width[1] > width[2]
    scores = [t.score for t in trials]
    assert scores == sorted(scores, reverse=True)
    # Three zooms land close to the optimum lr = 1e-3, reg = 1e-4.
    assert abs(math.log10(trials[0].params["lr"]) + 3) < 0.5
    assert abs(math.log10(trials[0].params["reg"]) + 4) < 0.5


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LogUniform(0.0, 1.0), "0 < low < high"),
        (lambda: Uniform(1.0, 1.0), "low < high"),
        (lambda: Choice([]), "at least one option"),
        (lambda: random_search(objective, SPACE, num_trials=0), "num_trials"),
        (
            lambda: random_search(objective, {"lr": (1e-4, 1e-2)}, 3),
            "LogUniform, Uniform or Choice",
        ),
        (lambda: grid_search(objective, {"lr": []}), "non-empty"),
        (lambda: narrow_space(SPACE, [Trial({"lr": 1e-3}, math.nan)]), "not NaN"),
        (lambda: narrow_space(SPACE, [Trial({"lr": 1e-3}, 1.0)]), "reg"),
    ],
)
def test_bad_search_arguments_raise_value_errors(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()
