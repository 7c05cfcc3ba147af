"""Frechet distance between Gaussian fits of two feature sets (FID).

The Frechet (2-Wasserstein) distance between ``N(mu1, S1)`` and
``N(mu2, S2)`` is::

    d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^{1/2} S2 S1^{1/2})^{1/2})

With Inception-v3 pool features this is the Frechet Inception Distance.
Everything here is float64 numpy; the matrix square roots use symmetric
eigendecompositions, so no complex numbers appear and singular (rank
deficient) covariances, which arise whenever there are fewer samples than
feature dimensions, are handled exactly.

:class:`FeatureStatistics` accumulates the mean and covariance batch by batch
(Chan et al. parallel update), so features never need to be held in memory
at once, and statistics of a reference set can be saved and reused.

References:
    Heusel, Ramsauer, Unterthiner, Nessler and Hochreiter, "GANs Trained by a
    Two Time-Scale Update Rule Converge to a Local Nash Equilibrium",
    NeurIPS 2017.
    Chan, Golub and LeVeque, "Updating Formulae and a Pairwise Algorithm for
    Computing Sample Variances", 1979.
"""

import numpy as np

from kzoo.core.validation import as_features, check_finite, check_same_dim


def _trace_sqrt_product(sigma1, sigma2):
    """``tr((S1 S2)^{1/2})`` computed as ``tr((S1^{1/2} S2 S1^{1/2})^{1/2})``.

    With ``S1 = V diag(w) V^T`` (``w`` clipped at 0) and ``W = V diag(sqrt w)``,
    ``W^T S2 W`` is symmetric PSD and similar to ``S1^{1/2} S2 S1^{1/2}`` (hence
    to ``S1 S2``), so the trace is the sum of the square roots of its clipped
    eigenvalues. Clipping makes singular covariances safe. Two diagonal
    covariances take an exact O(d) shortcut instead of two O(d^3)
    eigendecompositions.
    """
    diag1, diag2 = np.diag(sigma1), np.diag(sigma2)
    both_diagonal = (
        np.count_nonzero(sigma1 - np.diag(diag1)) == 0
        and np.count_nonzero(sigma2 - np.diag(diag2)) == 0
    )
    if both_diagonal:
        # Diagonal matrices commute: tr((S1 S2)^{1/2}) = sum_i sqrt(a_i b_i), in O(d).
        return float(np.sqrt(np.clip(diag1, 0.0, None) * np.clip(diag2, 0.0, None)).sum())
    eigvals, eigvecs = np.linalg.eigh(0.5 * (sigma1 + sigma1.T))
    half = eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))
    middle = half.T @ (0.5 * (sigma2 + sigma2.T)) @ half
    roots = np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (middle + middle.T)), 0.0, None))
    return float(roots.sum())


def _as_mean(mu, name):
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"{name} must be a 1-D mean vector; received shape {mu.shape}")
    check_finite(mu, name)
    return mu


