"""DCGAN: the shared harness plus architecture checks."""

import numpy as np
import pytest

from kzoo.models.gan import DCGAN
from test_case import GenerativeModelTestCase


class TestDCGAN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(latent_dim=4, filters=(8, 4), ema_decay=0.9, augment="translation,cutout")
        config.update(overrides)
        return DCGAN(**config)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).random((self.batch_size, 28, 28, 1)).astype(np.float32)


def test_generator_follows_the_dcgan_shapes():
    model = DCGAN(latent_dim=8, filters=(64, 32))
    model.build_for_data()
    shapes = [tuple(layer.output.shape[1:]) for layer in model.generator.layers
              if layer.name.startswith(("reshape", "deconv_0_relu", "output"))]
    assert shapes == [(7, 7, 64), (14, 14, 32), (28, 28, 1)]
    kinds = {type(layer).__name__ for layer in model.discriminator.layers}
    assert "MaxPooling2D" not in kinds and "BatchNormalization" in kinds
    assert model.discriminator.layers[1].name == "conv_0_act"  # no norm on D's input layer


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="divisible by 2\\*\\*len\\(filters\\) = 8"):
        DCGAN(filters=(8, 8, 8))
    with pytest.raises(ValueError, match="image data_shape"):
        DCGAN(data_shape=(2,))


class TestStabilizedDCGAN(TestDCGAN):
    """Every stabilizer on at once: spectral norm without batch norm in D, hinge loss, R1, minibatch std."""

    def make_model(self, **overrides):
        config = dict(latent_dim=4, filters=(8, 4), ema_decay=0.9, augment="translation", adversarial_loss="hinge",
                      d_norm="none", spectral_norm=True, minibatch_std=2, r1_gamma=1.0)
        config.update(overrides)
        return DCGAN(**config)


def test_stabilizer_options_build_the_discriminator_they_name():
    from kzoo.layers import MinibatchStdDev, SpectralConv2D, SpectralDense

    model = DCGAN(latent_dim=4, filters=(8, 4), d_norm="none", spectral_norm=True, minibatch_std=4)
    model.build_for_data()
    kinds = [type(layer) for layer in model.discriminator.layers]
    assert kinds.count(SpectralConv2D) == 2 and kinds[-1] is SpectralDense and MinibatchStdDev in kinds
    assert not any("Normalization" in kind.__name__ for kind in kinds)
    plain = DCGAN(latent_dim=4, filters=(8, 4), d_norm="layer")
    assert any(type(layer).__name__ == "LayerNormalization" for layer in plain.discriminator.layers)
    for bad, message in [(dict(d_norm="group"), "d_norm"), (dict(spectral_norm="yes"), "spectral_norm"),
                         (dict(minibatch_std=1), "minibatch_std"), (dict(r1_gamma=-1), "r1_gamma"),
                         (dict(adversarial_loss="wasserstein"), "adversarial_loss")]:
        with pytest.raises(ValueError, match=message):
            DCGAN(latent_dim=4, filters=(8, 4), **bad)
