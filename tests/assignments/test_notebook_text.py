"""The reader of notebook claims: numbers as the notebooks write them, and a clear failure
when a claim is gone."""

from __future__ import annotations

import pytest

from .notebook_text import claim, number, to_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.29", 0.29), ("2,410", 2410.0), ("-3", -3.0), ("1e-4", 1e-4), ("10^{-7}", 1e-7),
     (r"3\times10^{-5}", 3e-5), (r"3 \times 10^{-5}", 3e-5)],
)  # fmt: skip
def test_numbers_are_read_as_the_notebooks_write_them(text, expected):
    assert to_number(text) == pytest.approx(expected, rel=1e-12)


def test_a_claim_the_notebook_no_longer_makes_fails_naming_notebook_and_sentence():
    with pytest.raises(AssertionError, match=r"solutions/a1/backprop\.ipynb no longer says"):
        claim("a1/backprop", r"a sentence no notebook contains")


def test_a_number_is_read_from_a_sentence_that_spans_lines():
    # The notebook breaks this sentence over two source lines; prose() joins them.
    assert number("a1/backprop", r"{num} for training and 300 for validation") == 1197