def _as_covariance(sigma, name, dim):
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.shape != (dim, dim):
        raise ValueError(
            f"{name} must have shape ({dim}, {dim}) to match its mean; received {sigma.shape}"
        )
    check_finite(sigma, name)
    return sigma


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Squared Frechet distance between two Gaussians.

    ``||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^{1/2} S2 S1^{1/2})^{1/2})``,
    in float64, without complex arithmetic. Tiny negative eigenvalues from
    rounding are clipped to zero, so singular covariances are fine. The result
    is symmetric in its two arguments up to rounding, and clipped at zero.

    Args:
        mu1: mean of the first Gaussian, shape ``(d,)``.
        sigma1: covariance of the first Gaussian, shape ``(d, d)``.
        mu2: mean of the second Gaussian, shape ``(d,)``.
        sigma2: covariance of the second Gaussian, shape ``(d, d)``.

    Returns:
        The distance as a Python float (FID when the inputs are Inception
        feature statistics).

    Raises:
        ValueError: shapes disagree or an input holds NaN / infinite values.
    """
    mu1 = _as_mean(mu1, "mu1")
    mu2 = _as_mean(mu2, "mu2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 has dim {mu1.shape[0]} but mu2 has dim {mu2.shape[0]}")
    dim = mu1.shape[0]
    sigma1 = _as_covariance(sigma1, "sigma1", dim)
    sigma2 = _as_covariance(sigma2, "sigma2", dim)
    diff = mu1 - mu2
    value = (
        float(diff @ diff)
        + float(np.trace(sigma1))
        + float(np.trace(sigma2))
        - 2.0 * _trace_sqrt_product(sigma1, sigma2)
    )
    return max(value, 0.0)


class FeatureStatistics:
    """Streaming mean and covariance of feature vectors, in float64.

    Batches are combined with the parallel update of Chan et al. (mean and the
    sum of squared deviations ``M2``), which stays accurate when the features
    have a large mean, unlike accumulating raw sums of outer products.

    Example::

        stats = FeatureStatistics()
        for batch in feature_batches:
            stats.update(batch)
        fid = stats.frechet_distance(reference_stats)

    Args:
        dim: the feature dimension, or ``None`` to take it from the first
            batch.
    """

    def __init__(self, dim=None):
        self.dim = None if dim is None else int(dim)
        self.count = 0
        self._mean = None if dim is None else np.zeros(self.dim)
        self._m2 = None if dim is None else np.zeros((self.dim, self.dim))

    def _combine(self, count, mean, m2):
        if count == 0:
            return
        if self.count == 0:
            self.count, self._mean, self._m2 = count, mean.copy(), m2.copy()
            return
        total = self.count + count
        delta = mean - self._mean
        self._mean = self._mean + delta * (count / total)
        self._m2 = self._m2 + m2 + np.outer(delta, delta) * (self.count * count / total)
        self.count = total

    def update(self, features):
        """Adds a batch of features.

        Args:
            features: array-like of shape ``(batch, dim)``; an empty batch is
                ignored.

        Returns:
            ``self``, so calls can be chained.

        Raises:
            ValueError: the batch is not 2-D, its dim differs from earlier
                batches, or it holds NaN / infinite values.
        """
        batch = as_features(features, "features", min_samples=0)
        if self.dim is None:
            self.dim = batch.shape[1]
        elif batch.shape[1] != self.dim:
            raise ValueError(
                f"features have dim {batch.shape[1]} but this FeatureStatistics holds "
                f"dim {self.dim}"
            )
        if batch.shape[0] == 0:
            return self
        mean = batch.mean(axis=0)
        centered = batch - mean
        self._combine(batch.shape[0], mean, centered.T @ centered)
        return self

    def merge(self, other):
        """Adds the samples summarized by another ``FeatureStatistics``.

        Args:
            other: a ``FeatureStatistics`` of the same dim (e.g. from another
                worker or shard).

        Returns:
            ``self``.

        Raises:
            TypeError: ``other`` is not a ``FeatureStatistics``.
            ValueError: the dims differ.
        """
        if not isinstance(other, FeatureStatistics):
            raise TypeError(f"can only merge a FeatureStatistics; received {type(other).__name__}")
        if other.count == 0:
            return self
        if self.dim is not None and other.dim != self.dim:
            raise ValueError(
                f"cannot merge statistics of dim {other.dim} into statistics of dim {self.dim}"
            )
        self.dim = other.dim
        self._combine(other.count, other._mean, other._m2)
        return self

    @property
    def mean(self):
        """The mean feature vector, shape ``(dim,)``.

        Raises:
            ValueError: no samples have been added.
        """
        if self.count < 1:
            raise ValueError("FeatureStatistics holds 0 samples; at least 1 is needed for a mean")
        return self._mean.copy()

    @property
    def covariance(self):
        """The unbiased (``N - 1``) covariance matrix, shape ``(dim, dim)``.

        Raises:
            ValueError: fewer than 2 samples have been added.
        """
        if self.count < 2:
            raise ValueError(
                f"FeatureStatistics holds {self.count} samples; at least 2 are needed "
                "for a covariance"
            )
        cov = self._m2 / (self.count - 1)
        return 0.5 * (cov + cov.T)

    def frechet_distance(self, other):
        """Frechet distance between the Gaussian fits of ``self`` and ``other``.

        Args:
            other: another ``FeatureStatistics`` of the same dim.

        Returns:
            The distance as a float.

        Raises:
            ValueError: either side holds fewer than 2 samples or dims differ.
        """
        return frechet_distance(self.mean, self.covariance, other.mean, other.covariance)

    @classmethod
    def from_features(cls, features):
        """Builds statistics from one array of shape ``(n, dim)``."""
        return cls().update(features)

    def save(self, path):
        """Writes ``count``, ``mean`` and ``m2`` to an ``.npz`` file at ``path``."""
        if self.count == 0:
            raise ValueError("FeatureStatistics holds 0 samples; nothing to save")
        np.savez(path, count=np.int64(self.count), mean=self._mean, m2=self._m2)

    @classmethod
    def load(cls, path):
        """Reads statistics written by :meth:`save`.

        Raises:
            ValueError: the file lacks ``count``, ``mean`` or ``m2``, or their
                shapes disagree.
        """
        with np.load(path) as data:
            missing = [key for key in ("count", "mean", "m2") if key not in data]
            if missing:
                raise ValueError(f"{path} lacks the arrays {missing}; expected count, mean and m2")
            count, mean, m2 = int(data["count"]), data["mean"], data["m2"]
        if mean.ndim != 1 or m2.shape != (mean.shape[0], mean.shape[0]):
            raise ValueError(
                f"{path} holds a mean of shape {mean.shape} and m2 of shape {m2.shape}; "
                "expected (d,) and (d, d)"
            )
        stats = cls(dim=mean.shape[0])
        stats._combine(count, mean.astype(np.float64), m2.astype(np.float64))
        return stats

    def __repr__(self):
        return f"FeatureStatistics(dim={self.dim}, count={self.count})"


def fid_from_features(real_features, fake_features):
    """Frechet distance between Gaussian fits of two feature arrays.

    Args:
        real_features: array-like of shape ``(n_real, d)``.
        fake_features: array-like of shape ``(n_fake, d)``.

    Returns:
        The distance as a float (FID when the features are Inception pool
        features).

    Raises:
        ValueError: either array has fewer than 2 samples, the dims differ, or
            an array holds NaN / infinite values.
    """
    real = as_features(real_features, "real features", min_samples=2, reason="for a covariance")
    fake = as_features(fake_features, "fake features", min_samples=2, reason="for a covariance")
    check_same_dim(real, fake)
    real_stats = FeatureStatistics.from_features(real)
    fake_stats = FeatureStatistics.from_features(fake)
    return real_stats.frechet_distance(fake_stats)
