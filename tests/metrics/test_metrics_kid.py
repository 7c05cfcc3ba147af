import functools

import numpy as np
import pytest

from kzoo.metrics import kernel_inception_distance, mmd2_unbiased, polynomial_kernel


def _brute_force_mmd2(x, y, degree=3, coef0=1.0):
    """Unbiased MMD^2 with explicit loops over every pair."""
    gamma = 1.0 / len(x[0])

    def k(a, b):
        return (gamma * sum(ai * bi for ai, bi in zip(a, b)) + coef0) ** degree

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_tiny_case_matches_brute_force():
    x = [[0.0, 1.0], [1.0, 2.0], [2.0, 0.0], [-1.0, 1.0]]
    y = [[1.0, 1.0], [3.0, 0.0], [0.0, -2.0], [2.0, 2.0]]
    expected = _brute_force_mmd2(x, y)
    kernel = functools.partial(polynomial_kernel, degree=3, gamma=0.5, coef0=1.0)
    assert mmd2_unbiased(np.array(x), np.array(y), kernel) == pytest.approx(expected, rel=1e-12)
    # With subset_size >= both set sizes every subset is the full set.
    mean, std = kernel_inception_distance(x, y, num_subsets=3, subset_size=10)
    assert mean == pytest.approx(expected, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_unequal_sizes_match_brute_force():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    y = rng.normal(size=(7, 3)) + 0.5
    kernel = functools.partial(polynomial_kernel, degree=3, coef0=1.0)
    assert mmd2_unbiased(x, y, kernel) == pytest.approx(_brute_force_mmd2(x, y), rel=1e-10)


def test_same_distribution_small_shifted_distribution_large():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(500, 16))
    same = rng.normal(size=(500, 16))
    shifted = rng.normal(size=(500, 16)) + 1.0
    same_mean, same_std = kernel_inception_distance(real, same, num_subsets=50, subset_size=100)
    assert abs(same_mean) < max(3 * same_std, 0.01)
    shifted_mean, shifted_std = kernel_inception_distance(real, shifted, num_subsets=50, subset_size=100)
    assert shifted_mean > 0.5
    assert shifted_mean > 3 * shifted_std
    assert shifted_mean > 50 * max(abs(same_mean), same_std / 10)


def test_estimator_is_unbiased():
    # Averaged over many independent draws from one distribution the unbiased
    # estimate is centred on 0, whereas the biased V-statistic (diagonals
    # kept) is clearly positive on the same draws.
    rng = np.random.default_rng(2)
    kernel = functools.partial(polynomial_kernel, degree=3, coef0=1.0)
    unbiased, biased = [], []
    for _ in range(400):
        x = rng.normal(size=(10, 3))
        y = rng.normal(size=(10, 3))
        unbiased.append(mmd2_unbiased(x, y, kernel))
        biased.append(kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean())
    unbiased, biased = np.array(unbiased), np.array(biased)
    sem = unbiased.std(ddof=1) / np.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 3 * sem
    assert biased.mean() > 5 * biased.std(ddof=1) / np.sqrt(len(biased))
    assert (unbiased < 0).any()  # the estimator can be negative


def test_defaults_gamma_is_one_over_dim_and_seed_is_deterministic():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(60, 8))
    fake = rng.normal(size=(60, 8)) + 0.2
    default = kernel_inception_distance(real, fake, num_subsets=5, subset_size=20)
    explicit = kernel_inception_distance(real, fake, num_subsets=5, subset_size=20, gamma=1 / 8)
    assert default == explicit
    assert default == kernel_inception_distance(real, fake, num_subsets=5, subset_size=20, seed=0)
    assert default != kernel_inception_distance(real, fake, num_subsets=5, subset_size=20, seed=1)


def test_subset_size_is_clipped_to_smaller_set():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(30, 4))
    fake = rng.normal(size=(50, 4))
    clipped = kernel_inception_distance(real, fake, num_subsets=4, subset_size=1000)
    explicit = kernel_inception_distance(real, fake, num_subsets=4, subset_size=30)
    assert clipped == explicit


def test_errors():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="real features have dim 64 but fake features have dim 32"):
        kernel_inception_distance(rng.normal(size=(10, 64)), rng.normal(size=(10, 32)))
    with pytest.raises(ValueError, match="real features hold 1 samples; at least 2"):
        kernel_inception_distance(rng.normal(size=(1, 4)), rng.normal(size=(10, 4)))
    bad = rng.normal(size=(10, 4))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="fake features contain 1 NaN"):
        kernel_inception_distance(rng.normal(size=(10, 4)), bad)
    with pytest.raises(ValueError, match="num_subsets must be a positive integer, got 0"):
        kernel_inception_distance(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), num_subsets=0)
    with pytest.raises(ValueError, match="gamma"):
        kernel_inception_distance(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), gamma=-1.0)
