"""The diffusion base through the shared harness, with a small conv denoiser."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core import register
from kzoo.layers.unet_blocks import sinusoidal_embedding
from kzoo.models.diffusion.base import DiffusionModel
from kzoo.models.diffusion.schedulers import make_betas
from test_case import GenerativeModelTestCase


@register("conv_test_diffusion", family="diffusion")
class ConvTestDiffusion(DiffusionModel):
    """Two conv layers with an added time embedding, for testing the base."""

    def __init__(self, data_shape=(4, 4, 1), num_train_timesteps=8, units=8, beta_end=0.5, **kwargs):
        super().__init__(data_shape=data_shape, num_train_timesteps=num_train_timesteps, beta_end=beta_end, **kwargs)
        self.units = units
        self.time_dense = keras.layers.Dense(units)
        self.conv_in = keras.layers.Conv2D(units, 3, padding="same", activation="swish")
        self.conv_out = keras.layers.Conv2D(self.data_shape[-1], 3, padding="same")

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config

    def denoise(self, x_t, t, y=None, training=False):
        h = self.conv_in(x_t) + self.time_dense(sinusoidal_embedding(t, 16))[:, None, None, :]
        return self.conv_out(h)

    def call(self, x, training=False):
        return self.denoise(2.0 * x - 1.0, tf.zeros(tf.shape(x)[:1], tf.int32), training=training)


class TestDiffusionBase(GenerativeModelTestCase):
    def make_model(self, **overrides):
        return ConvTestDiffusion(**overrides)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).random((self.batch_size, 4, 4, 1)).astype(np.float32)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedule_ends_near_pure_noise(schedule):
    betas = make_betas(1000, schedule)
    abar = np.cumprod(1 - betas)
    assert np.all(np.diff(abar) < 0)
    assert abar[-1] < 1e-4 and abar[0] > 0.99


def test_add_noise_matches_closed_form():
    model = ConvTestDiffusion(num_train_timesteps=10, beta_end=0.2)
    x0 = tf.ones((2, 4, 4, 1))
    noise = tf.zeros((2, 4, 4, 1))
    t = tf.constant([0, 9])
    out = model.add_noise(x0, noise, t).numpy()
    abar = np.cumprod(1 - make_betas(10, beta_end=0.2))
    np.testing.assert_allclose(out[:, 0, 0, 0], np.sqrt(abar[[0, 9]]), rtol=1e-6)


def test_bad_schedule_is_rejected():
    with pytest.raises(ValueError, match="beta_schedule"):
        ConvTestDiffusion(beta_schedule="quadratic")
    with pytest.raises(ValueError, match="betas must lie in"):
        ConvTestDiffusion(num_train_timesteps=10, beta_end=1.5)
