"""WAE-MMD and WAE-GAN: the shared harness, the IMQ MMD against a numpy reference, and short training runs."""

import itertools

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core.base import seed_pair
from kzoo.core.distribute import make_strategy
from kzoo.data import load_numpy
from kzoo.models.latent import WassersteinAutoencoder, WassersteinAutoencoderGAN, imq_bandwidths, imq_mmd
from test_case import GenerativeModelTestCase, compile_model

SMALL = dict(latent_dim=4, filters=(8, 16), hidden_units=32)


def binary_images(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) < 0.3).astype(np.float32)


def reference_mmd(x, y, bandwidths):
    """The unbiased IMQ MMD^2, pair by pair in float64 (independent of the vectorized one)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)

    def k(a, b):
        d = float(np.sum((a - b) ** 2))
        return sum(c / (c + d) for c in bandwidths)

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


# ------------------------------------------------------------------ harness
class TestWAE(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(SMALL)
        config.update(overrides)
        return WassersteinAutoencoder(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed)


class TestWAEGAN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(SMALL, discriminator_units=(16, 16), d_steps=2)
        config.update(overrides)
        return WassersteinAutoencoderGAN(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed)


# --------------------------------------------------------------------- MMD
def test_imq_bandwidths_are_the_papers():
    np.testing.assert_allclose(imq_bandwidths(8, 1.0), [1.6, 3.2, 8.0, 16.0, 32.0, 80.0, 160.0])
    np.testing.assert_allclose(imq_bandwidths(4, 2.0, scales=(1.0,)), [32.0])


@pytest.mark.parametrize("m, n, d", [(7, 7, 3), (5, 9, 2), (2, 6, 8)])
def test_imq_mmd_matches_the_numpy_reference(m, n, d):
    rng = np.random.default_rng(m * 100 + n)
    x = rng.normal(size=(m, d)).astype(np.float32)
    y = (rng.normal(size=(n, d)) * 1.5 + 0.3).astype(np.float32)
    bandwidths = imq_bandwidths(d, 1.0)
    np.testing.assert_allclose(float(imq_mmd(x, y, bandwidths)), reference_mmd(x, y, bandwidths),
                               rtol=1e-4, atol=1e-5)


def test_imq_mmd_is_symmetric_and_zero_for_identical_pairs_only_in_expectation():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(30, 4)) + 0.5
    bandwidths = imq_bandwidths(4)
    np.testing.assert_allclose(float(imq_mmd(x, y, bandwidths)), float(imq_mmd(y, x, bandwidths)), rtol=1e-6)
    # The U-statistic leaves the diagonal out: a sample against itself gives
    # 2 * (mean off-diagonal kernel - mean kernel), negative, not 0.
    self_estimate = float(imq_mmd(x, x, bandwidths))
    np.testing.assert_allclose(self_estimate, reference_mmd(x, x, bandwidths), rtol=1e-4, atol=1e-6)
    assert self_estimate < 0


def test_imq_mmd_is_unbiased_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(2)
    d, n = 8, 400
    bandwidths = imq_bandwidths(d)
    same = [float(imq_mmd(rng.normal(size=(n, d)), rng.normal(size=(n, d)), bandwidths)) for _ in range(5)]
    shifted = float(imq_mmd(rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.5, bandwidths))
    scaled = float(imq_mmd(rng.normal(size=(n, d)), 0.5 * rng.normal(size=(n, d)), bandwidths))
    assert max(abs(v) for v in same) < 0.01, same
    assert shifted > 0.1 and scaled > 0.1, (shifted, scaled)
    # Unbiased: small samples average to ~0, while the estimate that keeps the
    # diagonal (a V-statistic) is biased upwards by about 2 * 7 * (1 - E k) / n.
    small = [float(imq_mmd(rng.normal(size=(8, d)), rng.normal(size=(8, d)), bandwidths)) for _ in range(300)]
    assert abs(np.mean(small)) < 3 * np.std(small) / np.sqrt(len(small)) + 1e-3, np.mean(small)


def test_imq_mmd_of_one_point_samples_is_the_cross_term_only():
    bandwidths = (1.0,)
    value = float(imq_mmd(np.zeros((1, 2)), np.ones((1, 2)), bandwidths))
    np.testing.assert_allclose(value, -2 * 1.0 / (1.0 + 2.0), rtol=1e-6)


# ---------------------------------------------------------------- the model
def test_wae_loss_is_reconstruction_plus_lambda_mmd_of_the_step_prior_draws():
    model = WassersteinAutoencoder(regularization_weight=7.0, **SMALL)
    model.build_for_data()
    x = tf.constant(binary_images(6, seed=3))
    losses = {k: float(v) for k, v in model.compute_losses(x, training=False).items()}
    np.testing.assert_allclose(losses["loss"], losses["reconstruction"] + 7.0 * losses["mmd"], rtol=1e-5)
    z = model.encode(x.numpy())
    prior = np.asarray(tf.random.stateless_normal([6, 4], tf.constant([0, 0])))  # salt 0, step 0
    np.testing.assert_allclose(losses["mmd"], reference_mmd(z, prior, imq_bandwidths(4)), rtol=1e-4, atol=1e-6)
    mean = model(x).numpy()
    cross_entropy = -(x.numpy() * np.log(mean) + (1 - x.numpy()) * np.log1p(-mean)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(losses["reconstruction"], cross_entropy.mean(), rtol=1e-4)


def test_squared_l2_cost_is_the_papers():
    model = WassersteinAutoencoder(reconstruction="squared_l2", **SMALL)
    x = np.random.default_rng(4).random((5, 28, 28, 1)).astype(np.float32)
    model.build_for_data()
    reconstruction = float(model.compute_losses(tf.constant(x))["reconstruction"])
    np.testing.assert_allclose(reconstruction, ((x - model(x).numpy()) ** 2).sum(axis=(1, 2, 3)).mean(), rtol=1e-5)
    assert model.data_options("train") == {}
    assert WassersteinAutoencoder().data_options("train") == {"binarize": "dynamic"}
    assert WassersteinAutoencoder().data_options("test") == {"binarize": "static"}


@pytest.mark.parametrize("cls", [WassersteinAutoencoder, WassersteinAutoencoderGAN])
def test_generate_decodes_prior_draws_and_codes_round_trip(cls):
    model = cls(prior_scale=2.0, **SMALL)
    model.build_for_data()
    z = np.asarray(model.prior().sample(4, seed=seed_pair(3)))
    assert 1.3 < z.std() < 3.0  # the prior's scale is used
    np.testing.assert_allclose(model.generate(4, seed=3), model.decode(z), atol=1e-6)
    x = binary_images(3)
    codes = model.encode(x)
    assert codes.shape == (3, 4)
    np.testing.assert_allclose(model.decode(codes), np.asarray(model(x)), atol=1e-6)
    assert model.interpolate(x[0], x[1], steps=5).shape == (5, 28, 28, 1)
    compile_model(model)
    with pytest.raises(ValueError, match="unconditional"):
        model.fit(x, np.zeros(3), epochs=1, verbose=0)


def test_wae_gan_generator_is_encoder_and_decoder():
    model = WassersteinAutoencoderGAN(**SMALL)
    model.build_for_data()
    ids = lambda variables: {id(v) for v in variables}
    assert ids(model.generator.trainable_variables) == ids(model.encoder.trainable_variables) | ids(
        model.decoder.trainable_variables)
    assert not ids(model.generator.trainable_variables) & ids(model.discriminator.trainable_variables)
    assert ids(model.trainable_variables) == ids(model.generator.trainable_variables) | ids(
        model.discriminator.trainable_variables)


@pytest.mark.parametrize("cls", [WassersteinAutoencoder, WassersteinAutoencoderGAN])
def test_mirrored_step_logs_the_global_batch_mmd(cls):
    """The codes are all-gathered: 2 replicas log (and train on) the 8-example MMD, not a mean of two 4-example ones."""
    batch = binary_images(8, seed=5)

    def run(strategy, start=None):
        with strategy.scope():
            model = cls(**SMALL)
            model.build_for_data()
            if start is not None:
                model.set_weights(start)
            compile_model(model, lambda: keras.optimizers.SGD(0.01))
        weights = model.get_weights()
        logs = model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0, shuffle=False).history
        return logs, weights, model

    single, start, model = run(tf.distribute.get_strategy())
    mirrored, _, _ = run(make_strategy("mirrored", num_replicas=2), start)
    for name in cls.loss_names:
        np.testing.assert_allclose(mirrored[name][0], single[name][0], rtol=1e-4, err_msg=name)
    # ... and the logged value is the estimate on the whole batch.
    fresh = cls(**SMALL)
    fresh.build_for_data()
    fresh.set_weights(start)
    prior = np.asarray(tf.random.stateless_normal([8, 4], tf.constant([0, 0])))
    expected = reference_mmd(fresh.encode(batch), prior, imq_bandwidths(4))
    np.testing.assert_allclose(single["mmd"][0], expected, rtol=1e-4)  # codes before the update
    halves = np.mean([reference_mmd(fresh.encode(batch[i:i + 4]), prior[i:i + 4], imq_bandwidths(4))
                      for i in (0, 4)])
    assert abs(halves - expected) > 1e-3


@pytest.mark.parametrize("kwargs, message", [
    (dict(latent_dim=0), "latent_dim must be a positive integer, got 0"),
    (dict(reconstruction="l1"), "reconstruction must be one of 'bernoulli', 'squared_l2', got 'l1'"),
    (dict(regularization_weight=-1), r"regularization_weight must be a non-negative number \(lambda\), got -1"),
    (dict(kernel_scales=()), "kernel_scales must hold at least one"),
    (dict(kernel_scales=(1.0, 0.0)), "kernel_scales entry must be a positive number, got 0.0"),
    (dict(kernel_scales="wide"), "kernel_scales must be a sequence of positive numbers, got 'wide'"),
    (dict(kernel_scales=None), "kernel_scales must be a sequence of positive numbers, got None"),
    (dict(prior_scale=0), "prior_scale must be a positive number, got 0"),
    (dict(filters=()), "filters must hold at least one"),
    (dict(data_shape=(30, 30, 1)), "divisible"),
    (dict(data_shape=(2,)), "image data_shape"),
])
@pytest.mark.parametrize("cls", [WassersteinAutoencoder, WassersteinAutoencoderGAN])
def test_bad_config_is_rejected(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_bad_gan_config_and_temperature_are_rejected():
    with pytest.raises(ValueError, match="discriminator_units entry must be a positive integer, got 0"):
        WassersteinAutoencoderGAN(discriminator_units=(16, 0))
    with pytest.raises(ValueError, match="d_steps must be a positive integer, got 0"):
        WassersteinAutoencoderGAN(d_steps=0)
    model = WassersteinAutoencoder(**SMALL)
    with pytest.raises(ValueError, match="temperature must be a positive number, got -1"):
        model.generate(2, temperature=-1)


# ----------------------------------------------------------------- training
def _digits():
    x = load_numpy("digits", split="train")
    return x.astype(np.float32)


def _code_mmd(model, x, seed=11):
    z = model.encode(x)
    prior = np.asarray(model.prior().sample(len(z), seed=seed_pair(seed)))
    return float(imq_mmd(z, prior, imq_bandwidths(model.latent_dim, model.prior_scale, model.kernel_scales)))


@pytest.mark.parametrize("cls", [WassersteinAutoencoder, WassersteinAutoencoderGAN])
def test_short_training_on_digits_matches_codes_to_the_prior(cls):
    """~200 autoencoder steps on the 8x8 digits: the MMD between held-out codes and the prior falls to a
    fraction of its start and reconstructions improve.

    WAE-GAN keeps its default of 5 discriminator updates per step (with one, the codes collapse into a
    cluster that chases the discriminator); across seeds 0-3 its MMD fell to 2-15% of the start.
    """
    keras.utils.set_random_seed(0)
    x = _digits()
    train, held_out = x[:-300], x[-300:]
    config = dict(data_shape=(8, 8, 1), latent_dim=4, filters=(16, 32), hidden_units=64)
    if cls is WassersteinAutoencoderGAN:
        model = cls(regularization_weight=5.0, discriminator_units=(64, 64), **config)
        model.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    else:
        model = cls(regularization_weight=100.0, **config)
        model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.build_for_data()
    before_mmd = _code_mmd(model, held_out)
    before_error = np.mean((model(held_out).numpy() - held_out) ** 2)
    history = model.fit(train, batch_size=64, epochs=10, verbose=0, shuffle=True).history
    after_mmd = _code_mmd(model, held_out)
    after_error = np.mean((model(held_out).numpy() - held_out) ** 2)
    assert after_mmd < 0.3 * before_mmd, (before_mmd, after_mmd)
    assert history["mmd"][-1] < 0.3 * history["mmd"][0], history["mmd"]
    assert after_error < 0.7 * before_error, (before_error, after_error)
    samples = model.generate(16, seed=0)
    assert samples.shape == (16, 8, 8, 1) and 0 <= samples.min() and samples.max() <= 1
