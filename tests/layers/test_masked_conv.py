"""MaskedConv2D: masks, causality of stacks, taps, serialization, errors."""

import json

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core.precision import precision_scope
from kzoo.layers import MaskedConv2D, causal_mask, tap_gather_indices


def subpixel_jacobian(net, height, width, channels, seed=0):
    """``J[i, j] = d out_i / d x_j`` over sub-pixels in raster order.

    ``out`` has ``channels`` groups of channels; output sub-pixel ``i =
    (r * W + c) * C + g`` is a random projection of the channels of group
    ``g`` at pixel ``(r, c)``. Computed with one backward pass over a batch
    holding one copy of the input per output sub-pixel.
    """
    rng = np.random.default_rng(seed)
    size = height * width * channels
    x = tf.constant(np.repeat(rng.uniform(-1, 1, (1, height, width, channels)), size, 0).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.cast(net(x), tf.float32)
        features = out.shape[-1]
        weights = tf.constant(rng.normal(size=features).astype(np.float32))
        groups = tf.reshape(out * weights, (size, height, width, channels, -1))
        per_subpixel = tf.reshape(tf.reduce_sum(groups, -1), (size, size))
        picked = tf.reduce_sum(tf.linalg.diag_part(per_subpixel))
    grad = tape.gradient(picked, x)
    return np.asarray(grad).reshape(size, size)


def stack(first_mask, depth, channels, filters=6, kernel=3):
    layers = [MaskedConv2D(filters, kernel, first_mask, channel_groups=channels)]
    for _ in range(depth - 1):
        layers += [keras.layers.Activation("tanh"), MaskedConv2D(filters, kernel, "B", channel_groups=channels)]
    return keras.Sequential(layers)


@pytest.mark.parametrize("channels", [1, 3])
def test_mask_a_stack_is_strictly_causal(channels):
    height, width = 5, 6
    jac = subpixel_jacobian(stack("A", 4, channels), height, width, channels)
    i, j = np.indices(jac.shape)
    assert np.all(jac[j >= i] == 0), "output i depends on an input j >= i"
    # The stack does use the context: the previous sub-pixel in the row and the pixel above matter.
    previous = np.array([k for k in range(1, len(jac)) if k % (width * channels)])
    assert np.all(jac[previous, previous - 1] != 0)
    above = np.arange(width * channels, len(jac))
    assert np.all(jac[above, above - width * channels] != 0)


@pytest.mark.parametrize("channels", [1, 3])
def test_mask_b_stack_is_causal_and_sees_its_own_input(channels):
    jac = subpixel_jacobian(stack("B", 3, channels), 4, 5, channels)
    i, j = np.indices(jac.shape)
    assert np.all(jac[j > i] == 0), "output i depends on an input j > i"
    assert np.all(np.diag(jac) != 0), "mask B must keep the centre connection"


def test_causal_mask_values():
    mask = causal_mask(3, 1, 1, "A")[..., 0, 0]
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    mask = causal_mask((1, 5), 1, 1, "B")[..., 0, 0]
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0]])
    # Colour groups at the centre: R sees nothing, G sees R, B sees R and G (mask A).
    centre = causal_mask(3, 3, 6, "A", channel_groups=3)[1, 1]
    np.testing.assert_array_equal(centre, [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]])
    centre = causal_mask(1, 6, 3, "B", channel_groups=3)[0, 0]
    np.testing.assert_array_equal(centre, [[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 1]])


def test_output_splits_group_each_part_on_its_own():
    # Two halves of 6 outputs (a gated activation), 3 colour groups: each half is grouped [R, G, B].
    centre = causal_mask(1, 3, 6, "B", channel_groups=3, output_splits=2)[0, 0]
    np.testing.assert_array_equal(centre, [[1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 1, 1], [0, 0, 1, 0, 0, 1]])
    with pytest.raises(ValueError, match="output_splits"):
        MaskedConv2D(6, 3, output_splits=4)
    with pytest.raises(ValueError, match="divisible by 3"):
        MaskedConv2D(6, 3, channel_groups=3, output_splits=3)


def test_masked_weights_get_no_gradient_and_mask_is_not_a_weight():
    layer = MaskedConv2D(4, 5, "A")
    x = tf.random.normal((2, 7, 7, 1))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x) ** 2)
    grad = tape.gradient(y, layer.kernel).numpy()
    assert np.all(grad[layer.mask == 0] == 0)
    assert np.any(grad[layer.mask == 1] != 0)
    assert sorted(w.name for w in layer.weights) == ["bias", "kernel"]


def test_taps_reproduce_the_convolution_at_every_pixel():
    layer = MaskedConv2D(6, (3, 5), "A", channel_groups=2)
    x = tf.random.normal((3, 4, 6, 2))
    full = layer(x).numpy()
    offsets = layer.tap_offsets()
    assert tuple(offsets[-1]) == (0, 0) and layer.has_centre_tap()
    table = tap_gather_indices(offsets, 4, 6)
    flat = np.concatenate([x.numpy().reshape(3, 24, 2), np.zeros((3, 1, 2), np.float32)], axis=1)
    for pos in range(24):
        out = layer.apply_taps(tf.constant(flat[:, table[pos]])).numpy()
        np.testing.assert_allclose(out, full[:, pos // 6, pos % 6], rtol=1e-5, atol=1e-5)


def test_tap_gather_indices_use_the_zero_slot_outside_the_image():
    table = tap_gather_indices([[-1, 0], [0, -1], [0, 0]], 2, 3)
    np.testing.assert_array_equal(table[0], [6, 6, 0])
    np.testing.assert_array_equal(table[4], [1, 3, 4])


def test_config_round_trip_and_saving(tmp_path):
    layer = MaskedConv2D(6, (3, 5), "A", channel_groups=3, use_bias=False, name="masked")
    config = json.loads(json.dumps(layer.get_config()))
    clone = MaskedConv2D.from_config(config)
    assert clone.get_config() == layer.get_config()
    model = keras.Sequential([keras.Input((5, 5, 3)), layer])
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(restored(x), model(x), rtol=1e-6)
    np.testing.assert_array_equal(restored.layers[0].mask, layer.mask)


def test_mixed_precision_computes_in_float16():
    with precision_scope("mixed_float16"):
        layer = MaskedConv2D(4, 3, "A")
        y = layer(tf.ones((1, 5, 5, 1)))
        assert y.dtype == tf.float16
        assert layer.kernel.dtype == "float32"
        assert layer.tap_kernel().dtype == tf.float16


@pytest.mark.parametrize("kwargs, message", [
    (dict(filters=4, kernel_size=4), "odd"),
    (dict(filters=4, kernel_size=(3, 0)), "odd"),
    (dict(filters=4, kernel_size=3, mask_type="C"), "mask_type"),
    (dict(filters=0, kernel_size=3), "filters"),
    (dict(filters=4, kernel_size=3, channel_groups=3), "divisible by 3"),
    (dict(filters=4, kernel_size=1, mask_type="A"), "connects nothing"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskedConv2D(**kwargs)


def test_input_channels_not_divisible_by_groups_are_rejected():
    with pytest.raises(ValueError, match="divisible by 3"):
        MaskedConv2D(6, 3, "A", channel_groups=3)(tf.zeros((1, 4, 4, 2)))
