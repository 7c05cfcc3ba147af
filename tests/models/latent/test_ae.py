"""Autoencoder: the shared harness plus its code densities."""

import numpy as np
import pytest

from kzoo.core import presets
from kzoo.models.latent import Autoencoder
from test_case import GenerativeModelTestCase, compile_model
from models.latent.test_vae import binary_images


class TestAutoencoder(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(latent_dim=4, filters=(8, 16), hidden_units=32, code_components=3)
        config.update(overrides)
        return Autoencoder(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed)


def small(**kwargs):
    model = Autoencoder(latent_dim=3, filters=(8, 16), hidden_units=32, code_components=2, **kwargs)
    model.build_for_data()
    return model


def test_fitted_code_densities_match_the_codes_and_survive_a_preset(tmp_path):
    model = small()
    x = binary_images(200, seed=1)
    with pytest.raises(ValueError, match="fit_code_density"):
        model.generate(2, code_sampler="gmm")
    fit = model.fit_code_density(x)
    assert fit["gmm"] >= fit["gaussian"] - 1e-3  # a 2-component mixture fits at least as well as one Gaussian
    codes = model.encode(x)
    for sampler in ("gaussian", "gmm"):
        draws = np.asarray(model.code_density(sampler).sample(4000, seed=np.array([1, 2], np.int32)))
        np.testing.assert_allclose(draws.mean(0), codes.mean(0), atol=0.1 * codes.std(0).max() + 1e-3)
        np.testing.assert_allclose(draws.std(0), codes.std(0), rtol=0.1)
    samples = model.generate(5, seed=0, code_sampler="gmm")
    assert samples.shape == (5, 28, 28, 1) and 0 <= samples.min() and samples.max() <= 1
    loaded = presets.load_preset(presets.save_preset(model, tmp_path / "ae", card={"dataset": "unit-test"}))
    np.testing.assert_array_equal(loaded.generate(5, seed=0, code_sampler="gmm"), samples)


def test_prior_codes_lie_outside_the_code_distribution_after_training():
    """The measured form of "an autoencoder is not a sampler": N(0, I) codes are unlikely under the codes' density."""
    from kzoo import data as kdata

    x = kdata.load_numpy("digits", split="train", binarize="static")[:512]
    model = Autoencoder(data_shape=(8, 8, 1), latent_dim=4, filters=(16,), hidden_units=64, code_components=4)
    compile_model(model)
    model.fit(x, batch_size=32, epochs=15, verbose=0, shuffle=False)
    model.fit_code_density(x)
    codes = model.encode(x)
    prior_draws = np.random.default_rng(0).standard_normal((512, 4)).astype(np.float32)
    density = model.code_density("gmm")
    assert float(np.mean(density.log_prob(codes))) > float(np.mean(density.log_prob(prior_draws))) + 1.0


def test_squared_l2_loss_is_the_summed_squared_pixel_error():
    import tensorflow as tf

    model = small(reconstruction="squared_l2")
    x = np.random.default_rng(2).random((4, 28, 28, 1)).astype(np.float32)
    expected = np.mean(np.sum((np.asarray(model(x)) - x) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(float(model.compute_losses(tf.constant(x))["loss"]), expected, rtol=1e-5)
    assert model.data_options("train") == {}


def test_bad_config_and_sampler_are_rejected():
    with pytest.raises(ValueError, match="reconstruction"):
        Autoencoder(reconstruction="l1")
    with pytest.raises(ValueError, match="code_components"):
        Autoencoder(code_components=0)
    with pytest.raises(ValueError, match="divisible"):
        Autoencoder(data_shape=(30, 30, 1))
    model = small()
    with pytest.raises(ValueError, match="code_sampler"):
        model.generate(2, code_sampler="flow")
    with pytest.raises(ValueError, match="more than"):
        model.fit_code_density(binary_images(2))
    with pytest.raises(ValueError, match="unconditional"):
        model.generate(2, labels=[0, 1])
