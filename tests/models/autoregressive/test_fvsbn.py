"""FVSBN: the shared harness plus exact checks of the triangular model."""

import numpy as np

from kzoo.models.autoregressive import FVSBN
from test_case import GenerativeModelTestCase
from vector_ar_checks import binary_images, dependence, randomize, total_variation


class TestFVSBN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        return FVSBN(**overrides)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed=seed)


def test_parameter_count_is_half_a_square():
    model = FVSBN()
    assert model.free_parameter_count() == 784 * 783 // 2 + 784 == 307_720
    mask = np.asarray(model.conditionals.connectivity(0))
    np.testing.assert_array_equal(mask, np.triu(np.ones((784, 784), np.float32), k=1))


def test_each_pixel_depends_on_every_earlier_pixel_and_no_later_one():
    model = randomize(FVSBN(data_shape=(2, 3, 1)))
    dep = dependence(model, binary_images(4, shape=(2, 3, 1), seed=1, p=0.5))
    np.testing.assert_array_equal(dep, np.triu(np.ones((6, 6), bool), k=1))


def test_log_prob_matches_the_logistic_regressions():
    model = randomize(FVSBN(data_shape=(2, 2, 2)))
    x = binary_images(5, shape=(2, 2, 2), seed=3, p=0.5)
    kernel = np.asarray(model.conditionals.kernel, np.float64)
    bias = np.asarray(model.conditionals.bias, np.float64)
    flat = x.reshape(5, -1).astype(np.float64)
    expected = np.zeros(5)
    for i in range(8):
        logit = bias[i] + flat[:, :i] @ kernel[:i, i]
        expected += flat[:, i] * logit - np.logaddexp(0.0, logit)
    np.testing.assert_allclose(model.log_prob(x), expected, rtol=1e-5)


def test_density_is_normalized_and_samples_follow_it():
    model = randomize(FVSBN(data_shape=(1, 5, 1)))
    assert total_variation(model, n=30_000, seed=2) < 0.035


def test_sampler_is_traced_once_per_batch_size():
    model = FVSBN(data_shape=(4, 4, 1))
    model.generate(6, seed=0, batch_size=3)
    model.generate(6, seed=1, batch_size=3)
    assert model._compiled_sampler.experimental_get_tracing_count() == 1
