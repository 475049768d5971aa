"""Fitted preprocessing: statistics come from the training split only.

Every transform here has the same two-step shape, because a statistic computed on the
validation or test split would leak information about it into the model:

1. ``fit(X_train)`` computes and stores the statistics (means, standard deviations,
   principal directions) from the training data;
2. ``transform(X)`` applies those *stored* statistics to any split: train, val or test.

So a test set whose mean differs from the training mean is shifted by the training mean
and does **not** come out centred. That is intended; it is what happens at deployment time.

The transforms, in the order the lectures present them:

* :class:`Standardizer` -- subtract the mean and divide by the standard deviation, either
  per feature (every pixel of every channel has its own statistics) or per channel (three
  numbers for RGB images: the VGG / ResNet recipe);
* :class:`MeanImage` -- subtract the mean training image (AlexNet), no scaling;
* :class:`PCA` -- centre, then project onto the top principal directions;
* :class:`Whitening` -- centre, rotate and rescale so the covariance becomes the identity,
  either in the PCA basis or rotated back to pixel space (ZCA).

Standard deviations use ``ddof=0`` (``np.std``'s default, as in the lecture's
``X /= np.std(X, axis=0)``); covariances and explained variances use ``N - 1`` (as
``np.cov`` and ``sklearn.decomposition.PCA``). Statistics are accumulated in float64 and
cast to the input's dtype when applied, so float32 data stays float32.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array, check_ndim, check_positive

_LAYOUT = "(N, D) or (N, C, H, W)"


class NotFittedError(RuntimeError):
    """Raised when ``transform`` is called on a transform that has not been fitted."""


class _FittedTransform:
    """Shared bookkeeping: remembers the per-example shape seen by ``fit``."""

    # Per-example shape of the training data (``X_train.shape[1:]``); ``None`` until fit.
    fitted_shape: tuple[int, ...] | None = None

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit on ``X`` (the training split) and return ``X`` transformed."""
        return self.fit(X).transform(X)

    def fit(self, X: np.ndarray) -> _FittedTransform:  # pragma: no cover - overridden
        raise NotImplementedError

    def transform(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fit_input(self, X: object, min_examples: int = 1) -> np.ndarray:
        arr = as_float_array(X, "X")
        check_ndim(arr, (2, 3, 4), "X", _LAYOUT)
        if arr.shape[0] < min_examples:
            raise ValueError(
                f"{type(self).__name__}.fit needs at least {min_examples} training examples "
                f"to estimate its statistics, got X with shape {arr.shape}"
            )
        return arr

    @staticmethod
    def _learned(value: np.ndarray | None) -> np.ndarray:
        """A statistic that ``fit`` set; callers have passed ``_transform_input`` first,
        which refuses an unfitted object with the explanation."""
        assert value is not None
        return value

    def _transform_input(self, X: object) -> np.ndarray:
        if self.fitted_shape is None:
            raise NotFittedError(
                f"{type(self).__name__}.transform was called before fit: call "
                f"fit(X_train) on the training split first, then transform(X) each split "
                f"(train, val and test) with that same fitted object"
            )
        arr = as_float_array(X, "X")
        if arr.ndim < 2 or arr.shape[1:] != self.fitted_shape:
            raise ValueError(
                f"X must have shape (N, {', '.join(map(str, self.fitted_shape))}) like the "
                f"training data this {type(self).__name__} was fitted on, got {arr.shape}"
            )
        return arr


class Standardizer(_FittedTransform):
    """Zero mean and unit standard deviation, per feature or per channel.

    Args:
        per: ``"feature"`` gives every entry of ``X.shape[1:]`` its own mean and std
            (for images: one per channel and pixel); ``"channel"`` needs images
            ``(N, C, H, W)`` and pools all pixels of a channel (``C`` means and stds).
        scale: divide by the standard deviation; ``False`` only subtracts the mean (the
            VGG recipe "subtract the per-channel mean").
        eps: features whose training std is at most ``eps`` are centred but not scaled,
            since dividing a constant feature by ~0 would blow it up.

    Attributes (after ``fit``):
        mean_, std_: float64 statistics of shape ``X.shape[1:]`` (per feature) or
            ``(C, 1, 1)`` (per channel), so that they broadcast against ``X``.
    """

    def __init__(self, per: str = "feature", scale: bool = True, eps: float = 1e-8) -> None:
        if per not in ("feature", "channel"):
            raise ValueError(f'per must be "feature" or "channel", got {per!r}')
        check_positive(eps, "eps")
        self.per = per
        self.scale = scale
        self.eps = float(eps)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """Store the mean and std of the training data ``X``: ``(N, D)`` or ``(N, C, H, W)``."""
        arr = self._fit_input(X)
        if self.per == "channel":
            check_ndim(arr, 4, "X", '(N, C, H, W) for per="channel"')
            axes: tuple[int, ...] = (0, 2, 3)
        else:
            axes = (0,)
        # keepdims then dropping the batch axis leaves shapes that broadcast against X.
        mean = arr.mean(axis=axes, dtype=np.float64, keepdims=True)[0]
        std = arr.std(axis=axes, dtype=np.float64, keepdims=True)[0]
        self.mean_ = mean
        self.std_ = np.where(std > self.eps, std, 1.0) if self.scale else np.ones_like(std)
        self.fitted_shape = arr.shape[1:]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - mean_) / std_`` with ``X``'s shape and dtype."""
        arr = self._transform_input(X)
        return (arr - self._learned(self.mean_).astype(arr.dtype)) / self._learned(
            self.std_
        ).astype(arr.dtype)


