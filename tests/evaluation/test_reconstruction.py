"""Reconstruction error of encoder models and the error of a model's own classifier, in kzoo eval's row."""

import numpy as np
import pytest

from kzoo.evaluation.reconstruction import reconstruction_error
from kzoo.models.latent import Autoencoder, ConditionalVAE


def binary(n, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) < 0.3).astype(np.float32)


class PerfectCopy(Autoencoder):
    """Decodes to exactly the image it encoded (codes are the flattened image)."""

    def encode(self, x, labels=None, batch_size=256):
        return x.reshape(len(x), -1)

    def decode(self, z, labels=None, batch_size=256):
        return z.reshape((len(z),) + self.data_shape)


def test_matches_a_hand_computed_value():
    model = Autoencoder(latent_dim=4, filters=(8, 16), hidden_units=32)
    model.build_for_data()
    x = binary(6)
    recon = np.clip(model.decode(model.encode(x)).astype(np.float64), 1e-6, 1 - 1e-6)
    expected = -np.sum(x * np.log(recon) + (1 - x) * np.log(1 - recon), axis=(1, 2, 3)).mean()
    result = reconstruction_error(model, x, batch_size=4)
    np.testing.assert_allclose(result["reconstruction_bce_nats"], expected, rtol=1e-6)
    np.testing.assert_allclose(result["reconstruction_mse"], np.mean((recon - x) ** 2), rtol=1e-6)
    assert result["reconstruction_n_examples"] == 6


def test_a_perfect_copy_scores_the_clipping_floor_only():
    model = PerfectCopy(latent_dim=784, filters=(8, 16), hidden_units=8)
    result = reconstruction_error(model, binary(4))
    assert result["reconstruction_mse"] < 1e-10
    assert result["reconstruction_bce_nats"] < 784 * 2e-6


def test_conditional_models_need_labels_and_others_are_rejected():
    model = ConditionalVAE(num_classes=3, latent_dim=4, filters=(8, 16), hidden_units=32)
    model.build_for_data()
    assert reconstruction_error(model, binary(3), labels=[0, 1, 2])["reconstruction_bce_nats"] > 0
    with pytest.raises(ValueError, match="class-conditional"):
        reconstruction_error(model, binary(3))
    with pytest.raises(ValueError, match="no encoder"):
        reconstruction_error(object(), binary(3))


def test_measure_reports_reconstruction_for_encoder_models():
    from kzoo.evaluation.compare import measure

    model = Autoencoder(data_shape=(8, 8, 1), latent_dim=4, filters=(8,), hidden_units=16)
    model.build_for_data()
    row = measure(model, "digits", n_samples=8, nll_limit=20, verbose=False)
    assert row["reconstruction_n_examples"] == 20 and row["reconstruction_bce_nats"] > 0
    assert row["nll_nats"] is None  # an autoencoder has no likelihood


def test_measure_reports_the_error_of_a_semi_supervised_classifier():
    from kzoo.evaluation.compare import measure
    from kzoo.models.latent import AdversarialAutoencoder

    model = AdversarialAutoencoder(data_shape=(8, 8, 1), num_classes=10, semi_supervised=True, latent_dim=2,
                                   filters=(8,), hidden_units=16, discriminator_units=(8,))
    model.build_for_data()
    row = measure(model, "digits", n_samples=8, nll_limit=30, verbose=False)
    assert row["classification_n_examples"] == 30 and 0.0 <= row["classification_error"] <= 1.0
    plain = AdversarialAutoencoder(data_shape=(8, 8, 1), latent_dim=2, filters=(8,), hidden_units=16,
                                   discriminator_units=(8,))
    plain.build_for_data()
    assert "classification_error" not in measure(plain, "digits", n_samples=8, nll_limit=30, verbose=False)
