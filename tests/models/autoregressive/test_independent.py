"""IndependentBernoulli: the shared harness plus exact checks of the baseline."""

import numpy as np
import pytest

from kzoo.models.autoregressive import IndependentBernoulli
from test_case import GenerativeModelTestCase
from vector_ar_checks import all_images, assert_normalized, binary_images, randomize, total_variation


class TestIndependentBernoulli(GenerativeModelTestCase):
    def make_model(self, **overrides):
        return IndependentBernoulli(**overrides)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed=seed)


class TestIndependentCategorical(GenerativeModelTestCase):
    def make_model(self, **overrides):
        return IndependentBernoulli(likelihood="categorical", **overrides)

    def make_batch(self, seed=0):
        rng = np.random.default_rng(seed)
        return (rng.integers(0, 256, (self.batch_size, 28, 28, 1)) / 255.0).astype(np.float32)


def test_parameter_count_is_one_logit_per_pixel():
    model = IndependentBernoulli()
    model.build_for_data()
    assert model.count_params() == 784
    assert model.free_parameter_count() == 784
    assert IndependentBernoulli(likelihood="categorical").free_parameter_count() == 784 * 256


def test_log_prob_is_the_sum_of_pixel_log_probs():
    model = randomize(IndependentBernoulli(data_shape=(4, 4, 1)))
    x = binary_images(6, shape=(4, 4, 1), seed=2, p=0.5)
    logits = np.asarray(model.pixel_logits, np.float64)
    p = 1.0 / (1.0 + np.exp(-logits))
    flat = x.reshape(6, -1)
    expected = (flat * np.log(p) + (1 - flat) * np.log1p(-p)).sum(axis=1)
    np.testing.assert_allclose(model.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model(x)).reshape(6, -1), np.broadcast_to(logits, (6, 16)), rtol=1e-6)


@pytest.mark.parametrize("likelihood, levels", [("bernoulli", 2), ("categorical", 3)])
def test_density_is_normalized_and_samples_follow_it(likelihood, levels):
    model = randomize(IndependentBernoulli(data_shape=(1, 3, 1), likelihood=likelihood, num_levels=levels))
    assert total_variation(model, n=20_000, seed=1, levels=levels) < 0.03


def test_estimate_sets_the_maximum_likelihood_frequencies():
    x = binary_images(200, shape=(3, 3, 1), seed=4, p=0.4)
    model = IndependentBernoulli(data_shape=(3, 3, 1)).estimate(x, pseudo_count=0.0)
    p = 1.0 / (1.0 + np.exp(-np.asarray(model.pixel_logits)))
    np.testing.assert_allclose(p, x.reshape(200, -1).mean(axis=0), atol=1e-5)
    smoothed = IndependentBernoulli(data_shape=(3, 3, 1)).estimate(x, pseudo_count=1.0)
    p1 = 1.0 / (1.0 + np.exp(-np.asarray(smoothed.pixel_logits)))
    np.testing.assert_allclose(p1, (x.reshape(200, -1).sum(axis=0) + 1) / 202, atol=1e-5)
    # The MLE beats any other setting on the training data, e.g. a gradient-trained one.
    other = randomize(IndependentBernoulli(data_shape=(3, 3, 1)), scale=0.3)
    assert model.log_prob(x).mean() > other.log_prob(x).mean()


def test_categorical_estimate_matches_level_counts():
    levels = 4
    x = all_images((1, 2, 1), levels)  # every pair of levels once
    model = IndependentBernoulli(data_shape=(1, 2, 1), likelihood="categorical", num_levels=levels)
    model.estimate(x, pseudo_count=0.0)
    np.testing.assert_allclose(np.exp(model.log_prob(x)), np.full(len(x), 1 / 16), rtol=1e-5)
    assert_normalized(model, levels=levels)


def test_generate_mean_returns_pixel_probabilities():
    model = randomize(IndependentBernoulli(data_shape=(2, 2, 1)))
    means = model.generate(3, seed=0, mean=True)
    p = 1.0 / (1.0 + np.exp(-np.asarray(model.pixel_logits)))
    np.testing.assert_allclose(means.reshape(3, -1), np.broadcast_to(p, (3, 4)), rtol=1e-5)
    samples = model.generate(3, seed=0)
    assert set(np.unique(samples)) <= {0.0, 1.0}


def test_data_options_binarize_for_bernoulli_only():
    assert IndependentBernoulli().data_options("train") == {"binarize": "dynamic"}
    assert IndependentBernoulli().data_options("validation") == {"binarize": "static"}
    assert IndependentBernoulli(likelihood="categorical").data_options("train") == {}


@pytest.mark.parametrize("kwargs, message", [
    (dict(likelihood="gaussian"), "likelihood"),
    (dict(num_levels=1), "num_levels"),
    (dict(data_shape=(0, 3, 1)), "data_shape"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IndependentBernoulli(**kwargs)


def test_estimate_rejects_bad_input():
    model = IndependentBernoulli(data_shape=(2, 2, 1))
    with pytest.raises(ValueError, match="pseudo_count"):
        model.estimate(np.zeros((3, 2, 2, 1)), pseudo_count=-1)
    with pytest.raises(ValueError, match=r"\(N, 2, 2, 1\)"):
        model.estimate(np.zeros((3, 2, 2)))
