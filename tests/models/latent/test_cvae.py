"""Conditional VAE: the shared harness (with labels) plus conditioning checks."""

import numpy as np
import pytest

from kzoo.models.latent import ConditionalVAE
from test_case import GenerativeModelTestCase, compile_model
from models.latent.test_vae import binary_images


class TestConditionalVAE(GenerativeModelTestCase):
    call_kwargs = {"labels": np.arange(8) % 3}

    def make_model(self, **overrides):
        config = dict(num_classes=3, latent_dim=4, filters=(8, 16), hidden_units=32)
        config.update(overrides)
        return ConditionalVAE(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed), (np.arange(self.batch_size) % 3).astype(np.int32)


def small():
    model = ConditionalVAE(num_classes=3, latent_dim=4, filters=(8, 16), hidden_units=32)
    model.build_for_data()
    return model


def test_labels_change_decoding_and_the_bound():
    model = small()
    z = np.zeros((3, 4), np.float32)
    images = model.decode(z, labels=[0, 1, 2])
    assert not np.allclose(images[0], images[1]) and not np.allclose(images[1], images[2])
    np.testing.assert_array_equal(model.decode(z), images)  # None cycles 0, 1, 2
    x = binary_images(4)
    a = model.log_prob(x, labels=[0, 0, 0, 0], k=5, seed=0)
    b = model.log_prob(x, labels=[1, 1, 1, 1], k=5, seed=0)
    assert a.shape == (4,) and not np.allclose(a, b)
    codes = model.encode(x, labels=[0, 1, 2, 0])
    assert codes.shape == (4, 4)
    path = model.interpolate(x[0], x[1], steps=4, label=2)
    assert path.shape == (4, 28, 28, 1)


def test_generate_follows_requested_labels():
    model = small()
    np.testing.assert_array_equal(model.generate(6, seed=1), model.generate(6, seed=1, labels=[0, 1, 2, 0, 1, 2]))
    assert not np.array_equal(model.generate(3, seed=1, labels=[0, 0, 0]), model.generate(3, seed=1, labels=[1, 1, 1]))


def test_missing_or_bad_labels_are_rejected():
    model = compile_model(small())
    x = binary_images(4)
    with pytest.raises(ValueError, match="class-conditional"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="class-conditional"):
        model.log_prob(x)
    with pytest.raises(ValueError, match="class-conditional"):
        model.encode(x)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        model.generate(2, labels=[0, 3])
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        ConditionalVAE(num_classes=0)
