"""Spectral normalization and minibatch standard deviation: the numbers they promise."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.layers import MinibatchStdDev, SpectralConv2D, SpectralDense


def _top_singular_value(kernel):
    kernel = np.asarray(kernel, np.float64)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


@pytest.mark.parametrize("make, shape", [
    (lambda: SpectralDense(7), (3, 5)),
    (lambda: SpectralConv2D(6, 3, padding="same"), (2, 8, 8, 4)),
])
def test_power_iteration_drives_the_kernels_top_singular_value_to_one(make, shape):
    layer = make()
    x = tf.random.stateless_normal(shape, (1, 2))
    layer(x)
    layer.kernel.assign(layer.kernel * 5.0)
    before = np.asarray(layer.vector_u).copy()
    layer(x, training=False)
    np.testing.assert_array_equal(np.asarray(layer.vector_u), before)  # inference leaves u alone
    for _ in range(50):
        normalized = layer.normalized_kernel(training=True)
    assert _top_singular_value(normalized) == pytest.approx(1.0, rel=1e-3)
    assert not np.array_equal(np.asarray(layer.vector_u), before)


def test_spectral_layers_compute_the_plain_op_with_the_normalized_kernel():
    x = tf.random.stateless_normal((2, 8, 8, 3), (3, 4))
    conv = SpectralConv2D(4, 3, strides=2, padding="same", activation="relu")
    conv(x)
    plain = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")
    plain(x)
    plain.set_weights([np.asarray(conv.normalized_kernel()), np.asarray(conv.bias)])
    np.testing.assert_allclose(np.asarray(conv(x)), np.asarray(plain(x)), rtol=1e-5, atol=1e-6)


def test_the_gradient_flows_through_sigma():
    layer = SpectralDense(3, use_bias=False)
    x = tf.random.stateless_normal((4, 5), (5, 6))
    layer(x)
    for _ in range(30):
        layer.normalized_kernel(training=True)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x))
    grad = np.asarray(tape.gradient(out, layer.kernel))
    # Scaling W leaves W / sigma unchanged, so the gradient is orthogonal to W (it would not be without sigma's term).
    assert abs(float(np.sum(grad * np.asarray(layer.kernel)))) < 1e-4 * np.abs(grad).sum()


def test_spectral_layers_survive_serialization():
    model = keras.Sequential([keras.Input((6, 6, 1)), SpectralConv2D(2, 3), keras.layers.Flatten(), SpectralDense(1)])
    model(tf.ones((1, 6, 6, 1)), training=True)
    clone = keras.Sequential.from_config(model.get_config())
    clone(tf.ones((1, 6, 6, 1)))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(tf.ones((2, 6, 6, 1)))), np.asarray(model(tf.ones((2, 6, 6, 1)))),
                               rtol=1e-6)


def test_minibatch_stddev_appends_each_groups_mean_deviation():
    x = np.zeros((4, 2, 2, 1), np.float32)
    x[1] = 2.0  # group [0, 1]: std 1 everywhere; group [2, 3]: identical examples, std 0
    out = np.asarray(MinibatchStdDev(group_size=2)(x))
    assert out.shape == (4, 2, 2, 2)
    np.testing.assert_array_equal(out[..., :1], x)
    np.testing.assert_allclose(out[:2, ..., 1], 1.0, atol=1e-4)
    np.testing.assert_allclose(out[2:, ..., 1], 0.0, atol=1e-3)
    # groups are consecutive examples, so half a batch gives its own groups' statistic (replica-safe)
    np.testing.assert_allclose(np.asarray(MinibatchStdDev(group_size=2)(x[2:])), out[2:], atol=1e-6)
    np.testing.assert_allclose(np.asarray(MinibatchStdDev(group_size=8)(x))[..., 1], 0.8660254, atol=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiple of its group size"):
        MinibatchStdDev(group_size=3)(x)
    with pytest.raises(ValueError, match="group_size"):
        MinibatchStdDev(group_size=0)
    assert MinibatchStdDev.from_config(MinibatchStdDev(group_size=2).get_config()).group_size == 2
