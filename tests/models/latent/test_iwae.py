"""IWAE: the shared harness plus the bound it trains on."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.latent import IWAE, VAE
from test_case import GenerativeModelTestCase
from models.latent.test_vae import binary_images


class TestIWAE(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(latent_dim=4, filters=(8, 16), hidden_units=32, num_samples=3)
        config.update(overrides)
        return IWAE(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed)


def test_one_sample_iwae_loss_equals_the_vae_loss():
    x = tf.constant(binary_images(8, seed=2))
    vae = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    iwae = IWAE(latent_dim=4, filters=(8, 16), hidden_units=32, num_samples=1)
    vae.build_for_data()
    iwae.build_for_data()
    iwae.set_weights(vae.get_weights())
    a, b = vae.compute_losses(x), iwae.compute_losses(x)
    for name in ("reconstruction", "kl"):
        np.testing.assert_allclose(float(a[name]), float(b[name]), rtol=1e-5)
    # The VAE uses the analytic KL, the 1-sample bound a Monte-Carlo one: same expectation, not the same value.
    assert abs(float(a["loss"]) - float(b["loss"])) < 0.2 * abs(float(a["loss"]))


def test_training_loss_is_the_bound_log_prob_reports():
    model = IWAE(latent_dim=4, filters=(8, 16), hidden_units=32, num_samples=50)
    model.build_for_data()
    x = binary_images(16, seed=3)
    loss = float(model.compute_losses(tf.constant(x))["loss"])
    reported = -model.log_prob(x, k=50, seed=1).mean()
    assert abs(loss - reported) < 0.05 * abs(reported), (loss, reported)


def test_iwae_trains_farther_on_its_bound_than_the_vae():
    """Same networks, same steps: the k=8 objective reaches a tighter k=8 bound on the training images."""
    from kzoo import data as kdata

    x = kdata.load_numpy("digits", split="train", binarize="static")[:256]
    results = {}
    for name, model in {"vae": VAE(data_shape=x.shape[1:], latent_dim=4, filters=(16,), hidden_units=64),
                        "iwae": IWAE(data_shape=x.shape[1:], latent_dim=4, filters=(16,), hidden_units=64,
                                     num_samples=8)}.items():
        tf.keras.utils.set_random_seed(0)
        model.compile()
        model.fit(x, batch_size=32, epochs=30, verbose=0, shuffle=False)
        results[name] = model.log_prob(x, k=8, seed=0).mean()
    assert results["iwae"] > results["vae"], results


@pytest.mark.parametrize("value", [0, -2, 1.5])
def test_bad_num_samples_is_rejected(value):
    with pytest.raises(ValueError, match="num_samples"):
        IWAE(num_samples=value)
