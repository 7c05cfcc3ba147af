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


def test_two_time_scale_rates_and_their_refusals():
    from kzoo.models.latent import VAE
    from kzoo.training import compile_for_training

    model = MLPTestGAN()
    compile_for_training(model, 1e-4, decay_steps=10, d_learning_rate=4e-4)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="needs learning_rate"):
        compile_for_training(MLPTestGAN(), None, d_learning_rate=4e-4)
    with pytest.raises(ValueError, match="VAE has one optimizer"):
        compile_for_training(VAE(data_shape=(8, 8, 1), filters=[8], hidden_units=8, latent_dim=2), 1e-3,
                             d_learning_rate=4e-4)
    with pytest.raises(ValueError, match="d_learning_rate must be a positive number"):
        compile_for_training(MLPTestGAN(), 1e-4, d_learning_rate=0.0)


def test_hinge_losses_and_the_logistic_ones():
    from kzoo.models.gan import DCGAN

    real, fake = tf.constant([2.0, 0.5, -1.0]), tf.constant([-2.0, 0.0, 1.0])
    hinge = DCGAN(latent_dim=4, filters=(8, 4), adversarial_loss="hinge")
    # relu(1 - real) = [0, 0.5, 2], relu(1 + fake) = [0, 1, 2]
    assert float(hinge.d_loss_terms(real, fake)) == pytest.approx(2.5 / 3 + 3.0 / 3)
    assert float(hinge.g_loss_terms(fake)) == pytest.approx(1.0 / 3)
    logistic = DCGAN(latent_dim=4, filters=(8, 4))
    expected = np.mean(np.log1p(np.exp(-real.numpy()))) + np.mean(np.log1p(np.exp(fake.numpy())))
    assert float(logistic.d_loss_terms(real, fake)) == pytest.approx(expected, rel=1e-6)


def test_gradient_penalties_of_a_linear_critic():
    from kzoo.models.gan import DCGAN
    from kzoo.models.gan.base import interpolation_gradient_penalty, zero_centred_gradient_penalty

    weights = tf.constant([[3.0, 4.0]])  # ||grad|| = 5 everywhere
    critic = lambda v: tf.reduce_sum(v * weights, axis=1)  # noqa: E731
    x = tf.random.stateless_normal((6, 2), (0, 1))
    assert float(zero_centred_gradient_penalty(critic, x)) == pytest.approx(25.0)
    assert float(interpolation_gradient_penalty(critic, x, x + 1.0, tf.fill((6,), 0.5))) == pytest.approx(16.0)
    # R1 of an image model is taken in network space (2x - 1): a data-space gradient of 5 is 2.5 there.
    model = DCGAN(latent_dim=4, filters=(8, 4), r1_gamma=2.0)
    assert float(model.r1_penalty(x, critic)) == pytest.approx(0.5 * 2.0 * 2.5 ** 2)
    assert float(DCGAN(latent_dim=4, filters=(8, 4)).r1_penalty(x, critic)) == 0.0
    from kzoo.models.gan import WGANGP
    with pytest.raises(ValueError, match="r1_gamma must be 0"):
        WGANGP(r1_gamma=1.0)
