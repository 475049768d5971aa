"""Helpers shared by the augmentation modules: batch handling and argument checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._validate import as_float_array, check_ndim

_LAYOUT = "(N, C, H, W) or a single image (C, H, W)"


def _check_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator such as np.random.default_rng(0), "
            f"got {type(rng).__name__}"
        )


def _as_batch(images: object) -> tuple[np.ndarray, bool]:
    """Return ``(batch (N, C, H, W), was_single)``; a single image becomes a batch of one."""
    arr = as_float_array(images, "images")
    check_ndim(arr, (3, 4), "images", _LAYOUT)
    return (arr[None], True) if arr.ndim == 3 else (arr, False)


def _unbatch(batch: np.ndarray, was_single: bool) -> np.ndarray:
    return batch[0] if was_single else batch


def _pair(size: int | tuple[int, int] | None, default: tuple[int, int], name: str) -> tuple:
    """``size`` as ``(height, width)``: an int means a square, ``None`` the default."""
    if size is None:
        return default
    pair: tuple[Any, ...] = (
        tuple(size) if isinstance(size, tuple | list | np.ndarray) else (size, size)
    )
    if len(pair) != 2 or any(int(s) != s or s < 1 for s in pair):
        raise ValueError(f"{name} must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _check_unit(value: float, name: str) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