class MeanImage(Standardizer):
    """Subtract the mean training image (AlexNet): per-feature centring without scaling.

    ``mean_`` has the shape of one example, e.g. ``(3, 32, 32)`` for CIFAR-10.
    """

    def __init__(self) -> None:
        super().__init__(per="feature", scale=False)


def _flat_float64(arr: np.ndarray) -> np.ndarray:
    """``(N, *F)`` -> ``(N, D)`` float64, ``D = prod(F)``; decompositions run in float64."""
    return arr.reshape(arr.shape[0], -1).astype(np.float64)


class PCA(_FittedTransform):
    """Principal component analysis: centre, then project onto the top directions.

    Args:
        num_components: how many directions ``K`` to keep; ``None`` keeps ``min(N, D)``.

    Attributes (after ``fit`` on ``X`` of shape ``(N, *F)``, ``D = prod(F)``):
        mean_: ``(D,)`` training mean.
        components_: ``(K, D)`` orthonormal rows, by decreasing variance. Each row's sign
            is fixed so that its largest-magnitude entry is positive (SVD leaves the sign
            arbitrary; this makes repeated fits agree).
        explained_variance_: ``(K,)`` variance of the training data along each row
            (``N - 1`` denominator).
    """

    def __init__(self, num_components: int | None = None) -> None:
        if num_components is not None and num_components < 1:
            raise ValueError(f"num_components must be a positive integer, got {num_components}")
        self.num_components = num_components
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.explained_variance_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> PCA:
        """Find the principal directions of the training data ``X``, shape ``(N, *F)``."""
        arr = self._fit_input(X, min_examples=2)
        flat = _flat_float64(arr)
        n, d = flat.shape
        k = min(n, d) if self.num_components is None else self.num_components
        if k > min(n, d):
            raise ValueError(
                f"num_components={k} is more than min(N, D) = {min(n, d)} directions that "
                f"{n} examples of {d} features can span; lower num_components"
            )
        mean = flat.mean(axis=0)
        # The right singular vectors of the centred data are the covariance eigenvectors,
        # found without forming the (D, D) covariance.
        _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
        components = vt[:k]
        largest = np.abs(components).argmax(axis=1)
        components = components * np.sign(components[np.arange(k), largest])[:, None]
        self.mean_ = mean
        self.components_ = components
        self.explained_variance_ = singular[:k] ** 2 / (n - 1)
        self.fitted_shape = arr.shape[1:]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Coordinates along the components: ``X`` of shape ``(M, *F)`` -> ``(M, K)``."""
        arr = self._transform_input(X)
        flat = arr.reshape(arr.shape[0], -1)
        mean, components = self._learned(self.mean_), self._learned(self.components_)
        return (flat - mean.astype(arr.dtype)) @ components.T.astype(arr.dtype)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Map coordinates ``(M, K)`` back to data space ``(M, *F)``.

        With ``K < D`` this is the best rank-``K`` reconstruction of the original data.
        """
        if self.components_ is None:
            raise NotFittedError("PCA.inverse_transform was called before fit: fit(X_train) first")
        z = as_float_array(Z, "Z")
        k = self.components_.shape[0]
        if z.ndim != 2 or z.shape[1] != k:
            raise ValueError(
                f"Z must have shape (M, {k}) (one column per component), got {z.shape}"
            )
        flat = z @ self.components_.astype(z.dtype) + self._learned(self.mean_).astype(z.dtype)
        return flat.reshape((z.shape[0], *(self.fitted_shape or ())))


