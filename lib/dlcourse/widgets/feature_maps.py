"""Feature-map explorer: an editable 3x3 kernel applied to a real photograph.

The photograph is one of the two sample images that ship with scikit-learn (a temple in
China, a flower), turned grey and shrunk by block averaging so that a change of kernel
redraws at once. The kernel comes from a preset (identity, blur, sharpen, edge
detectors) and each of its nine weights can then be edited. The feature map is computed
with the student's ``filter2d(image, kernel, pad)`` when it exists and agrees with the
reference on a small probe, and with the exercise's reference otherwise (a notice says
which). Every number on screen comes from :meth:`FeatureMapExplorer.compute`, a pure
function of the control values, tested without a browser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse.exercises.a3 import filters as exercise
from dlcourse.widgets.base import Resolved, WidgetApp, resolve_impl

Filter2d = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

PHOTOS: tuple[str, ...] = ("china.jpg", "flower.jpg")
"""The sample photographs of :func:`sklearn.datasets.load_sample_image`."""

PRESETS: dict[str, np.ndarray] = {
    "identity": np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "box blur": np.full((3, 3), 1.0 / 9.0),
    # exercise.gaussian_kernel(3, 0.85), written out: the student edition withholds the
    # reference, so nothing may call it at import (a test keeps the two equal).
    "Gaussian blur": np.array(
        [
            [0.06256912272348984, 0.12499996179751513, 0.06256912272348984],
            [0.12499996179751513, 0.24972366191598003, 0.12499996179751513],
            [0.06256912272348984, 0.12499996179751513, 0.06256912272348984],
        ]
    ),
    "sharpen": np.array([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "Sobel x (vertical edges)": exercise.SOBEL_X.copy(),
    "Sobel y (horizontal edges)": exercise.SOBEL_Y.copy(),
    "Laplacian (all edges)": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
}
"""The kernels the preset menu offers, each (3, 3); the lectures' examples."""

_PROBE_IMAGE = np.arange(20.0).reshape(4, 5) % 7
_PROBE_KERNEL = np.array([[1.0, 0, -2], [0.5, 3, 0], [0, -1, 1]])


