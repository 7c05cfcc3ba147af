"""Gated PixelCNN: the shared harness, exactness, no blind spot, samplers."""

import numpy as np
import pytest

from kzoo.models.autoregressive import GatedPixelCNN, PixelCNN
from test_case import GenerativeModelTestCase
from test_pixelcnn import (assert_causal, assert_normalized, assert_samplers_agree,
                           assert_sampling_matches_likelihood, binary_images, level_images, logit_jacobian)


class TestGatedPixelCNN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(data_shape=(8, 8, 1), filters=8, num_layers=2, first_kernel_size=5, head_units=8)
        config.update(overrides)
        return GatedPixelCNN(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, (8, 8, 1), seed)


class TestConditionalColourGatedPixelCNN(TestGatedPixelCNN):
    """Class labels through fit, a 256-way categorical likelihood and colour-group masks."""

    def make_model(self, **overrides):
        return super().make_model(data_shape=(6, 6, 3), filters=6, head_units=6, likelihood="categorical",
                                  num_classes=4, **overrides)

    def make_batch(self, seed=0):
        labels = np.random.default_rng(seed).integers(0, 4, self.batch_size).astype(np.int32)
        return level_images(self.batch_size, (6, 6, 3), 256, seed), labels

    def outputs(self, model, batch):
        return np.asarray(model(batch, training=False))


def small(**config):
    return GatedPixelCNN(**{**dict(filters=8, num_layers=3, head_units=8), **config})


@pytest.mark.parametrize("config, levels", [
    (dict(data_shape=(2, 2, 1)), 2),
    (dict(data_shape=(2, 2, 1), likelihood="categorical", num_levels=3), 3),
    (dict(data_shape=(1, 2, 3), filters=6, head_units=6), 2),
])
def test_log_prob_is_exactly_normalized(config, levels):
    assert_normalized(small(**config), levels)


def test_conditional_log_prob_is_normalized_for_every_class():
    assert_normalized(small(data_shape=(2, 2, 1), num_classes=2), 2, labels=[0, 1])


def test_no_blind_spot_unlike_pixelcnn():
    """With enough layers, pixel i depends on every j < i; PixelCNN of the same depth does not."""
    shape = (8, 8, 1)
    gated = GatedPixelCNN(data_shape=shape, filters=8, num_layers=5, kernel_size=3, first_kernel_size=7,
                          head_units=8)
    jac = logit_jacobian(gated)
    assert_causal(jac)
    i, j = np.indices(jac.shape)
    missing = np.argwhere((j < i) & (jac == 0))
    assert len(missing) == 0, f"blind spot at (output, input) sub-pixels {missing[:10].tolist()}"

    plain = PixelCNN(data_shape=shape, filters=8, num_blocks=5, kernel_size=3, first_kernel_size=7, head_units=8)
    jac = logit_jacobian(plain)
    assert_causal(jac)
    assert np.count_nonzero((j < i) & (jac == 0)) > 0, "PixelCNN should have a blind spot"


def test_receptive_field_is_bounded_by_the_stack_depth():
    """Two layers of a 3-wide first kernel: the vertical stack reaches 2 rows up and 1 column aside."""
    model = GatedPixelCNN(data_shape=(7, 7, 1), filters=8, num_layers=2, kernel_size=3, first_kernel_size=3,
                          head_units=8)
    jac = logit_jacobian(model)
    assert_causal(jac)
    out = 5 * 7 + 3
    seen = {divmod(int(k), 7) for k in np.nonzero(jac[out])[0]}
    expected = {(r, c) for r in (2, 3, 4) for c in (1, 2, 3, 4, 5)} | {(5, 1), (5, 2)}
    assert seen == expected, sorted(seen ^ expected)


def test_cached_and_compiled_samplers_match_the_naive_reference():
    model = small(data_shape=(4, 4, 1))
    model.build_for_data()
    assert_samplers_agree(model, ["naive", "compiled", "cached"])


@pytest.mark.parametrize("config", [
    dict(data_shape=(8, 8, 1)),
    dict(data_shape=(5, 4, 3), filters=6, head_units=6, likelihood="categorical", num_levels=7),
    dict(data_shape=(6, 6, 1), num_classes=3, first_kernel_size=5),
])
def test_cached_sampler_equals_compiled_sampler(config):
    model = small(**config)
    model.build_for_data()
    labels = None if model.num_classes is None else np.array([2, 0, 1, 1])
    assert_samplers_agree(model, ["compiled", "cached"], n=4, labels=labels)


def test_samples_follow_the_model_distribution():
    model = small(data_shape=(2, 2, 1), num_layers=2)
    model.build_for_data()
    for w in model.weights:
        w.assign(w * 3.0)
    assert_sampling_matches_likelihood(model)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_layers=0), "num_layers"),
    (dict(first_kernel_size=6), "odd"),
    (dict(data_shape=(8, 8, 3), filters=8), "divisible"),
    (dict(first_kernel_size=1), "sees nothing"),
    (dict(likelihood="logistic"), "likelihood"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GatedPixelCNN(**kwargs)
