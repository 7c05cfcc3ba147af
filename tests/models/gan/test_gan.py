"""GAN (MLP): the shared harness on images and on 2-D points, plus its own checks."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core.ema import warmed_up_decay
from kzoo.metrics import clustering_accuracy
from kzoo.models.gan import GAN
from test_case import GenerativeModelTestCase, compile_model


def gray_images(n, seed=0, shape=(28, 28, 1)):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


class TestGAN(GenerativeModelTestCase):
    """Images with every option on: minimax loss, k=2, EMA and DiffAugment."""

    def make_model(self, **overrides):
        config = dict(latent_dim=4, hidden_units=(16, 16), adversarial_loss="minimax", d_steps=2, ema_decay=0.9,
                      augment="color,translation,cutout")
        config.update(overrides)
        return GAN(**config)

    def make_batch(self, seed=0):
        return gray_images(self.batch_size, seed)


class TestGAN2D(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(data_shape=(2,), latent_dim=3, hidden_units=(16, 16))
        config.update(overrides)
        return GAN(**config)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).normal(size=(self.batch_size, 2)).astype(np.float32)


def test_bad_config_is_rejected_with_the_value():
    with pytest.raises(ValueError, match="adversarial_loss must be one of.*'wasserstein'"):
        GAN(adversarial_loss="wasserstein")
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        GAN(latent_dim=0)
    with pytest.raises(ValueError, match="ema_decay"):
        GAN(ema_decay=1.5)
    with pytest.raises(ValueError, match="augment"):
        GAN(augment="rotate")
    with pytest.raises(ValueError, match="augment needs image data"):
        GAN(data_shape=(2,), augment="cutout")
    with pytest.raises(ValueError, match="hidden_units"):
        GAN(hidden_units=())


def test_2d_generator_output_is_linear_and_image_output_in_unit_range():
    points = GAN(data_shape=(2,), latent_dim=3, hidden_units=(8,))
    points.build_for_data()
    # Blow up the output layer: a linear output follows, a tanh would cap at 1.
    kernel = points.generator.get_layer("output").kernel
    kernel.assign(kernel * 1000.0)
    assert np.abs(points.generate(64, seed=0)).max() > 1.0
    images = GAN(latent_dim=3, hidden_units=(8,))
    images.build_for_data()
    x = images.generate(16, seed=0)
    assert x.shape == (16, 28, 28, 1) and x.min() >= 0.0 and x.max() <= 1.0


def test_latent_api_decode_matches_generate():
    model = GAN(latent_dim=5, hidden_units=(8,))
    model.build_for_data()
    z = model.sample_latents(7, seed=11, batch_size=3)
    assert z.shape == (7, 5) and z.dtype == np.float32
    np.testing.assert_allclose(model.decode(z), model.generate(7, seed=11, batch_size=3), atol=1e-6)
    np.testing.assert_array_equal(model.generate_from_latents(z[:2]), model.decode(z[:2]))
    with pytest.raises(ValueError, match=r"z has shape \(2, 4\)"):
        model.decode(np.zeros((2, 4)))


def test_generator_losses_match_their_formulas():
    """minimax: log(1 - D(G(z))); non-saturating: -log D(G(z))."""
    model = GAN(latent_dim=3, hidden_units=(8,))
    logits = tf.constant([-3.0, 0.0, 2.0])
    d = tf.sigmoid(logits).numpy()
    model.adversarial_loss = "minimax"
    np.testing.assert_allclose(model.g_loss_terms(logits), np.mean(np.log(1 - d)), rtol=1e-5)
    model.adversarial_loss = "non_saturating"
    np.testing.assert_allclose(model.g_loss_terms(logits), np.mean(-np.log(d)), rtol=1e-5)
    np.testing.assert_allclose(model.d_loss_terms(logits, -logits),
                               np.mean(-np.log(d)) + np.mean(-np.log(1 - (1 - d))), rtol=1e-5)


def test_minimax_gradient_vanishes_when_discriminator_wins():
    """The documented difference between the two losses, on the logit of D(G(z))."""
    logits = tf.Variable([-8.0])
    for loss, expected in (("minimax", 0.0), ("non_saturating", -1.0)):
        model = GAN(latent_dim=3, hidden_units=(8,), adversarial_loss=loss)
        with tf.GradientTape() as tape:
            value = model.g_loss_terms(logits)
        np.testing.assert_allclose(tape.gradient(value, logits).numpy(), [expected], atol=1e-3)


def test_fit_logs_diagnostics_and_grad_norms():
    model = compile_model(GAN(latent_dim=4, hidden_units=(16,)))
    history = model.fit(gray_images(16), batch_size=8, epochs=1, verbose=0).history
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"):
        assert name in history and np.isfinite(history[name][0]), name
    assert 0.0 < history["d_real"][0] < 1.0 and 0.0 < history["d_fake"][0] < 1.0
    assert history["d_grad_norm"][0] > 0 and history["g_grad_norm"][0] > 0
    # Validation reports losses but no gradient norms.
    history = model.fit(gray_images(16), batch_size=8, epochs=1, verbose=0,
                        validation_data=gray_images(8, seed=1)).history
    assert "val_d_loss" in history and "val_g_grad_norm" not in history


def test_grad_norm_is_the_norm_of_the_applied_sgd_update():
    model = GAN(data_shape=(2,), latent_dim=3, hidden_units=(8,))
    model.build_for_data()
    compile_model(model, lambda: keras.optimizers.SGD(1.0))
    before = [np.array(v) for v in model.generator.trainable_variables]
    logs = model.fit(np.ones((8, 2), np.float32), batch_size=8, epochs=1, verbose=0).history
    after = [np.array(v) for v in model.generator.trainable_variables]
    step = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before)))
    np.testing.assert_allclose(logs["g_grad_norm"][0], step, rtol=1e-4)


def test_ema_generator_tracks_the_generator_and_is_used_for_sampling():
    model = compile_model(GAN(latent_dim=4, hidden_units=(16,), ema_decay=0.999))
    model.build_for_data()
    for a, b in zip(model.ema_generator.weights, model.generator.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    start = [np.array(v) for v in model.generator.weights]
    model.fit(gray_images(8), batch_size=8, epochs=1, verbose=0)
    rate = 2.0 / 11.0  # warm-up min(0.999, (1 + t) / (10 + t)) after t = 1 update
    np.testing.assert_allclose(float(warmed_up_decay(model.ema_decay, model.step_counter())), 2.0 / 11.0)
    for avg, old, new in zip(model.ema_generator.weights, start, model.generator.weights):
        np.testing.assert_allclose(np.array(avg), rate * old + (1 - rate) * np.array(new), rtol=1e-5, atol=1e-6)
    assert not model.ema_generator.trainable_variables
    z = model.sample_latents(3, seed=0)
    averaged = model.decode(z)
    raw = np.asarray(model.generator_output(tf.constant(z)))
    assert not np.allclose(averaged, raw)


def test_clustering_accuracy_uses_the_best_permutation():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    clusters = np.array([2, 2, 0, 0, 1, 1, 0])
    accuracy, mapping = clustering_accuracy(labels, clusters)
    assert accuracy == pytest.approx(6 / 7)
    assert mapping[2] == 0 and mapping[0] == 1 and mapping[1] == 2
    with pytest.raises(ValueError, match="equal length"):
        clustering_accuracy([0, 1], [0])
