"""Input validation shared by every reference implementation.

Every public function in :mod:`dlcourse` checks its inputs with these helpers, so a
wrong shape always produces the same kind of message: what was expected, what arrived,
and which argument it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(x: object, name: str) -> np.ndarray:
    """Return ``x`` as a float32/float64 array, keeping its precision.

    Integer and boolean inputs are promoted to float64; float16 is refused because the
    references are only verified in float32 and float64.
    """
    arr = np.asarray(x)
    if arr.dtype in FLOAT_DTYPES:
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise ValueError(
        f"{name} must hold float32 or float64 numbers, got dtype {arr.dtype}; "
        f"convert it with {name}.astype(np.float64)"
    )


def check_ndim(x: np.ndarray, ndim: int | Sequence[int], name: str, layout: str) -> None:
    """Raise ``ValueError`` unless ``x.ndim`` is ``ndim`` (or one of several).

    ``layout`` names the axes, e.g. ``"(N, C, H, W)"``, and appears in the message.
    """
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in allowed:
        raise ValueError(
            f"{name} must have shape {layout} ({' or '.join(map(str, allowed))} dimensions), "
            f"got shape {x.shape} with {x.ndim} dimensions"
        )


def check_shape(x: np.ndarray, expected: tuple, name: str, layout: str = "") -> None:
    """Raise ``ValueError`` unless ``x.shape`` matches ``expected``.

    Entries of ``expected`` that are ``None`` match any size.
    """
    ok = x.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, x.shape, strict=False)
    )
    if not ok:
        shown = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        where = f" {layout}" if layout else ""
        raise ValueError(f"{name} must have shape {shown}{where}, got {x.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless two arrays have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def check_labels(y: object, n: int, num_classes: int, name: str = "y") -> np.ndarray:
    """Return integer class labels of shape (n,), each in ``[0, num_classes)``."""
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the batch, got {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {num_classes}), "
            f"got values from {arr.min()} to {arr.max()}"
        )
    return arr.astype(np.intp, copy=False)


def check_positive(value: float, name: str) -> None:
    """Raise ``ValueError`` unless ``value > 0``."""
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def check_probability(p: float, name: str = "p") -> None:
    """Raise ``ValueError`` unless ``0 <= p < 1``."""
    if not 0 <= p < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {p}")
