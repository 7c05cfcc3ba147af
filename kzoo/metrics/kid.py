"""Kernel Inception Distance (KID): unbiased MMD^2 with a polynomial kernel.

KID is the squared maximum mean discrepancy between real and generated
feature sets under the cubic polynomial kernel
``k(x, y) = (gamma x.y + coef0)^degree`` with ``gamma = 1/d``, estimated with
the unbiased U-statistic and averaged over random subsets. Unlike FID the
estimator is unbiased, so its expected value does not depend on the sample
size and it can be slightly negative when the two distributions match.

References:
    Binkowski, Sutherland, Arbel and Gretton, "Demystifying MMD GANs",
    ICLR 2018.
    Gretton, Borgwardt, Rasch, Schoelkopf and Smola, "A Kernel Two-Sample
    Test", JMLR 2012 (the unbiased MMD^2 estimator).
"""

import numbers

import numpy as np

from kzoo.core.validation import as_features, check_number, check_positive_int, check_same_dim


def polynomial_kernel(x, y, *, degree=3, gamma=None, coef0=1.0):
    """Polynomial kernel matrix ``(gamma x y^T + coef0)^degree``.

    Args:
        x: array of shape ``(m, d)``.
        y: array of shape ``(n, d)``.
        degree: the exponent.
        gamma: the scale of the dot product; ``None`` means ``1 / d``.
        coef0: the additive constant.

    Returns:
        A float64 array of shape ``(m, n)``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(x, y, kernel):
    """Unbiased estimate of the squared MMD between the samples ``x`` and ``y``.

    ``MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1))
    + sum_{i != j} k(y_i, y_j) / (n (n - 1)) - 2 sum_{i, j} k(x_i, y_j) / (m n)``

    Args:
        x: array of shape ``(m, d)`` with ``m >= 2``.
        y: array of shape ``(n, d)`` with ``n >= 2``.
        kernel: a callable ``kernel(a, b)`` returning the ``(len(a), len(b))``
            kernel matrix, e.g. ``functools.partial(polynomial_kernel, degree=3)``.

    Returns:
        The estimate as a float (can be negative).

    Raises:
        ValueError: fewer than 2 samples on either side, or the dims differ.
    """
    x = as_features(x, "x", min_samples=2, reason="for the unbiased MMD estimate")
    y = as_features(y, "y", min_samples=2, reason="for the unbiased MMD estimate")
    check_same_dim(x, y, "x", "y")
    m, n = x.shape[0], y.shape[0]
    k_xx = np.asarray(kernel(x, x), dtype=np.float64)
    k_yy = np.asarray(kernel(y, y), dtype=np.float64)
    k_xy = np.asarray(kernel(x, y), dtype=np.float64)
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    term_xy = k_xy.sum() / (m * n)
    return float(term_xx + term_yy - 2.0 * term_xy)


def kernel_inception_distance(
    real_features,
    fake_features,
    *,
    num_subsets=100,
    subset_size=1000,
    degree=3,
    gamma=None,
    coef0=1,
    seed=0,
):
    """Kernel Inception Distance between two feature sets.

    For each of ``num_subsets`` rounds, ``subset_size`` real and
    ``subset_size`` fake rows are drawn without replacement and the unbiased
    MMD^2 with kernel ``(gamma x.y + coef0)^degree`` is computed; the mean and
    standard deviation over rounds are returned.

    ``subset_size`` is clipped to ``min(n_real, n_fake)``; when it equals both
    set sizes every round uses all samples and the standard deviation is 0.

    Args:
        real_features: array-like of shape ``(n_real, d)``.
        fake_features: array-like of shape ``(n_fake, d)``.
        num_subsets: number of random subsets to average over.
        subset_size: samples per side in each subset (clipped, see above).
        degree: polynomial kernel degree.
        gamma: dot-product scale; ``None`` means ``1 / d``.
        coef0: kernel constant.
        seed: seed of the subset sampler (``numpy.random.default_rng``).

    Returns:
        ``(mean, std)`` as floats; ``std`` is the population standard deviation
        of the per-subset estimates (a spread, not a standard error).

    Raises:
        ValueError: fewer than 2 samples on either side, the dims differ, an
            array holds NaN / infinite values, or an argument is out of range.
    """
    reason = "for the unbiased MMD estimate"
    real = as_features(real_features, "real features", min_samples=2, reason=reason)
    fake = as_features(fake_features, "fake features", min_samples=2, reason=reason)
    check_same_dim(real, fake)
    num_subsets = check_positive_int(num_subsets, "num_subsets")
    subset_size = check_number(subset_size, "subset_size", integer=True, minimum=2)
    degree = check_positive_int(degree, "degree")
    if gamma is None:
        gamma = 1.0 / real.shape[1]
    if not isinstance(gamma, numbers.Real) or not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive number or None (1/d); received {gamma!r}")
    if not isinstance(coef0, numbers.Real) or not np.isfinite(coef0):
        raise ValueError(f"coef0 must be a finite number; received {coef0!r}")

    size = min(subset_size, real.shape[0], fake.shape[0])

    def kernel(a, b):
        return polynomial_kernel(a, b, degree=degree, gamma=float(gamma), coef0=float(coef0))

    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        real_subset = real[rng.choice(real.shape[0], size, replace=False)]
        fake_subset = fake[rng.choice(fake.shape[0], size, replace=False)]
        values[i] = mmd2_unbiased(real_subset, fake_subset, kernel)
    return float(values.mean()), float(values.std())
