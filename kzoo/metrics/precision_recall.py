"""Improved precision and recall of generative models (k-NN manifold estimate).

The support of each feature set is approximated by the union of balls
centred on its samples, each ball's radius being the distance from the sample
to its ``k``-th nearest neighbour within the same set (the sample itself
excluded). Then:

* precision = fraction of fake samples inside the real manifold (fidelity);
* recall = fraction of real samples inside the fake manifold (coverage).

A point on a ball's boundary counts as inside. Pairwise distances are
computed ``batch_size`` rows at a time, so memory stays at
``batch_size x max(n_real, n_fake)`` floats.

References:
    Kynkaanniemi, Karras, Laine, Lehtinen and Aila, "Improved Precision and
    Recall Metric for Assessing Generative Models", NeurIPS 2019.
"""

import numpy as np

from kzoo.core.validation import as_features, check_positive_int, check_same_dim


def _squared_distances(a, b, b_sq_norms):
    """Squared Euclidean distances between rows of ``a`` and rows of ``b``, clipped at 0."""
    a_sq_norms = np.einsum("ij,ij->i", a, a)
    sq = a_sq_norms[:, None] + b_sq_norms[None, :] - 2.0 * (a @ b.T)
    return np.maximum(sq, 0.0)


def _knn_radii_squared(points, k, batch_size):
    """Squared distance from each point to its k-th nearest other point."""
    sq_norms = np.einsum("ij,ij->i", points, points)
    radii = np.empty(points.shape[0])
    for start in range(0, points.shape[0], batch_size):
        block = _squared_distances(points[start : start + batch_size], points, sq_norms)
        # Column 0 of the sorted row is the point itself (distance 0), so the
        # k-th neighbour excluding self is order statistic k.
        radii[start : start + batch_size] = np.partition(block, k, axis=1)[:, k]
    return radii


def _fraction_inside(queries, centres, radii_sq, batch_size):
    """Fraction of ``queries`` inside at least one ball ``(centres, radii_sq)``."""
    centre_sq_norms = np.einsum("ij,ij->i", centres, centres)
    inside = 0
    for start in range(0, queries.shape[0], batch_size):
        block = _squared_distances(queries[start : start + batch_size], centres, centre_sq_norms)
        inside += int(np.any(block <= radii_sq[None, :], axis=1).sum())
    return inside / queries.shape[0]


def precision_recall(real_features, fake_features, *, k=3, batch_size=1024):
    """k-NN precision and recall of fake features against real features.

    Args:
        real_features: array-like of shape ``(n_real, d)`` with ``n_real > k``.
        fake_features: array-like of shape ``(n_fake, d)`` with ``n_fake > k``.
        k: which nearest neighbour sets the ball radii (3 in the paper).
        batch_size: rows of each pairwise-distance block.

    Returns:
        A dict with ``precision`` and ``recall`` (floats in ``[0, 1]``).

    Raises:
        ValueError: either set has ``k`` or fewer samples, the dims differ, an
            array holds NaN / infinite values, or ``k`` / ``batch_size`` is not
            a positive integer.
    """
    k = check_positive_int(k, "k")
    batch_size = check_positive_int(batch_size, "batch_size")
    reason = f"to find k={k} neighbours besides each sample"
    real = as_features(real_features, "real features", min_samples=k + 1, reason=reason)
    fake = as_features(fake_features, "fake features", min_samples=k + 1, reason=reason)
    check_same_dim(real, fake)
    # Centering on a common point reduces cancellation in |a|^2 + |b|^2 - 2ab.
    offset = real.mean(axis=0)
    real = real - offset
    fake = fake - offset

    real_radii = _knn_radii_squared(real, k, batch_size)
    fake_radii = _knn_radii_squared(fake, k, batch_size)
    return {
        "precision": _fraction_inside(fake, real, real_radii, batch_size),
        "recall": _fraction_inside(real, fake, fake_radii, batch_size),
    }
