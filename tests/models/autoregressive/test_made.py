"""MADE: the shared harness plus mask, ordering and ensemble checks."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core import presets
from kzoo.models.autoregressive import MADE
from kzoo.models.autoregressive.made import made_degrees
from test_case import GenerativeModelTestCase
from vector_ar_checks import assert_normalized, binary_images, dependence, randomize, total_variation


class TestMADE(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(hidden_units=(32,))
        config.update(overrides)
        return MADE(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed=seed)


class TestMADEMasksOrderingsDirect(TestMADE):
    generate_kwargs = {"num_orderings": 2}

    def make_model(self, **overrides):
        config = dict(hidden_units=(24, 16), num_masks=3, ordering="random", direct_connection=True, seed=5)
        config.update(overrides)
        return MADE(**config)


class TestMADECategorical(TestMADE):
    def make_model(self, **overrides):
        return super().make_model(likelihood="categorical", hidden_units=(16,), **overrides)

    def make_batch(self, seed=0):
        rng = np.random.default_rng(seed)
        return (rng.integers(0, 256, (self.batch_size, 28, 28, 1)) / 255.0).astype(np.float32)


def small(**overrides):
    config = dict(data_shape=(2, 3, 1), hidden_units=(12, 10), num_masks=3, ordering="random", seed=1)
    config.update(overrides)
    return randomize(MADE(**config), scale=1.0)


@pytest.mark.parametrize("ordering", ["natural", "random"])
@pytest.mark.parametrize("direct", [False, True])
def test_each_mask_is_autoregressive_in_its_ordering(ordering, direct):
    model = small(ordering=ordering, direct_connection=direct)
    x = binary_images(16, shape=(2, 3, 1), seed=2, p=0.5)
    degrees = model.input_degrees()
    for index in range(model.num_masks):
        dep = dependence(model, x, mask_index=index)
        allowed = degrees[index][:, None] < degrees[index][None, :]
        assert not np.any(dep & ~allowed), f"mask {index} lets a pixel see a later one"
        if direct:  # the direct connection alone links every earlier pixel to every later one
            np.testing.assert_array_equal(dep, allowed)
    if ordering == "natural":
        np.testing.assert_array_equal(model.orderings(), np.tile(np.arange(6), (3, 1)))
    else:
        assert len({tuple(o) for o in model.orderings()}) > 1


def test_degrees_follow_the_paper_and_the_seed():
    inputs, hidden = made_degrees(10, (20, 15), ordering="random", num_masks=4, seed=3)
    for index in range(4):
        assert sorted(inputs[index]) == list(range(1, 11))
        assert hidden[0][index].min() >= 1 and hidden[0][index].max() <= 9
        assert hidden[1][index].min() >= hidden[0][index].min() and hidden[1][index].max() <= 9
    again = made_degrees(10, (20, 15), ordering="random", num_masks=4, seed=3)
    np.testing.assert_array_equal(inputs, again[0])
    other = made_degrees(10, (20, 15), ordering="random", num_masks=4, seed=4)
    assert not np.array_equal(inputs, other[0])


def test_masks_survive_saving_and_are_rebuilt_from_the_seed(tmp_path):
    model = small()
    model.build_for_data()
    folder = presets.save_preset(model, tmp_path / "made")
    loaded = presets.load_preset(folder)
    np.testing.assert_array_equal(loaded.orderings(), model.orderings())
    for a, b in zip(model.hidden_layers + [model.output_layer], loaded.hidden_layers + [loaded.output_layer]):
        np.testing.assert_array_equal(np.asarray(a.output_degrees), np.asarray(b.output_degrees))
    x = binary_images(4, shape=(2, 3, 1), seed=0)
    np.testing.assert_allclose(loaded.log_prob(x), model.log_prob(x), rtol=1e-6)
    # The masks are stored weights too: a same-config model built from the seed has them as well.
    fresh = MADE.from_config(model.get_config())
    np.testing.assert_array_equal(fresh.orderings(), model.orderings())


@pytest.mark.parametrize("direct", [False, True])
def test_every_mask_and_the_ensemble_are_normalized(direct):
    model = small(direct_connection=direct)
    for index in range(model.num_masks):
        assert_normalized(model, mask_index=index)
    assert_normalized(model)
    assert_normalized(model, num_orderings=2)


def test_ensemble_is_the_log_mean_exp_of_the_masks():
    model = small()
    x = binary_images(5, shape=(2, 3, 1), seed=7, p=0.5)
    per_mask = np.stack([model.log_prob(x, mask_index=s) for s in range(3)]).astype(np.float64)
    expected = np.log(np.exp(per_mask).mean(axis=0))
    np.testing.assert_allclose(model.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(model.log_prob(x, num_orderings=3), expected, rtol=1e-5)
    np.testing.assert_allclose(model.log_prob(x, num_orderings=1), per_mask[0], rtol=1e-6)
    assert not np.allclose(per_mask[0], per_mask[1])


def test_samples_follow_one_mask_and_the_ensemble():
    model = small(data_shape=(1, 4, 1), hidden_units=(10,), num_masks=2)
    assert total_variation(model, n=20_000, seed=1, mask_index=1, log_prob_kwargs={"mask_index": 1}) < 0.03
    assert total_variation(model, n=20_000, seed=2) < 0.03


def test_categorical_made_is_normalized_and_samples_follow_it():
    model = MADE(data_shape=(1, 3, 1), hidden_units=(8,), likelihood="categorical", num_levels=3,
                 ordering="random", num_masks=2, seed=2)
    randomize(model, scale=1.0)
    assert total_variation(model, n=20_000, seed=3, levels=3) < 0.03


def test_training_cycles_through_the_masks_by_step():
    model = small()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.optimizer.build(model.trainable_variables)
    x = tf.constant(binary_images(6, shape=(2, 3, 1), seed=3, p=0.5))
    for step in (0, 1, 2, 5):
        model.optimizer.iterations.assign(step)
        loss = float(model.compute_losses(x, training=True)["loss"])
        expected = -float(np.mean(model.log_prob(x.numpy(), mask_index=step % 3)))
        assert loss == pytest.approx(expected, rel=1e-5), step
    ensemble = -float(np.mean(model.log_prob(x.numpy())))
    assert float(model.compute_losses(x, training=False)["loss"]) == pytest.approx(ensemble, rel=1e-5)


def test_model_without_hidden_layers_is_a_masked_fvsbn():
    model = small(hidden_units=(), num_masks=1, ordering="natural")
    assert_normalized(model)
    dep = dependence(model, binary_images(4, shape=(2, 3, 1), seed=1, p=0.5))
    np.testing.assert_array_equal(dep, np.triu(np.ones((6, 6), bool), k=1))
    assert model.free_parameter_count() == 15 + 6


def test_free_parameters_exclude_masked_weights():
    """D = 4, one hidden layer of 3 units with degrees h_k: the input layer keeps
    sum_k h_k weights and the output layer sum_k (4 - h_k), so 12 weights plus
    3 + 4 biases remain whatever the degrees are."""
    for seed in range(3):
        model = MADE(data_shape=(1, 4, 1), hidden_units=(3,), seed=seed)
        model.build_for_data()
        assert model.free_parameter_count() == 12 + 7
        assert model.count_params() == 4 * 3 + 3 + 3 * 4 + 4 + (4 + 3) + (3 + 4)  # + the int32 degrees


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_orderings=4), "num_orderings"),
    (dict(num_orderings=0), "num_orderings"),
    (dict(mask_index=3), "mask_index"),
    (dict(mask_index=0, num_orderings=2), "either"),
])
def test_bad_ensemble_options_are_rejected(kwargs, message):
    model = small()
    x = binary_images(2, shape=(2, 3, 1))
    with pytest.raises(ValueError, match=message):
        model.log_prob(x, **kwargs)
    with pytest.raises(ValueError, match=message):
        model.generate(2, seed=0, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(hidden_units=(0,)), "hidden_units"),
    (dict(hidden_units="wide"), "hidden_units"),
    (dict(ordering="reverse"), "ordering"),
    (dict(num_masks=0), "num_masks"),
    (dict(seed=-1), "seed"),
    (dict(activation="softmax"), "activation"),
    (dict(direct_connection="yes"), "direct_connection"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MADE(**kwargs)
