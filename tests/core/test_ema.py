"""Weight averaging: values, validation, mixed precision and replicas."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core.distribute import make_strategy
from kzoo.core.ema import check_ema_decay, copy_variables, freeze, update_moving_average
from kzoo.core.precision import precision_scope


def dense_pair(seed_a=1, seed_b=2):
    trained = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(seed=seed_a))
    averaged = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(seed=seed_b))
    trained.build((None, 4))
    averaged.build((None, 4))
    return trained, averaged


class LazyBlock(keras.layers.Layer):
    """Creates its sublayer's variables on first call, after any trainable flag was set."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(3)

    def call(self, x):
        return self.inner(x)


def test_freeze_reaches_variables_created_after_the_flag():
    flagged, frozen = LazyBlock(), LazyBlock()
    flagged.trainable = False
    frozen.trainable = False
    flagged(tf.zeros((1, 4)))
    frozen(tf.zeros((1, 4)))
    freeze(frozen)
    assert not frozen.trainable_weights and not frozen.trainable
    assert all(not v.trainable for v in frozen.weights)
    assert len(frozen.non_trainable_weights) == 2


def test_copy_then_update_matches_formula():
    trained, averaged = dense_pair()
    copy_variables(averaged.weights, trained.weights)
    np.testing.assert_array_equal(averaged.kernel.numpy(), trained.kernel.numpy())
    before = averaged.kernel.numpy()
    trained.kernel.assign(trained.kernel + 1.0)
    update_moving_average(averaged.weights, trained.weights, 0.9)
    np.testing.assert_allclose(averaged.kernel.numpy(), 0.9 * before + 0.1 * trained.kernel.numpy(), rtol=1e-6, atol=1e-7)


def test_update_inside_tf_function_with_tensor_decay():
    trained, averaged = dense_pair()
    expected = 0.5 * averaged.kernel.numpy() + 0.5 * trained.kernel.numpy()

    @tf.function
    def step(decay):
        update_moving_average(averaged.weights, trained.weights, decay)

    step(tf.constant(0.5))
    np.testing.assert_allclose(averaged.kernel.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_integer_variables_are_copied_not_averaged():
    average = tf.Variable(3, dtype=tf.int32)
    source = tf.Variable(10, dtype=tf.int32)
    update_moving_average([average], [source], 0.9)
    assert int(average.numpy()) == 10


def test_mixed_float16_keeps_float32_average():
    with precision_scope("mixed_float16"):
        trained, averaged = dense_pair()
        assert averaged.kernel.dtype == "float32"
        expected = 0.99 * averaged.kernel.numpy() + 0.01 * trained.kernel.numpy()
        update_moving_average(averaged.weights, trained.weights, 0.99)
    np.testing.assert_allclose(averaged.kernel.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_two_replicas_give_the_single_device_average():
    strategy = make_strategy("mirrored")
    with strategy.scope():
        trained, averaged = dense_pair()
    expected = 0.75 * averaged.kernel.numpy() + 0.25 * trained.kernel.numpy()

    @tf.function
    def step():
        strategy.run(lambda: update_moving_average(averaged.weights, trained.weights, 0.75))

    step()
    for replica_value in strategy.experimental_local_results(averaged.kernel.value):
        np.testing.assert_allclose(replica_value.numpy(), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.9", True, 2])
def test_bad_decay_is_named(bad):
    with pytest.raises(ValueError, match="ema_decay"):
        check_ema_decay(bad)


def test_decay_none_and_zero_are_accepted():
    assert check_ema_decay(None) is None
    assert check_ema_decay(0) == 0.0


def test_mismatched_networks_are_rejected():
    trained, _ = dense_pair()
    other = keras.layers.Dense(5)
    other.build((None, 4))
    with pytest.raises(ValueError, match="shape"):
        update_moving_average(other.weights, trained.weights, 0.9)
    with pytest.raises(ValueError, match="Cannot pair"):
        copy_variables(other.weights[:1], trained.weights)
