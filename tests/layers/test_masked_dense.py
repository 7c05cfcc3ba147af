"""MaskedDense: degree-based connectivity, mask selection and serialization."""

import json

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.layers import MaskedDense, connectivity_mask


def test_connectivity_mask_follows_the_degree_rule():
    m_in, m_out = np.array([1, 2, 3]), np.array([1, 2, 3, 3])
    hidden = connectivity_mask(m_in, m_out)
    np.testing.assert_array_equal(hidden, (m_out[None, :] >= m_in[:, None]).astype(np.float32))
    output = connectivity_mask(m_in, m_in, strict=True)
    np.testing.assert_array_equal(output, np.triu(np.ones((3, 3), np.float32), k=1))


def test_output_uses_the_selected_mask_only():
    layer = MaskedDense(4, num_masks=2, strict=True, use_bias=False, kernel_initializer="ones")
    layer.build((None, 4))
    layer.set_degrees([[0, 1, 2, 3], [3, 2, 1, 0]], [[0, 1, 2, 3], [3, 2, 1, 0]])
    x = tf.constant([[1.0, 2.0, 4.0, 8.0]])
    # mask 0: output d sums inputs k < d; mask 1 reverses the order.
    np.testing.assert_allclose(layer(x, mask_index=0), [[0.0, 1.0, 3.0, 7.0]])
    np.testing.assert_allclose(layer(x, mask_index=1), [[14.0, 12.0, 8.0, 0.0]])
    np.testing.assert_allclose(layer(x, mask_index=tf.constant(1)), [[14.0, 12.0, 8.0, 0.0]])
    with pytest.raises(ValueError, match=r"mask_index must be in \[0, 2\)"):
        layer(x, mask_index=2)


def test_gradients_never_reach_masked_weights():
    layer = MaskedDense(3, strict=True)
    layer.build((None, 3))
    layer.set_degrees([1, 2, 3], [1, 2, 3])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.ones((2, 3))) ** 2)
    grad = tape.gradient(loss, layer.kernel)
    np.testing.assert_array_equal(np.asarray(grad) * (1 - connectivity_mask([1, 2, 3], [1, 2, 3], True)), 0.0)
    assert layer.connected_parameter_count() == 3 + 3
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2


def test_degrees_save_and_load_with_the_weights(tmp_path):
    inputs = keras.Input((5,))
    layer = MaskedDense(6, num_masks=2, activation="relu", name="masked")
    model = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    layer.set_degrees(rng.integers(1, 5, (2, 5)), rng.integers(1, 5, (2, 6)))
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.saving.load_model(path).get_layer("masked")
    for a, b in zip(layer.weights, restored.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    config = json.loads(json.dumps(layer.get_config()))
    assert MaskedDense.from_config(config).get_config() == layer.get_config()


def test_bad_degrees_and_arguments_are_rejected():
    layer = MaskedDense(3, num_masks=2)
    with pytest.raises(ValueError, match="not built"):
        layer.set_degrees([1, 2], [1, 2, 3])
    layer.build((None, 2))
    with pytest.raises(ValueError, match=r"input_degrees must have shape \(2,\) or \(2, 2\)"):
        layer.set_degrees([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="integers"):
        layer.set_degrees([1.5, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="units"):
        MaskedDense(0)
    with pytest.raises(ValueError, match="num_masks"):
        MaskedDense(3, num_masks=0)
