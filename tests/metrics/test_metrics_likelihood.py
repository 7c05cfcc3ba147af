import math

import numpy as np
import pytest

from kzoo.metrics import bits_per_dim, nats_to_bits, summarize_nll


def test_nats_to_bits():
    assert nats_to_bits(math.log(2)) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(nats_to_bits([0.0, math.log(8)]), [0.0, 3.0], atol=1e-12)
    assert isinstance(nats_to_bits(1.0), float)


def test_bits_per_dim_without_correction():
    # 784 * ln 2 nats over 784 binary pixels is one bit per pixel.
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0, abs=1e-12)
    # Published binarized-MNIST NLL of 88.04 nats is ~0.162 bits/dim.
    assert bits_per_dim(88.04, 784) == pytest.approx(88.04 / (784 * math.log(2)), abs=1e-12)


def test_bits_per_dim_uniform_density_is_eight_bits():
    # The uniform density on [0, 1]^D (log p = 0) corresponds to a uniform
    # distribution over 256 levels: exactly 8 bits per dimension.
    assert bits_per_dim(0.0, 3072, num_bins=256) == pytest.approx(8.0, abs=1e-12)


def test_bits_per_dim_dequantization_matches_discrete_model():
    # A piecewise-constant density p(x) = 256 * P(k) on the bin of k is the
    # continuous twin of the discrete distribution P; with num_bins=256 its
    # bits/dim equals the discrete model's -log2 P(k) / D.
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(256))
    pixels = rng.integers(0, 256, size=(5, 4))
    discrete_nll = -np.log(probs[pixels]).sum(axis=1)
    continuous_nll = -np.log(256 * probs[pixels]).sum(axis=1)
    got = bits_per_dim(continuous_nll, 4, num_bins=256)
    np.testing.assert_allclose(got, discrete_nll / (4 * math.log(2)), rtol=1e-12)
    assert got.shape == (5,)


def test_bits_per_dim_shape_preserved_and_scalar_is_float():
    values = np.ones((2, 3))
    assert bits_per_dim(values, 10).shape == (2, 3)
    assert isinstance(bits_per_dim(np.float32(5.0), 10), float)


@pytest.mark.parametrize("num_dims", [0, -3, 2.5, True])
def test_bits_per_dim_rejects_bad_num_dims(num_dims):
    with pytest.raises(ValueError, match="num_dims"):
        bits_per_dim(1.0, num_dims)


@pytest.mark.parametrize("num_bins", [0, 1, 256.0])
def test_bits_per_dim_rejects_bad_num_bins(num_bins):
    with pytest.raises(ValueError, match="num_bins"):
        bits_per_dim(1.0, 10, num_bins=num_bins)


def test_summarize_nll():
    nll = np.array([1.0, 2.0, 3.0, 4.0])
    summary = summarize_nll(nll, 10)
    assert summary["n"] == 4
    assert summary["nll_nats"] == pytest.approx(2.5)
    assert summary["nll_nats_sem"] == pytest.approx(np.std(nll, ddof=1) / 2.0)
    assert summary["bits_per_dim"] == pytest.approx(2.5 / (10 * math.log(2)))
    with_bins = summarize_nll(nll, 10, num_bins=256)
    assert with_bins["bits_per_dim"] == pytest.approx(2.5 / (10 * math.log(2)) + 8.0)


def test_summarize_nll_single_example_has_nan_sem():
    summary = summarize_nll([3.0], 1)
    assert summary["n"] == 1 and math.isnan(summary["nll_nats_sem"])


def test_summarize_nll_errors():
    with pytest.raises(ValueError, match="2 NaN"):
        summarize_nll([1.0, np.nan, np.nan], 5)
    with pytest.raises(ValueError, match="empty"):
        summarize_nll([], 5)
