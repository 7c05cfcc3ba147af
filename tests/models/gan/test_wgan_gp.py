"""WGAN-GP: the harness on images and 2-D points, and the gradient penalty
under mixed_float16 and MirroredStrategy."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core.distribute import make_strategy
from kzoo.core.precision import precision_scope
from kzoo.models.gan import WGANGP
from test_case import GenerativeModelTestCase, compile_model


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype(np.float32)


class TestWGANGP(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(latent_dim=4, filters=(8, 4), d_steps=2, critic_norm="layer")
        config.update(overrides)
        return WGANGP(**config)

    def make_batch(self, seed=0):
        return images(self.batch_size, seed)


class TestWGANGP2D(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(data_shape=(2,), latent_dim=3, hidden_units=(16, 16), d_steps=2)
        config.update(overrides)
        return WGANGP(**config)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).normal(size=(self.batch_size, 2)).astype(np.float32)


def test_penalty_of_a_linear_critic_is_known():
    """f(x) = w.x has gradient w everywhere: the penalty is (||w|| - 1)^2."""
    model = WGANGP(data_shape=(2,), latent_dim=2, hidden_units=(4,))
    model.discriminator = keras.Sequential([keras.layers.Dense(1, use_bias=False)])
    model.build_for_data()
    model.discriminator.layers[0].kernel.assign([[3.0], [4.0]])
    penalty = model.gradient_penalty(tf.zeros((5, 2)), tf.ones((5, 2)), tf.linspace(0.0, 1.0, 5))
    np.testing.assert_allclose(penalty, 16.0, rtol=1e-6)


def test_critic_steps_are_d_steps_and_the_papers_name_still_loads():
    model = WGANGP(d_steps=3)
    config = model.get_config()
    assert config["d_steps"] == 3 and "n_critic" not in config
    old = dict(config)
    old["n_critic"] = old.pop("d_steps")
    assert WGANGP.from_config(old).get_config() == config
    with pytest.raises(ValueError, match="d_steps must be a positive integer, got 0"):
        WGANGP(d_steps=0)
    with pytest.raises(ValueError, match="critic_norm"):
        WGANGP(critic_norm="batch")


def _penalty_and_critic_update(precision, start=None):
    """The penalty at fixed points and the critic's SGD update of one step."""
    real, fake = tf.constant(images(8, 1)), tf.constant(images(8, 2))
    epsilon = tf.linspace(0.0, 1.0, 8)
    with precision_scope(precision):
        model = WGANGP(latent_dim=4, filters=(8, 4), d_steps=1)
        model.build_for_data()
        if start is not None:
            model.set_weights(start)
        if precision == "mixed_float16":
            # The default dynamic scale: large enough that an unscaled double backprop would show.
            factory = lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01), initial_scale=2.0**15)
        else:
            factory = lambda: keras.optimizers.SGD(0.01)
        compile_model(model, factory)
        weights = [np.array(w) for w in model.weights]
        penalty = float(model.gradient_penalty(real, fake, epsilon))
        before = [np.array(v) for v in model.discriminator.trainable_variables]
        model.fit(images(8), batch_size=8, epochs=1, verbose=0, shuffle=False)
        after = [np.array(v) for v in model.discriminator.trainable_variables]
    delta = np.concatenate([(a - b).ravel() for a, b in zip(after, before)])
    return penalty, delta, weights


def test_gradient_penalty_and_critic_update_under_mixed_float16_match_float32():
    penalty32, delta32, start = _penalty_and_critic_update("float32")
    penalty16, delta16, _ = _penalty_and_critic_update("mixed_float16", start)
    np.testing.assert_allclose(penalty16, penalty32, rtol=2e-2)
    assert np.linalg.norm(delta32) > 0
    ratio = np.linalg.norm(delta16) / np.linalg.norm(delta32)
    cosine = delta16 @ delta32 / (np.linalg.norm(delta16) * np.linalg.norm(delta32))
    assert 0.9 < ratio < 1.1 and cosine > 0.99, (ratio, cosine)


def test_gradient_penalty_and_critic_update_on_two_replicas_match_one():
    batch = images(8)

    def run(strategy, start=None):
        with strategy.scope():
            model = WGANGP(latent_dim=4, filters=(8, 4), d_steps=2)
            model.build_for_data()
            if start is not None:
                model.set_weights(start)
            compile_model(model, lambda: keras.optimizers.SGD(0.01))
        weights = [np.array(w) for w in model.weights]
        logs = model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
        return logs, [np.array(v) for v in model.discriminator.weights], weights

    single_logs, single_critic, start = run(tf.distribute.get_strategy())
    mirrored_logs, mirrored_critic, _ = run(make_strategy("mirrored", num_replicas=2), start)
    for name in ("gradient_penalty", "d_loss", "wasserstein", "d_grad_norm", "g_grad_norm"):
        np.testing.assert_allclose(mirrored_logs[name][0], single_logs[name][0], rtol=1e-4, err_msg=name)
    for a, b in zip(single_critic, mirrored_critic):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-4)
