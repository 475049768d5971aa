"""The exercise is the unit: each graded test's reference is the notebook function's twin.

Every spec of ``solutions/`` is an :func:`~autograder.specs.exercise` whose references
are the functions of ``dlcourse.exercises.<assignment>.<notebook>`` that carry the names
the notebook's test cell passes to ``check``, run through the same call pattern.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

from autograder.intake import load_template
from autograder.specs import (
    SpecError,
    exercise,
    load_specs,
    make_case_inputs,
    reference_functions,
    reference_outputs,
)
from dlcourse.exercises.a1 import activations

REPO = Path(__file__).resolve().parents[2]
SPECS_FILES = sorted((REPO / "solutions").glob("*/*.specs.py"))


def _checked_names(notebook: Path) -> dict[str, list[str]]:
    """test id -> the names of the functions its cell passes to ``check(...)``."""
    names = {}
    test_cells = [cell for cell in load_template(notebook).cells if "check(" in cell.source]
    for cell in test_cells:  # other cells may hold IPython magics, which ast cannot parse
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                test_id = node.args[0].value  # type: ignore[attr-defined]
                names[test_id] = [arg.id for arg in node.args[1:]]  # type: ignore[attr-defined]
    return names


@pytest.mark.parametrize("specs_path", SPECS_FILES, ids=lambda path: path.name)
def test_every_spec_runs_the_notebooks_functions_from_its_exercise_module(specs_path):
    assignment, notebook = specs_path.parent.name, specs_path.name.removesuffix(".specs.py")
    module = importlib.import_module(f"dlcourse.exercises.{assignment}.{notebook}")
    checked = _checked_names(specs_path.with_name(f"{notebook}.ipynb"))
    registry = load_specs(specs_path)
    assert set(registry.test_ids) == set(checked)
    for spec in registry:
        expected = tuple(getattr(module, name) for name in checked[spec.test_id])
        assert reference_functions(spec) == expected, spec.test_id


def test_output_names_come_from_the_call_pattern():
    spec = exercise(
        "relu_backward_test", "forward_backward",
        lambda rng: {"x": rng.standard_normal(4), "dout": rng.standard_normal(4)},
        activations.relu_forward, activations.relu_backward,
    )  # fmt: skip
    inputs = make_case_inputs(spec, 1, "s", 0)
    outputs = reference_outputs(spec, inputs)
    assert list(outputs) == ["out", "dx"]
    np.testing.assert_array_equal(outputs["out"], np.maximum(inputs["x"], 0))
    np.testing.assert_array_equal(outputs["dx"], inputs["dout"] * (inputs["x"] > 0))


def test_a_failing_reference_is_the_course_teams_error_not_a_students():
    def broken(x):
        raise ZeroDivisionError("oops")

    spec = exercise("broken_test", "call", lambda rng: {"x": np.ones(2)}, broken)
    with pytest.raises(SpecError, match="the reference failed: broken raised ZeroDivisionError"):
        reference_outputs(spec, make_case_inputs(spec, 1, "s", 0))
    with pytest.raises(SpecError, match="name the reference"):
        exercise("empty_test", "call", lambda rng: {"x": np.ones(2)})


def test_widget_fallbacks_are_the_exercises_references():
    """The widgets adapt nothing: a missing student function is replaced by its twin."""
    from dlcourse.exercises.a1 import backprop, perceptron
    from dlcourse.exercises.a2 import initialization, optimizers, regularization
    from dlcourse.widgets import init_explorer, optimizer_race, universal
    from dlcourse.widgets import perceptron as perceptron_widget
    from dlcourse.widgets import regularization as regularization_widget

    for racer, name in optimizer_race.FUNCTION_NAMES.items():
        assert optimizer_race.REFERENCE_RULES[racer] is getattr(optimizers, name)
    for name, fallback in optimizer_race.REFERENCE_SCHEDULES.items():
        assert fallback is getattr(optimizers, name)
    assert init_explorer.REFERENCE.xavier is initialization.xavier_scales
    assert init_explorer.REFERENCE.kaiming is initialization.kaiming_std
    assert perceptron_widget.reference_train is perceptron.train_perceptron
    assert regularization_widget.REFERENCE.penalty is regularization.l2_penalty
    assert regularization_widget.REFERENCE.dropout is regularization.inverted_dropout_forward
    assert universal.REFERENCE.fc_forward is backprop.fc_forward
    assert universal.REFERENCE.relu_forward is backprop.relu_layer_forward
