"""DiffAugment: differentiable, reproducible from its noise, each op as documented."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.layers import DiffAugment


def test_translation_shifts_by_whole_pixels_with_zero_fill():
    layer = DiffAugment("translation", translation=0.25)
    image = np.zeros((1, 8, 8, 1), np.float32)
    image[0, 3, 4, 0] = 1.0
    # u -> shift floor(u * 5) - 2: u = 0.95 gives +2 rows, u = 0.05 gives -2 columns.
    out = np.asarray(layer(image, noise=tf.constant([[0.95, 0.05]])))
    assert out[0, 5, 2, 0] == 1.0 and out.sum() == 1.0
    full = np.ones((1, 8, 8, 1), np.float32)
    shifted = np.asarray(layer(full, noise=tf.constant([[0.95, 0.5]])))
    assert shifted[0, :2].sum() == 0 and shifted[0, 2:].min() == 1.0


def test_cutout_zeroes_a_square_and_color_keeps_shape():
    image = np.ones((2, 8, 8, 1), np.float32)
    out = np.asarray(DiffAugment("cutout", cutout=0.5)(image, noise=tf.constant([[0.5, 0.5], [0.0, 0.0]])))
    assert (out[0] == 0).sum() == 16  # a full 4x4 square inside the image
    assert 0 < (out[1] == 0).sum() < 16  # clipped at the corner
    colored = DiffAugment("color")(image, noise=tf.constant([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(np.asarray(colored)[0], image[0], atol=1e-6)  # u = 0.5: identity
    np.testing.assert_allclose(np.asarray(colored)[1], image[1] + 0.25, atol=1e-6)  # brightness only


def test_gradients_flow_to_the_input_and_noise_makes_it_reproducible():
    layer = DiffAugment()
    x = tf.random.uniform((4, 16, 16, 3))
    noise = tf.random.uniform((4, layer.noise_dims))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, noise=noise)
        total = tf.reduce_sum(y * y)
    grad = tape.gradient(total, x)
    assert grad is not None and float(tf.norm(grad)) > 0
    np.testing.assert_array_equal(np.asarray(layer(x, noise=noise)), np.asarray(y))
    np.testing.assert_array_equal(np.asarray(layer(x, noise=noise, training=False)), np.asarray(x))


def test_config_round_trip_and_validation():
    layer = DiffAugment(["cutout", "color"], translation=0.1, cutout=0.3)
    assert layer.policy == ("color", "cutout") and layer.noise_dims == 5
    clone = DiffAugment.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)).policy == layer.policy
    with pytest.raises(ValueError, match="policy"):
        DiffAugment("flip")
    with pytest.raises(ValueError, match="cutout must be a fraction"):
        DiffAugment(cutout=2.0)


def test_affine_is_the_identity_at_the_centre_of_its_noise_and_rotates_exactly():
    image = np.random.default_rng(0).random((2, 9, 9, 1)).astype(np.float32)
    layer = DiffAugment("affine")
    assert layer.noise_dims == 3
    # u = 0.5: no rotation, zoom 1, no shear.
    np.testing.assert_allclose(np.asarray(layer(image, noise=tf.fill((2, 3), 0.5))), image, atol=1e-6)
    quarter = DiffAugment("affine", rotation=90, zoom=0, shear=0)
    turned = np.asarray(quarter(image, noise=tf.constant([[1.0, 0.5, 0.5], [0.0, 0.5, 0.5]])))
    np.testing.assert_allclose(turned[0, ..., 0], np.rot90(image[0, ..., 0], 1), atol=1e-5)
    np.testing.assert_allclose(turned[1, ..., 0], np.rot90(image[1, ..., 0], -1), atol=1e-5)
    # A zoom out (u = 0 -> scale 1 - zoom) leaves zeros at the border, ink stays inside.
    ones = np.ones((1, 9, 9, 1), np.float32)
    smaller = np.asarray(DiffAugment("affine", zoom=0.5)(ones, noise=tf.constant([[0.5, 0.0, 0.5]])))
    assert smaller[0, 0].max() == 0.0 and smaller[0, 4, 4, 0] == pytest.approx(1.0)


def test_affine_runs_before_translation_and_is_validated():
    layer = DiffAugment("translation,affine")
    assert layer.policy == ("affine", "translation") and layer.noise_dims == 5
    assert DiffAugment.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="rotation must be degrees"):
        DiffAugment("affine", rotation=-1)
    with pytest.raises(ValueError, match="zoom must be a fraction"):
        DiffAugment("affine", zoom=1.0)
    with pytest.raises(ValueError, match="shear must be a number"):
        DiffAugment("affine", shear=2)
