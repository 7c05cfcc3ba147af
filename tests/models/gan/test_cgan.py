"""Conditional GAN: the shared harness (with labels) plus conditioning checks."""

import numpy as np
import pytest

from kzoo.models.gan import ConditionalGAN
from test_case import GenerativeModelTestCase, compile_model


class TestConditionalGAN(GenerativeModelTestCase):
    call_kwargs = {"labels": np.arange(8) % 3}

    def make_model(self, **overrides):
        config = dict(num_classes=3, latent_dim=4, hidden_units=(16, 16), ema_decay=0.9)
        config.update(overrides)
        return ConditionalGAN(**config)

    def make_batch(self, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.random((self.batch_size, 28, 28, 1)).astype(np.float32)
        return x, (np.arange(self.batch_size) % 3).astype(np.int32)


def small(**kwargs):
    model = ConditionalGAN(num_classes=3, latent_dim=4, hidden_units=(16,), **kwargs)
    model.build_for_data()
    return model


def test_labels_change_samples_and_default_labels_cycle():
    model = small()
    z = np.repeat(model.sample_latents(1, seed=0), 3, axis=0)
    images = model.decode(z, labels=[0, 1, 2])
    assert not np.allclose(images[0], images[1]) and not np.allclose(images[1], images[2])
    np.testing.assert_array_equal(model.decode(z), images)  # None cycles 0, 1, 2
    np.testing.assert_array_equal(model.generate(6, seed=1), model.generate(6, seed=1, labels=[0, 1, 2, 0, 1, 2]))


def test_projection_discriminator_depends_on_the_label():
    model = small()
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    a, b = model.discriminate(x, labels=[0, 0]), model.discriminate(x, labels=[1, 1])
    assert not np.allclose(a, b)


def test_missing_or_bad_labels_are_rejected():
    model = compile_model(small())
    x = np.zeros((4, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="class-conditional"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        model.generate(2, labels=[0, 3])
    with pytest.raises(ValueError, match="num_classes must be a positive integer, got None"):
        ConditionalGAN(num_classes=None)
