"""MarkovAR: the shared harness, exact checks, and the parameter-count ladder."""

import numpy as np
import pytest

from kzoo.models.autoregressive import FVSBN, NADE, MADE, IndependentBernoulli, MarkovAR, chain_rule_parameter_count
from test_case import GenerativeModelTestCase
from vector_ar_checks import binary_images, dependence, randomize, total_variation


class TestMarkovTable(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(order=3)
        config.update(overrides)
        return MarkovAR(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed=seed)


class TestMarkovLogistic(TestMarkovTable):
    def make_model(self, **overrides):
        return super().make_model(conditional="logistic", order=5, **overrides)


def test_parameter_counts_from_independence_to_the_full_chain_rule():
    """Binary 28 x 28 images: D = 784 parameters for independent pixels,
    D (D - 1) / 2 + D for FVSBN, a few thousand for AR(k), 2**D - 1 for the
    chain rule with tables."""
    dims = 784
    assert IndependentBernoulli().free_parameter_count() == dims
    assert FVSBN().free_parameter_count() == dims * (dims - 1) // 2 + dims == 307_720
    assert MarkovAR(order=1).free_parameter_count() == 1 + 783 * 2 == 1_567
    assert MarkovAR(order=3).free_parameter_count() == 7 + 781 * 8 == 6_255
    assert MarkovAR(order=8).free_parameter_count() == 255 + 776 * 256
    assert MarkovAR(order=8, conditional="logistic").free_parameter_count() == 7_020
    assert MarkovAR(order=3, homogeneous=True).free_parameter_count() == 8
    assert MarkovAR(order=3, conditional="logistic", homogeneous=True).free_parameter_count() == 4
    assert NADE(hidden_units=500).free_parameter_count() == 785_284
    made = MADE(hidden_units=(500,))
    made.build_for_data()
    assert made.free_parameter_count() < made.count_params()
    assert chain_rule_parameter_count(dims) == 2**dims - 1
    assert chain_rule_parameter_count(dims, dims - 1) == 2**dims - 1
    assert chain_rule_parameter_count(dims, 0) == dims
    # The logistic AR(D-1) model is FVSBN.
    assert MarkovAR(data_shape=(4, 4, 1), order=15, conditional="logistic").free_parameter_count() == \
        FVSBN(data_shape=(4, 4, 1)).free_parameter_count()
    # A tabular model sees all 2**D - 1 free probabilities once the order reaches D - 1.
    assert MarkovAR(data_shape=(2, 2, 1), order=3).free_parameter_count() == 2**4 - 1


@pytest.mark.parametrize("conditional", ["table", "logistic"])
@pytest.mark.parametrize("order", [1, 2])
def test_pixels_depend_on_exactly_the_previous_k(conditional, order):
    model = randomize(MarkovAR(data_shape=(2, 3, 1), order=order, conditional=conditional))
    dep = dependence(model, binary_images(16, shape=(2, 3, 1), seed=0, p=0.5))
    expected = np.zeros((6, 6), bool)
    for j in range(6):
        expected[j, j + 1 : j + 1 + order] = True
    np.testing.assert_array_equal(dep, expected)


@pytest.mark.parametrize("config", [
    dict(order=2), dict(order=1, conditional="logistic"), dict(order=2, homogeneous=True),
    dict(order=4, conditional="logistic", homogeneous=True),
])
def test_density_is_normalized_and_samples_follow_it(config):
    model = randomize(MarkovAR(data_shape=(1, 5, 1), **config), scale=2.0)
    assert total_variation(model, n=30_000, seed=4) < 0.035


def test_table_entries_are_the_conditional_logits():
    model = randomize(MarkovAR(data_shape=(1, 4, 1), order=1))
    table = np.asarray(model.table)
    x = np.array([0, 1, 1, 0], np.float32).reshape(1, 1, 4, 1)
    logits = np.asarray(model(x)).ravel()
    # Pixel 0 sees the padding (0); pixels 1..3 see x_0, x_1, x_2.
    np.testing.assert_allclose(logits, [table[0, 0], table[1, 0], table[2, 1], table[3, 1]], rtol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(order=0), "order"),
    (dict(data_shape=(2, 2, 1), order=4), "at most"),
    (dict(order=20), "lower the order"),
    (dict(conditional="mlp"), "conditional"),
    (dict(homogeneous="yes"), "homogeneous"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MarkovAR(**kwargs)
