import numpy as np
import pytest

from kzoo.metrics import FeatureStatistics, fid_from_features, frechet_distance

# Two float64 eigendecomposition paths agree to ~1e-8 relative across CPUs
# and BLAS builds (2.5e-9 was seen), so FID comparisons between paths use 1e-7.
EIGEN_RTOL = 1e-7



def _reference_sets():
    real = np.ones((100, 2))
    real[:50, 0] = 2
    gen = 9 * np.ones((100, 2))
    gen[50:, 0] = 2
    return real, gen


def test_reference_value_with_singular_covariances():
    real, gen = _reference_sets()
    assert fid_from_features(real, gen) == pytest.approx(89.0909, abs=1e-3)
    assert fid_from_features(gen, real) == pytest.approx(89.0909, abs=1e-3)


def test_unit_mean_shift_in_2048_dims_is_2048():
    dim = 2048
    value = frechet_distance(np.zeros(dim), np.eye(dim), np.ones(dim), np.eye(dim))
    assert value == pytest.approx(2048.0, abs=1e-6)


def test_unit_mean_shift_with_rotated_identity_covariances():
    # A rotated identity is not exactly diagonal, so this runs the general
    # eigendecomposition path.
    dim = 512
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, dim)))
    sigma = q @ q.T
    assert np.count_nonzero(sigma - np.diag(np.diag(sigma))) > 0
    value = frechet_distance(np.zeros(dim), sigma, np.ones(dim), sigma)
    assert value == pytest.approx(512.0, abs=1e-6)


def test_diagonal_shortcut_agrees_with_general_path():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 3, size=20) * (rng.uniform(size=20) > 0.3)
    b = rng.uniform(0, 3, size=20)
    q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    mu1, mu2 = rng.normal(size=(2, 20))
    diagonal = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    rotated = frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    assert diagonal == pytest.approx(rotated, rel=EIGEN_RTOL)


def test_identical_features_give_zero():
    rng = np.random.default_rng(0)
    features = 100.0 + 10.0 * rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))
    scale = np.trace(np.cov(features, rowvar=False))
    assert abs(fid_from_features(features, features)) < 1e-6 * scale


def test_symmetric():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(80, 8))
    b = 0.5 + rng.normal(size=(60, 8)) @ rng.normal(size=(8, 8))
    assert fid_from_features(a, b) == pytest.approx(fid_from_features(b, a), rel=EIGEN_RTOL)


def test_diagonal_covariances_closed_form():
    # Commuting covariances: tr sqrt(S1 S2) = sum sqrt(a_i b_i). Zeros make
    # both matrices singular.
    a = np.array([0.0, 1.0, 4.0, 2.0, 0.0])
    b = np.array([3.0, 0.0, 9.0, 2.0, 0.0])
    mu1 = np.arange(5.0)
    mu2 = mu1 + np.array([1.0, 0.0, -2.0, 0.0, 0.5])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-10)


def test_matches_scipy_sqrtm_on_full_rank_covariances():
    from scipy import linalg

    rng = np.random.default_rng(2)
    dim = 12
    m1, m2 = rng.normal(size=(2, dim, dim))
    sigma1 = m1 @ m1.T + 0.1 * np.eye(dim)
    sigma2 = m2 @ m2.T + 0.1 * np.eye(dim)
    mu1, mu2 = rng.normal(size=(2, dim))
    root = linalg.sqrtm(sigma1 @ sigma2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * root)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)


def test_rank_deficient_features_fewer_samples_than_dims():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(10, 32))
    b = rng.normal(size=(12, 32)) + 0.3
    value = fid_from_features(a, b)
    assert np.isfinite(value) and value > 0
    # Invariant under a rotation of feature space.
    q, _ = np.linalg.qr(rng.normal(size=(32, 32)))
    assert fid_from_features(a @ q, b @ q) == pytest.approx(value, rel=1e-7)


def test_streaming_uneven_batches_equal_one_shot():
    rng = np.random.default_rng(4)
    features = 50.0 + rng.normal(size=(503, 20)) @ rng.normal(size=(20, 20))
    sizes = [1, 97, 3, 150, 0, 2, 250]
    assert sum(sizes) == len(features)
    stats = FeatureStatistics()
    start = 0
    for size in sizes:
        stats.update(features[start : start + size])
        start += size
    assert stats.count == 503
    np.testing.assert_allclose(stats.mean, features.mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(stats.covariance, np.cov(features, rowvar=False), rtol=0, atol=1e-9)

    other = rng.normal(size=(200, 20)) * 3.0
    streamed = stats.frechet_distance(FeatureStatistics.from_features(other))
    assert streamed == pytest.approx(fid_from_features(features, other), rel=EIGEN_RTOL)


def test_merge_equals_concatenation():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(40, 6)) + 1000.0
    b = rng.normal(size=(25, 6)) * 2.0 + 1000.5
    merged = FeatureStatistics().update(a).merge(FeatureStatistics().update(b))
    both = np.concatenate([a, b])
    np.testing.assert_allclose(merged.mean, both.mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(merged.covariance, np.cov(both, rowvar=False), rtol=0, atol=1e-9)
    # Merging into an empty accumulator copies the statistics.
    empty = FeatureStatistics().merge(merged)
    assert empty.count == 65
    np.testing.assert_allclose(empty.covariance, merged.covariance, atol=0)


def test_save_and_load_roundtrip(tmp_path):
    rng = np.random.default_rng(6)
    stats = FeatureStatistics.from_features(rng.normal(size=(30, 4)))
    path = tmp_path / "stats.npz"
    stats.save(path)
    loaded = FeatureStatistics.load(path)
    assert loaded.count == 30 and loaded.dim == 4
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)


def test_errors_name_the_bad_values():
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="real features have dim 64 but fake features have dim 32"):
        fid_from_features(rng.normal(size=(10, 64)), rng.normal(size=(10, 32)))
    with pytest.raises(ValueError, match="fake features hold 1 samples; at least 2 are needed for a covariance"):
        fid_from_features(rng.normal(size=(10, 3)), rng.normal(size=(1, 3)))
    bad = rng.normal(size=(10, 3))
    bad[[1, 4, 7], 0] = np.nan
    with pytest.raises(ValueError, match="real features contain 3 NaN"):
        fid_from_features(bad, rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match=r"shape \(num_samples, num_features\).*\(10,\)"):
        fid_from_features(np.zeros(10), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="mu1 has dim 3 but mu2 has dim 2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"sigma2 must have shape \(3, 3\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))


def test_feature_statistics_errors():
    stats = FeatureStatistics()
    with pytest.raises(ValueError, match="0 samples"):
        stats.mean
    stats.update(np.ones((1, 3)))
    with pytest.raises(ValueError, match="holds 1 samples; at least 2"):
        stats.covariance
    with pytest.raises(ValueError, match="features have dim 2 but this FeatureStatistics holds dim 3"):
        stats.update(np.ones((4, 2)))
    with pytest.raises(ValueError, match="dim 2 into statistics of dim 3"):
        stats.merge(FeatureStatistics().update(np.ones((4, 2))))
    with pytest.raises(TypeError):
        stats.merge(np.ones((4, 3)))
