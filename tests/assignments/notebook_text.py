"""What a solution notebook says, for the claims tests to check against.

A claims test proves a sentence of a notebook. It reads the sentence from the notebook's
markdown here, with the number in it, instead of copying the number into the test: edit
the claim in the notebook and its test checks the new claim (or fails, saying which
sentence it no longer finds).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

# A number as the notebooks write it: 0.29, 2,410, -3, 96%, 1e-4, or in LaTeX 10^{-7} and
# 3\times10^{-5}. A leading minus is part of the number; a percent sign is not.
NUMBER = r"(?:-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|(?:\d+(?:\.\d+)?\s*\\times\s*)?10\^\{-?\d+\})"


@functools.cache
def prose(notebook: str) -> str:
    """The markdown cells of ``solutions/<notebook>.ipynb`` (e.g. ``"a1/backprop"``), joined,
    with every run of whitespace made one space so a sentence may span lines."""
    nb = nbformat.read(SOLUTIONS / f"{notebook}.ipynb", as_version=4)
    text = "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    return re.sub(r"\s+", " ", text)


@functools.cache
def code_cells(notebook: str) -> tuple[str, ...]:
    """The sources of the code cells of ``solutions/<notebook>.ipynb``, in order."""
    nb = nbformat.read(SOLUTIONS / f"{notebook}.ipynb", as_version=4)
    return tuple(cell.source for cell in nb.cells if cell.cell_type == "code")


def code(notebook: str) -> str:
    """The code cells of ``solutions/<notebook>.ipynb``, joined."""
    return "\n\n".join(code_cells(notebook))


def claim(notebook: str, pattern: str, *, in_code: bool = False) -> re.Match[str]:
    """The first match of the regular expression ``pattern`` in the notebook's prose (or
    code); fails the test, naming the notebook and the pattern, where there is none.

    ``{num}`` in ``pattern`` stands for a captured :data:`NUMBER`.
    """
    regex = pattern.replace("{num}", f"({NUMBER})")
    text = code(notebook) if in_code else prose(notebook)
    match = re.search(regex, text)
    assert match is not None, (
        f"solutions/{notebook}.ipynb no longer says {pattern!r}: change the claim and its "
        "test together"
    )
    return match


def to_number(text: str) -> float:
    """``"2,410"`` -> 2410.0, ``"10^{-7}"`` -> 1e-07, ``"3\\times10^{-5}"`` -> 3e-05."""
    power = re.fullmatch(r"(?:(\d+(?:\.\d+)?)\s*\\times\s*)?10\^\{(-?\d+)\}", text.strip())
    if power:
        return float(power.group(1) or 1) * 10.0 ** int(power.group(2))
    return float(text.replace(",", ""))


def numbers(notebook: str, pattern: str, *, in_code: bool = False) -> tuple[float, ...]:
    """The numbers captured by ``{num}`` (or any group) in the first match of ``pattern``."""
    return tuple(to_number(group) for group in claim(notebook, pattern, in_code=in_code).groups())


def number(notebook: str, pattern: str, *, in_code: bool = False) -> float:
    """The one number captured in the first match of ``pattern``."""
    (value,) = numbers(notebook, pattern, in_code=in_code)
    return value
