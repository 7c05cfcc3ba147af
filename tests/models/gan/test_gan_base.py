"""The adversarial base through the shared harness, on a small MLP GAN.

``MLPTestGAN`` exists to exercise :class:`kzoo.models.gan.base.AdversarialModel` (two
optimizers, compile-config round trip, loss scaling and replica scaling of
both updates); the GAN family's models are tested in tests/models/gan.
"""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core import register
from kzoo.models.gan.base import AdversarialModel
from kzoo.core.base import to_float32
from test_case import GenerativeModelTestCase, compile_model


@register("mlp_test_gan", family="gan")
class MLPTestGAN(AdversarialModel):
    """Non-saturating MLP GAN on flat vectors, for testing the base."""

    def __init__(self, data_shape=(2,), latent_dim=3, units=16, d_steps=1, **kwargs):
        super().__init__(data_shape=data_shape, d_steps=d_steps, **kwargs)
        self.latent_dim = latent_dim
        self.units = units
        self.generator = keras.Sequential(
            [keras.layers.Dense(units, activation="relu"), keras.layers.Dense(int(np.prod(self.data_shape)))],
            name="generator")
        self.discriminator = keras.Sequential(
            [keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)], name="discriminator")

    def get_config(self):
        config = super().get_config()
        config.update({"latent_dim": self.latent_dim, "units": self.units})
        return config

    def build_for_data(self):
        if not self.built:
            self.generator(tf.zeros((1, self.latent_dim)))
            self(tf.zeros((1,) + self.data_shape))

    def call(self, x, training=False):
        return self.discriminator(x, training=training)

    def _fake(self, batch, salt):
        return self.generator(self.step_noise(batch, (self.latent_dim,), salt=salt), training=True)

    def discriminator_losses(self, x, y, step):
        fake = self._fake(tf.shape(x)[0], salt=1 + step)
        real_logits = to_float32(self.discriminator(x, training=True))
        fake_logits = to_float32(self.discriminator(fake, training=True))
        loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        return {"d_loss": loss}

    def generator_losses(self, x, y):
        fake_logits = to_float32(self.discriminator(self._fake(tf.shape(x)[0], salt=0), training=True))
        return {"g_loss": tf.reduce_mean(tf.nn.softplus(-fake_logits))}

    def sample_batch(self, n, seed):
        return self.generator(tf.random.stateless_normal([n, self.latent_dim], seed))


class TestAdversarialBase(GenerativeModelTestCase):
    def make_model(self, **overrides):
        return MLPTestGAN(**overrides)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).normal(size=(self.batch_size, 2)).astype(np.float32)


class TestAdversarialBaseTwoDiscriminatorSteps(TestAdversarialBase):
    def make_model(self, **overrides):
        return MLPTestGAN(d_steps=2, **overrides)


def test_two_discriminator_steps_take_two_d_updates_per_g_update():
    model = compile_model(MLPTestGAN(d_steps=2))
    model.build_for_data()
    model.fit(np.zeros((16, 2), np.float32), batch_size=8, epochs=1, verbose=0)
    assert int(model.d_optimizer.iterations) == 4
    assert int(model.g_optimizer.iterations) == 2


def test_single_optimizer_is_refused():
    with pytest.raises(ValueError, match="d_optimizer= and g_optimizer="):
        MLPTestGAN().compile(optimizer="adam")


def test_noise_changes_between_steps():
    model = compile_model(MLPTestGAN())
    model.build_for_data()
    first = np.asarray(model.step_noise(4, (3,)))
    model.fit(np.zeros((8, 2), np.float32), batch_size=8, epochs=1, verbose=0)
    second = np.asarray(model.step_noise(4, (3,)))
    assert not np.array_equal(first, second)


def test_compile_for_training_gives_both_optimizers_the_rate():
    from kzoo.training import compile_for_training

    model = MLPTestGAN()
    compile_for_training(model, 3e-4)
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(3e-4)
        assert float(optimizer.beta_1) == pytest.approx(0.5)
    default = MLPTestGAN()
    compile_for_training(default, None)
    assert float(default.g_optimizer.learning_rate) == pytest.approx(2e-4)
    with pytest.raises(ValueError, match="learning_rate"):
        compile_for_training(MLPTestGAN(), -1.0)
