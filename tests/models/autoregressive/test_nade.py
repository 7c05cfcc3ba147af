"""NADE: the shared harness plus checks of the shared-weight recursion."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.autoregressive import NADE
from test_case import GenerativeModelTestCase
from vector_ar_checks import binary_images, dependence, randomize, total_variation


class TestNADE(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(hidden_units=16)
        config.update(overrides)
        return NADE(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed=seed)


def reference_log_prob(model, x):
    """The paper's recursion, one pixel at a time, in float64."""
    w = np.asarray(model.input_kernel, np.float64)
    c = np.asarray(model.hidden_bias, np.float64)
    v = np.asarray(model.output_kernel, np.float64)
    b = np.asarray(model.output_bias, np.float64)
    flat = x.reshape(len(x), -1).astype(np.float64)
    a = np.tile(c, (len(x), 1))
    total = np.zeros(len(x))
    for i in range(flat.shape[1]):
        h = 1.0 / (1.0 + np.exp(-a))
        logit = h @ v[i] + b[i]
        total += flat[:, i] * logit - np.logaddexp(0.0, logit)
        a = a + flat[:, i : i + 1] * w[i]
    return total


@pytest.mark.parametrize("shape", [(3, 4, 1), (1, 7, 1), (28, 28, 1)])  # 7 pixels: blocks need padding
def test_vectorized_log_prob_matches_the_recursion(shape):
    model = randomize(NADE(data_shape=shape, hidden_units=7), scale=1.0 if shape[1] < 28 else 0.1)
    x = binary_images(9, shape=shape, seed=5, p=0.5)
    np.testing.assert_allclose(model.log_prob(x), reference_log_prob(model, x), rtol=1e-5)
    flat = tf.constant(x.reshape(9, -1))
    reference = tf.cumsum(flat[:, :, None] * model.input_kernel, axis=1, exclusive=True) + model.hidden_bias
    np.testing.assert_allclose(model._pre_activations(flat), reference, rtol=1e-5, atol=1e-5)


def test_chunked_log_prob_equals_one_pass():
    model = randomize(NADE(data_shape=(4, 4, 1), hidden_units=5), scale=0.5)
    x = binary_images(10, shape=(4, 4, 1), seed=6)
    whole = model.log_prob_batch(tf.constant(x), chunk=100)
    np.testing.assert_allclose(model.log_prob_batch(tf.constant(x), chunk=3), whole, rtol=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_density_is_normalized_and_samples_follow_it(activation):
    model = randomize(NADE(data_shape=(2, 2, 1), hidden_units=6, activation=activation), scale=2.0)
    assert total_variation(model, n=20_000, seed=3) < 0.03


def test_each_conditional_sees_only_earlier_pixels():
    model = randomize(NADE(data_shape=(2, 3, 1), hidden_units=5))
    dep = dependence(model, binary_images(4, shape=(2, 3, 1), seed=1, p=0.5))
    np.testing.assert_array_equal(dep, np.triu(np.ones((6, 6), bool), k=1))


def test_parameter_count():
    model = NADE(hidden_units=500)
    model.build_for_data()
    assert model.free_parameter_count() == model.count_params() == 2 * 784 * 500 + 784 + 500


@pytest.mark.parametrize("kwargs, message", [
    (dict(hidden_units=0), "hidden_units"),
    (dict(activation="softmax"), "activation"),
    (dict(likelihood="categorical"), "likelihood"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NADE(**kwargs)
