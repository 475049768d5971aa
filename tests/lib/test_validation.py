"""Do the shared validators accept good input and explain bad input?"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse._validate import (
    as_float_array,
    check_labels,
    check_ndim,
    check_probability,
    check_same_shape,
    check_shape,
)


def test_as_float_array_keeps_float32_and_promotes_integers():
    assert as_float_array(np.zeros(2, np.float32), "x").dtype == np.float32
    assert as_float_array([1, 2], "x").dtype == np.float64


def test_as_float_array_refuses_float16_and_names_the_fix():
    with pytest.raises(ValueError, match=r"x must hold float32 or float64.*astype"):
        as_float_array(np.zeros(2, np.float16), "x")


def test_check_ndim_names_the_layout_and_the_shape_that_came():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*got shape \(2, 3\)"):
        check_ndim(np.zeros((2, 3)), 4, "x", "(N, C, H, W)")
    check_ndim(np.zeros((2, 3)), (2, 4), "x", "(N, D)")


def test_check_shape_treats_none_as_any_size():
    check_shape(np.zeros((5, 3)), (None, 3), "w")
    with pytest.raises(ValueError, match=r"w must have shape \(\*, 4\), got \(5, 3\)"):
        check_shape(np.zeros((5, 3)), (None, 4), "w")


def test_check_same_shape_reports_both_shapes():
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        check_same_shape(np.zeros(2), np.zeros(3), "a", "b")


def test_check_labels_rejects_out_of_range_and_float_labels():
    assert check_labels(np.array([0, 2]), 2, 3).dtype == np.intp
    with pytest.raises(ValueError, match=r"\[0, 3\).*from 0 to 3"):
        check_labels(np.array([0, 3]), 2, 3)
    with pytest.raises(ValueError, match="integer class labels"):
        check_labels(np.array([0.0, 1.0]), 2, 3)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        check_labels(np.array([0, 1]), 3, 3)


def test_check_probability_accepts_zero_and_refuses_one():
    check_probability(0.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        check_probability(1.0)
