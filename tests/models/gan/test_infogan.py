"""InfoGAN: the shared harness plus the code/Q-head checks."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.gan import InfoGAN
from test_case import GenerativeModelTestCase, compile_model


class TestInfoGAN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(noise_dim=4, num_categories=3, num_continuous=2, filters=(8, 4))
        config.update(overrides)
        return InfoGAN(**config)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).random((self.batch_size, 28, 28, 1)).astype(np.float32)


def small():
    model = InfoGAN(noise_dim=4, num_categories=3, num_continuous=2, filters=(8, 4))
    model.build_for_data()
    return model


def test_latent_layout_and_prior():
    model = small()
    assert model.latent_dim == 4 + 3 + 2
    z = model.sample_latents(600, seed=0)
    category = z[:, 4:7]
    assert set(np.unique(category)) == {0.0, 1.0} and np.all(category.sum(axis=1) == 1)
    counts = category.sum(axis=0)
    assert counts.min() > 150  # roughly uniform over 3 categories
    assert np.all(np.abs(z[:, 7:]) <= 1.0)
    chosen = model.make_latents([2, 0], continuous=[0.5, -0.5], seed=1)
    np.testing.assert_array_equal(chosen[:, 4:7], [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(chosen[:, 7:], [[0.5, -0.5], [0.5, -0.5]])
    images = model.generate(4, seed=0, category=1)
    assert images.shape == (4, 28, 28, 1)
    with pytest.raises(ValueError, match=r"category must lie in \[0, 2\]"):
        model.make_latents([3])


def test_info_loss_is_the_code_likelihood():
    model = small()
    latents = tf.constant(model.make_latents([0, 2], continuous=[0.2, -0.4], seed=0))
    q = tf.constant([[5.0, 0.0, 0.0, 0.2, -0.4], [0.0, 0.0, 0.0, 0.0, 0.0]])
    ce = np.mean([-np.log(np.exp(5) / (np.exp(5) + 2)), np.log(3.0)])
    cont = 0.5 * np.mean([0.0, 0.2**2 + 0.4**2]) * model.continuous_weight
    np.testing.assert_allclose(model.info_loss(latents, q), ce + cont, rtol=1e-5)


def test_q_head_shares_the_discriminator_body_and_learns_codes():
    model = compile_model(small())
    assert any("q_head" in v.path for v in model.discriminator.trainable_variables)
    history = model.fit(np.random.default_rng(0).random((32, 28, 28, 1)).astype(np.float32), batch_size=16,
                        epochs=3, verbose=0).history
    assert "info_loss" in history and history["info_loss"][-1] < history["info_loss"][0]
    categories = model.predict_category(np.random.default_rng(1).random((5, 28, 28, 1)))
    assert categories.shape == (5,) and categories.max() < 3
    accuracy, mapping = model.category_accuracy(np.zeros((4, 28, 28, 1)), np.array([0, 1, 2, 0]))
    assert 0.0 <= accuracy <= 1.0 and len(mapping) == 3
