"""PixelRNN (Row LSTM, Diagonal BiLSTM): harness, exactness, causality, samplers."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.autoregressive import PixelRNN
from kzoo.models.autoregressive.pixelrnn import skew, unskew
from test_case import GenerativeModelTestCase
from test_pixelcnn import (assert_causal, assert_normalized, assert_samplers_agree,
                           assert_sampling_matches_likelihood, binary_images, level_images, logit_jacobian)


class TestRowLSTM(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(data_shape=(6, 6, 1), filters=8, hidden_units=4, num_layers=1, first_kernel_size=3,
                      head_units=8)
        config.update(overrides)
        return PixelRNN(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, (6, 6, 1), seed)


class TestConditionalColourDiagonalBiLSTM(TestRowLSTM):
    """Diagonal BiLSTM with class labels through fit, a 256-way categorical likelihood and colour masks."""

    def make_model(self, **overrides):
        return super().make_model(layer_type="diagonal_bilstm", data_shape=(5, 5, 3), filters=6, hidden_units=3,
                                  head_units=6, likelihood="categorical", num_classes=3, **overrides)

    def make_batch(self, seed=0):
        labels = np.random.default_rng(seed).integers(0, 3, self.batch_size).astype(np.int32)
        return level_images(self.batch_size, (5, 5, 3), 256, seed), labels

    def outputs(self, model, batch):
        return np.asarray(model(batch, training=False))


def small(**config):
    return PixelRNN(**{**dict(filters=8, hidden_units=4, num_layers=2, head_units=8), **config})


LAYER_TYPES = ["row_lstm", "diagonal_bilstm"]


def test_skew_and_unskew_are_inverse():
    x = tf.reshape(tf.range(1, 2 * 3 * 4 * 2 + 1, dtype=tf.float32), (2, 3, 4, 2))
    s = skew(x)
    assert s.shape == (2, 3, 6, 2)
    np.testing.assert_array_equal(s[0, :, :, 0], [[1, 3, 5, 7, 0, 0], [0, 9, 11, 13, 15, 0], [0, 0, 17, 19, 21, 23]])
    np.testing.assert_array_equal(unskew(s, 4), x)


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
@pytest.mark.parametrize("config, levels", [
    (dict(data_shape=(2, 2, 1)), 2),
    (dict(data_shape=(2, 2, 1), likelihood="categorical", num_levels=3), 3),
    (dict(data_shape=(1, 2, 3), filters=6, hidden_units=3, head_units=6), 2),
])
def test_log_prob_is_exactly_normalized(layer_type, config, levels):
    assert_normalized(small(layer_type=layer_type, **config), levels)


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_conditional_log_prob_is_normalized_for_every_class(layer_type):
    assert_normalized(small(data_shape=(2, 2, 1), layer_type=layer_type, num_classes=2), 2, labels=[0, 1])


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_receptive_field_is_causal(layer_type):
    jac = logit_jacobian(small(data_shape=(6, 6, 1), layer_type=layer_type))
    assert_causal(jac)
    jac = logit_jacobian(small(data_shape=(3, 3, 3), filters=6, hidden_units=3, head_units=6, layer_type=layer_type))
    assert_causal(jac)


def test_diagonal_bilstm_sees_the_whole_context():
    """One Diagonal BiLSTM layer already covers every pixel above and to the left."""
    model = small(data_shape=(6, 7, 1), layer_type="diagonal_bilstm", num_layers=1, first_kernel_size=3)
    jac = logit_jacobian(model)
    i, j = np.indices(jac.shape)
    missing = np.argwhere((j < i) & (jac == 0))
    assert len(missing) == 0, f"context missing at (output, input) sub-pixels {missing[:10].tolist()}"


def test_row_lstm_has_a_triangular_receptive_field():
    """Row LSTM sees a triangle above (widening by k//2 per row), not the whole context."""
    model = small(data_shape=(6, 9, 1), num_layers=1, first_kernel_size=3, kernel_size=3)
    jac = logit_jacobian(model)
    out = 5 * 9 + 4
    seen = {divmod(int(k), 9) for k in np.nonzero(jac[out])[0]}
    assert (4, 3) in seen and (0, 4) in seen and (5, 3) in seen
    assert (4, 7) not in seen and (4, 8) not in seen  # beyond the triangle above


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_samplers_match_the_naive_reference(layer_type):
    model = small(data_shape=(3, 4, 1), layer_type=layer_type)
    model.build_for_data()
    assert_samplers_agree(model, ["naive"] + [s for s in model.samplers if s != "naive"])


@pytest.mark.parametrize("config", [
    dict(data_shape=(7, 7, 1)),
    dict(data_shape=(4, 5, 3), filters=6, hidden_units=3, head_units=6, likelihood="categorical", num_levels=6),
    dict(data_shape=(5, 5, 1), num_classes=3),
])
def test_cached_row_sampler_equals_compiled_sampler(config):
    model = small(**config)
    model.build_for_data()
    labels = None if model.num_classes is None else np.array([2, 0, 1, 1])
    assert_samplers_agree(model, ["compiled", "cached"], n=4, labels=labels)


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_samples_follow_the_model_distribution(layer_type):
    model = small(data_shape=(2, 2, 1), layer_type=layer_type, num_layers=1)
    model.build_for_data()
    for w in model.weights:
        w.assign(w * 3.0)
    assert_sampling_matches_likelihood(model)


def test_diagonal_bilstm_has_no_cached_sampler():
    model = small(data_shape=(3, 3, 1), layer_type="diagonal_bilstm")
    assert model.default_sampler == "compiled"
    with pytest.raises(ValueError, match="sampler"):
        model.generate(1, seed=0, sampler="cached")


@pytest.mark.parametrize("kwargs, message", [
    (dict(layer_type="diagonal_lstm"), "layer_type"),
    (dict(hidden_units=0), "hidden_units"),
    (dict(data_shape=(8, 8, 3), filters=6, hidden_units=4), "hidden_units=4 must be divisible"),
    (dict(kernel_size=2), "odd"),
    (dict(num_layers=0), "num_layers"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PixelRNN(**kwargs)