@functools.lru_cache(maxsize=4)
def load_photo(name: str = "china.jpg", factor: int = 4) -> np.ndarray:
    """A sample photograph in grey, ``(H // factor, W // factor)``, values in ``[0, 1]``.

    Luminance ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601), then the mean of every
    ``factor x factor`` block (427 x 640 becomes 106 x 160 for ``factor = 4``).
    """
    from sklearn.datasets import load_sample_image

    if name not in PHOTOS:
        raise ValueError(f"name must be one of {PHOTOS}, got {name!r}")
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    rgb = load_sample_image(name).astype(np.float64) / 255.0  # (H, W, 3)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    h, w = (size // factor * factor for size in grey.shape)
    blocks = grey[:h, :w].reshape(h // factor, factor, w // factor, factor)
    out = blocks.mean(axis=(1, 3))
    out.flags.writeable = False  # shared by the cache
    return out


def _probe(candidate: Filter2d) -> None:
    """Raise unless ``candidate`` agrees with the reference on a small padded case."""
    got = np.asarray(candidate(_PROBE_IMAGE, _PROBE_KERNEL, 1), dtype=np.float64)
    want = exercise.filter2d(_PROBE_IMAGE, _PROBE_KERNEL, 1)
    if got.shape != want.shape or not np.allclose(got, want):
        raise ValueError("its result differs from the reference's")


def resolve_filter2d(namespace: Mapping[str, object] | None) -> Resolved[Filter2d]:
    """The student's ``filter2d`` where it works, else the exercise's reference."""
    return resolve_impl("filter2d", namespace, exercise.filter2d, probe=_probe)


@dataclass(frozen=True)
class FeatureMapState:
    """One photograph, one kernel (3, 3) and the feature map ``(H, W)`` it gives."""

    photo: str
    image: np.ndarray
    kernel: np.ndarray
    feature_map: np.ndarray
    preset: str
    """The preset the kernel equals, or "custom" once a weight was edited."""
    kernel_sum: float
    notice: str


def kernel_reading(kernel_sum: float) -> str:
    """What the sum of the weights says about the feature map of a flat region."""
    if abs(kernel_sum) < 1e-9:
        return "weights sum to 0: flat regions give 0, only changes (edges) respond"
    if abs(kernel_sum - 1.0) < 1e-9:
        return "weights sum to 1: flat regions keep their brightness"
    return f"weights sum to {kernel_sum:g}: flat regions are scaled by {kernel_sum:g}"


class FeatureMapExplorer(WidgetApp[FeatureMapState]):
    """A photograph, a preset menu and nine weight boxes; the photograph and its map.

    In a notebook: ``FeatureMapExplorer(namespace=globals())`` uses the student's
    ``filter2d`` when it works.
    """

    figsize = (10.0, 3.4)

    def __init__(self, namespace: Mapping[str, object] | None = None) -> None:
        self.impl = resolve_filter2d(namespace)
        self._applying_preset = False
        super().__init__()
        # Registered before render() adds its own observers, so the weights are set
        # before the one recomputation that the preset change triggers.
        self.controls["preset"].observe(self._apply_preset, names="value")

    def make_controls(self) -> dict[str, widgets.ValueWidget]:
        """Photograph and preset menus, then one number box per weight, row by row."""
        style = {"description_width": "initial"}
        first = next(iter(PRESETS))
        controls: dict[str, widgets.ValueWidget] = {
            "photo": widgets.Dropdown(options=list(PHOTOS), value=PHOTOS[0], description="photo"),
            "preset": widgets.Dropdown(
                options=list(PRESETS), value=first, description="preset", style=style
            ),
        }
        for index, value in enumerate(PRESETS[first].ravel()):
            controls[f"k{index}"] = widgets.FloatText(
                value=float(value),
                step=0.25,
                description=f"w[{index // 3},{index % 3}]",
                layout=widgets.Layout(width="130px"),
                style={"description_width": "45px"},
            )
        return controls

    def _apply_preset(self, change: Any) -> None:
        """Copy the chosen preset's weights into the boxes without recomputing nine times."""
        self._applying_preset = True
        try:
            for index, value in enumerate(PRESETS[change["new"]].ravel()):
                self.controls[f"k{index}"].value = float(value)
        finally:
            self._applying_preset = False

    def update(self, change: object = None) -> FeatureMapState | None:
        """Recompute, except while a preset is being copied into the boxes."""
        if self._applying_preset:
            return None
        return super().update(change)

    def compute(self, photo: str, preset: str, **weights: float) -> FeatureMapState:
        """Apply the kernel of the nine weights ``k0 .. k8`` (row by row) with padding 1."""
        kernel = np.array([float(weights[f"k{index}"]) for index in range(9)]).reshape(3, 3)
        image = load_photo(photo)
        feature_map = np.asarray(self.impl.impl(image, kernel, 1), dtype=np.float64)
        matches = preset in PRESETS and np.allclose(kernel, PRESETS[preset])
        return FeatureMapState(
            photo=photo,
            image=image,
            kernel=kernel,
            feature_map=feature_map,
            preset=preset if matches else "custom",
            kernel_sum=float(kernel.sum()),
            notice=self.impl.notice,
        )

    def draw(self, state: FeatureMapState, fig: Figure) -> None:
        """Photograph, kernel weights, feature map (diverging colours around 0)."""
        ax_image, ax_kernel, ax_map = fig.subplots(1, 3, gridspec_kw={"width_ratios": [3, 1.2, 3]})
        ax_image.imshow(state.image, cmap="gray", vmin=0, vmax=1)
        ax_image.set_title(f"{state.photo} ({state.image.shape[0]}x{state.image.shape[1]})")
        bound = max(float(np.abs(state.kernel).max()), 1e-12)
        ax_kernel.imshow(state.kernel, cmap="coolwarm", vmin=-bound, vmax=bound)
        for (row, col), value in np.ndenumerate(state.kernel):
            ax_kernel.text(col, row, f"{value:.2g}", ha="center", va="center", fontsize=9)
        ax_kernel.set_title("kernel", fontsize=9)
        ax_kernel.set_xlabel(state.preset, fontsize=8)
        # A symmetric colour range shows positive and negative responses alike. Its bound
        # ignores the largest 0.5% of the responses: the zero padding makes a false edge
        # along the border that would otherwise wash out every real one.
        extent = max(float(np.percentile(np.abs(state.feature_map), 99.5)), 1e-12)
        shown = ax_map.imshow(state.feature_map, cmap="RdBu_r", vmin=-extent, vmax=extent)
        ax_map.set_title("feature map (zero padding 1)")
        fig.colorbar(shown, ax=ax_map, fraction=0.035)
        for ax in (ax_image, ax_kernel, ax_map):
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()

    def describe(self, state: FeatureMapState) -> str:
        """The weights' sum and the range of the feature map."""
        low, high = float(state.feature_map.min()), float(state.feature_map.max())
        return (
            f"{kernel_reading(state.kernel_sum)}; feature map from {low:.3g} to {high:.3g}, "
            f"mean {float(state.feature_map.mean()):.3g}"
        )