class Whitening(_FittedTransform):
    """Decorrelate and equalize: the whitened training data has identity covariance.

    With ``cov = V diag(lam) V^T`` the training covariance (``N - 1`` denominator):

    * ``kind="pca"``: ``out = (x - mean) V diag(1 / sqrt(lam + eps))``, shape ``(M, D)``,
      columns by decreasing ``lam`` (the data expressed in the PCA basis, each axis
      rescaled to unit variance);
    * ``kind="zca"``: ``out = (x - mean) V diag(1 / sqrt(lam + eps)) V^T``, i.e. the PCA
      result rotated back to the original axes. It is the whitening that changes the data
      least, so whitened images still look like images; the output keeps ``X``'s shape.

    ``eps`` keeps directions with (near) zero variance from being divided by zero; its
    cost is that the whitened variance along a direction is ``lam / (lam + eps)``, not
    exactly 1. The ``(D, D)`` covariance is formed, so ``D`` should stay in the thousands.

    Attributes (after ``fit``): ``mean_`` ``(D,)``, ``matrix_`` ``(D, D)`` such that
    ``out = (x - mean_) @ matrix_``, ``eigenvalues_`` ``(D,)`` in decreasing order.
    """

    def __init__(self, kind: str = "zca", eps: float = 1e-5) -> None:
        if kind not in ("pca", "zca"):
            raise ValueError(f'kind must be "pca" or "zca", got {kind!r}')
        check_positive(eps, "eps")
        self.kind = kind
        self.eps = float(eps)
        self.mean_: np.ndarray | None = None
        self.matrix_: np.ndarray | None = None
        self.eigenvalues_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Whitening:
        """Estimate the whitening matrix from the training data ``X``, shape ``(N, *F)``."""
        arr = self._fit_input(X, min_examples=2)
        flat = _flat_float64(arr)
        mean = flat.mean(axis=0)
        centred = flat - mean
        cov = centred.T @ centred / (flat.shape[0] - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        # eigh sorts ascending; the PCA basis is conventionally listed by decreasing variance.
        order = eigenvalues.argsort()[::-1]
        # Rounding can leave tiny negative eigenvalues on a rank-deficient covariance.
        eigenvalues = np.clip(eigenvalues[order], 0.0, None)
        eigenvectors = eigenvectors[:, order]
        matrix = eigenvectors / np.sqrt(eigenvalues + self.eps)
        if self.kind == "zca":
            matrix = matrix @ eigenvectors.T
        self.mean_ = mean
        self.matrix_ = matrix
        self.eigenvalues_ = eigenvalues
        self.fitted_shape = arr.shape[1:]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Whiten ``X`` of shape ``(M, *F)``: ``(M, D)`` for PCA, ``(M, *F)`` for ZCA."""
        arr = self._transform_input(X)
        flat = arr.reshape(arr.shape[0], -1)
        mean, matrix = self._learned(self.mean_), self._learned(self.matrix_)
        out = (flat - mean.astype(arr.dtype)) @ matrix.astype(arr.dtype)
        return out.reshape(arr.shape) if self.kind == "zca" else out
