"""CycleGAN: the shared harness, the history pool and the paired validation scores."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.layers import ImagePool
from kzoo.models.gan import CycleGAN
from test_case import GenerativeModelTestCase, compile_model


def _pairs(seed, n=8):
    return np.random.default_rng(seed).random((n, 28, 28, 2)).astype(np.float32)


class TestCycleGAN(GenerativeModelTestCase):
    translates = True
    generate_kwargs = {"source": _pairs(5)}

    def make_model(self, **overrides):
        config = dict(filters=4, residual_blocks=1, discriminator_filters=(4, 8), pool_size=6)
        config.update(overrides)
        return CycleGAN(**config)

    def make_batch(self, seed=0):
        return _pairs(seed, self.batch_size)


def test_networks_follow_the_paper_at_28x28():
    model = CycleGAN()
    model.build_for_data()
    shapes = [tuple(layer.output.shape[1:]) for layer in model.generator.a.layers
              if layer.name in ("input_relu", "down_0_relu", "down_1_relu", "up_0_relu", "up_1_relu", "output_conv")]
    assert shapes == [(28, 28, 32), (14, 14, 64), (7, 7, 128), (14, 14, 64), (28, 28, 32), (28, 28, 1)]
    assert tuple(model.discriminator.b(tf.zeros((1, 28, 28, 1))).shape[1:]) == (7, 7, 1)  # one logit per patch
    kinds = {type(layer).__name__ for layer in model.generator.b.layers}
    assert "GroupNormalization" in kinds and "BatchNormalization" not in kinds  # instance normalization


def test_translate_and_reconstruct_map_one_domain_into_the_other():
    model = CycleGAN(filters=4, residual_blocks=1, discriminator_filters=(4, 8))
    model.build_for_data()
    a = _pairs(0)[..., :1]
    b = model.translate(a, "a_to_b", batch_size=3)
    assert b.shape == a.shape and 0.0 <= b.min() <= b.max() <= 1.0
    np.testing.assert_allclose(model.reconstruct(a, "a_to_b"), model.translate(b, "b_to_a"), atol=1e-5)
    pair = model.generate(4, source=_pairs(0))
    np.testing.assert_allclose(pair[..., :1], b[:4], atol=1e-5)
    with pytest.raises(ValueError, match="direction must be one of a_to_b, b_to_a"):
        model.translate(a, "sideways")
    with pytest.raises(ValueError, match="shape"):
        model.translate(_pairs(0))
    with pytest.raises(ValueError, match="at least 9 source stacks"):
        model.generate(9, source=_pairs(0))


def test_validation_on_corresponding_pairs_reports_the_l1_to_the_true_targets():
    model = compile_model(CycleGAN(filters=4, residual_blocks=1, discriminator_filters=(4, 8), pool_size=6))
    train = tf.data.Dataset.from_tensors(_pairs(0))
    a = _pairs(1)[..., :1]
    paired = np.concatenate([a, 1.0 - a], axis=-1)  # b is the exact target of a
    history = model.fit(train, validation_data=tf.data.Dataset.from_tensors(paired), epochs=1, verbose=0).history
    expected = np.abs(model.translate(a) - (1.0 - a)).mean()
    assert history["val_l1_a_to_b"][0] == pytest.approx(expected, rel=1e-4)
    assert "l1_a_to_b" not in history  # training pairs do not correspond
    assert int(model.pool_a.count) == int(model.pool_b.count) == 6  # one training step of 8 fills both pools


def test_the_pool_returns_new_images_until_full_then_swaps_half_for_old_ones():
    pool = ImagePool(pool_size=6)
    first = tf.reshape(tf.range(4, dtype=tf.float32), (4, 1, 1, 1))
    out = pool(first, tf.constant([0, 1]))
    np.testing.assert_array_equal(out, first)  # filling: returned unchanged
    second = first + 10.0
    out = np.asarray(pool(second, tf.constant([0, 2])))[:, 0, 0, 0]
    np.testing.assert_array_equal(out[:2], [10.0, 11.0])  # the last two free slots
    assert int(pool.count) == 6
    stored = set(np.asarray(pool.images)[:, 0, 0, 0])
    assert stored == {0.0, 1.0, 2.0, 3.0, 10.0, 11.0}
    swaps = []
    for step in range(20):
        batch = tf.fill((4, 1, 1, 1), 100.0 + step)
        before = set(np.asarray(pool.images)[:, 0, 0, 0])
        out = np.asarray(pool(batch, tf.constant([step, 3])))[:, 0, 0, 0]
        after = np.asarray(pool.images)[:, 0, 0, 0]
        swapped = out != 100.0 + step
        assert set(out[swapped]) <= before  # a swapped image comes from the pool ...
        assert np.sum(after == 100.0 + step) == swapped.sum()  # ... and the new one takes its slot
        swaps.append(swapped.mean())
    assert 0.3 < np.mean(swaps) < 0.7  # swap_rate 0.5


@pytest.mark.parametrize("kwargs, message", [
    (dict(data_shape=(28, 28, 3)), "even number of channels"),
    (dict(data_shape=(30, 30, 2)), "divisible by 4"),
    (dict(cycle_weight=-1.0), "cycle_weight"),
    (dict(pool_size=0), "pool_size"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CycleGAN(**kwargs)
