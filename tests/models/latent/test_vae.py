"""VAE: the shared harness plus the model's own checks."""

import numpy as np
import pytest

from kzoo.models.latent import VAE
from test_case import GenerativeModelTestCase


def binary_images(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) < 0.3).astype(np.float32)


class TestVAE(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(latent_dim=4, filters=(8, 16), hidden_units=32)
        config.update(overrides)
        return VAE(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed)


class TestGaussianVAE(TestVAE):
    def make_model(self, **overrides):
        return super().make_model(likelihood="gaussian", **overrides)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).random((self.batch_size, 28, 28, 1)).astype(np.float32)


def test_iwae_bound_is_reproducible_and_tighter_than_elbo():
    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    x = binary_images(16, seed=1)
    model.build_for_data()
    a = model.log_prob(x, k=20, seed=5)
    np.testing.assert_array_equal(a, model.log_prob(x, k=20, seed=5))
    assert a.shape == (16,) and a.dtype == np.float32
    elbo = np.mean([model.log_prob(x, k=1, seed=s).mean() for s in range(20)])
    assert a.mean() >= elbo - 1e-3, (a.mean(), elbo)


def test_encode_decode_interpolate_shapes():
    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    x = binary_images(3)
    z = model.encode(x)
    assert z.shape == (3, 4)
    images = model.decode(z)
    assert images.shape == (3, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    path = model.interpolate(x[0], x[1], steps=5)
    assert path.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(path[0], images[0], atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(latent_dim=0), "latent_dim"),
    (dict(likelihood="poisson"), "likelihood"),
    (dict(data_shape=(30, 30, 1)), "divisible"),
    (dict(beta=-1), "beta"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VAE(**kwargs)


def test_log_prob_rejects_wrong_shape_and_nan():
    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        model.log_prob(np.zeros((2, 8, 8, 1)))
    x = binary_images(2)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(x)


def test_kl_warmup_ramps_with_the_optimizer_step_and_survives_save_load(tmp_path):
    import keras
    import tensorflow as tf

    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32, beta=4.0, kl_warmup_steps=10)
    model.build_for_data()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    assert float(model.kl_weight()) == 0.0
    x4 = tf.constant(binary_images(4))
    train_losses, test_losses = model.compute_losses(x4, training=True), model.compute_losses(x4, training=False)
    np.testing.assert_allclose(float(train_losses["loss"]), float(train_losses["reconstruction"]), rtol=1e-6)
    np.testing.assert_allclose(float(test_losses["loss"]),  # validation: the objective at the full beta
                               float(test_losses["reconstruction"]) + 4.0 * float(test_losses["kl"]), rtol=1e-5)
    x = binary_images(12)
    model.fit(x, batch_size=4, epochs=1, verbose=0, shuffle=False)  # 3 steps
    np.testing.assert_allclose(float(model.kl_weight()), 4.0 * 3 / 10)
    path = tmp_path / "vae.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(float(restored.kl_weight()), 4.0 * 3 / 10)
    restored.fit(x, batch_size=4, epochs=3, verbose=0, shuffle=False)  # 12 steps in all
    assert float(restored.kl_weight()) == 4.0
    assert VAE(beta=0.5).kl_weight() == 0.5  # no warm-up: beta from the first step
    with pytest.raises(ValueError, match="kl_warmup_steps"):
        VAE(kl_warmup_steps=-1)
