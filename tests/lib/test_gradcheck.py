"""Does the gradient checker agree with closed forms, and does it catch wrong backwards?"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import (
    check_layer,
    numeric_gradient,
    numeric_gradient_array,
    rel_error,
    sparse_grad_check,
)


def test_rel_error_is_zero_for_equal_arrays_and_one_for_opposite_signs():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a.copy()) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)


def test_rel_error_ignores_noise_where_both_gradients_are_zero():
    assert rel_error(np.array([1e-13]), np.array([0.0])) < 1e-4


def test_rel_error_measures_round_off_against_the_gradient_scale():
    """A tiny entry's round-off must not look like a wrong gradient."""
    analytic = np.array([1.0, 2.0, 1e-9])
    numeric = np.array([1.0, 2.0, 1e-9 + 1e-10])
    assert rel_error(analytic, numeric) < 1e-10


def test_rel_error_flags_one_wrong_entry_among_right_ones():
    analytic = np.array([1.0, 2.0, 3.0])
    numeric = np.array([1.0, 2.0, -3.0])
    assert rel_error(analytic, numeric) == pytest.approx(6.0 / 6.0)


def test_rel_error_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numeric_gradient_of_sum_of_cubes_matches_closed_form(rng):
    x = rng.standard_normal((3, 4))
    grad = numeric_gradient(lambda v: float(np.sum(v**3)), x)
    assert rel_error(grad, 3 * x**2) < 1e-8


def test_numeric_gradient_leaves_input_unchanged(rng):
    x = rng.standard_normal(5)
    before = x.copy()
    numeric_gradient(lambda v: float(np.sum(np.sin(v))), x)
    np.testing.assert_array_equal(x, before)


def test_numeric_gradient_array_is_the_vector_jacobian_product(rng):
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    grad = numeric_gradient_array(np.tanh, x, dout)
    assert rel_error(grad, dout * (1 - np.tanh(x) ** 2)) < 1e-8


def test_sparse_grad_check_accepts_right_and_flags_wrong_gradients(rng):
    x = rng.standard_normal((10, 10))

    def f(v):
        return float(np.sum(v**2))

    assert sparse_grad_check(f, x, 2 * x, num_checks=8) < 1e-6
    assert sparse_grad_check(f, x, 3 * x, num_checks=8) > 0.1


def _scale_forward(x, w):
    return x * w, (x, w)


def _scale_backward(dout, cache):
    x, w = cache
    return dout * w, dout * x


def _scale_backward_wrong(dout, cache):
    x, w = cache
    return dout * w, dout  # forgets to multiply by x


def test_check_layer_reports_small_errors_for_a_correct_backward(rng):
    inputs = {"x": rng.standard_normal((3, 2)), "w": rng.standard_normal((3, 2))}
    errors = check_layer(_scale_forward, _scale_backward, inputs)
    assert set(errors) == {"x", "w"}
    assert max(errors.values()) < 1e-8


def test_check_layer_names_the_parameter_whose_gradient_is_wrong(rng):
    inputs = {"x": rng.standard_normal((3, 2)) + 3.0, "w": rng.standard_normal((3, 2))}
    errors = check_layer(_scale_forward, _scale_backward_wrong, inputs)
    assert errors["x"] < 1e-8
    assert errors["w"] > 0.1


def test_check_layer_refuses_a_backward_returning_too_few_gradients(rng):
    inputs = {"x": rng.standard_normal(3), "w": rng.standard_normal(3)}
    with pytest.raises(ValueError, match="returned 1 gradients for 2 inputs"):
        check_layer(_scale_forward, lambda dout, cache: dout, inputs)
