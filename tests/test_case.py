"""The shared test harness every kzoo model passes.

Subclass :class:`GenerativeModelTestCase` in a ``test_*.py`` file with a name
starting with ``Test`` and provide :meth:`make_model` (a small config) and
:meth:`make_batch`. The harness checks:

* config round trip (``get_config`` -> ``from_config`` and Keras serialization);
* one ``fit`` step changes trainable weights (of both networks of an
  adversarial model) and reports finite tracked losses;
* ``generate``: shape, dtype, range for images, seed determinism (for a
  translation model, ``translates = True``: outputs that depend on the source
  images and not on a seed, and a clear error without a source);
* ``.keras`` save/load and preset save/load give identical outputs, and the
  optimizer state (both optimizers of adversarial models) is restored; the
  preset check runs on randomized weights (many models start with zero output
  layers, whose outputs would match whatever was loaded) and checks that the
  outputs depend on the weights;
* ``mixed_float16`` and ``mixed_bfloat16`` steps are finite, and the
  ``mixed_float16`` SGD update matches the float32 one in norm and direction
  (loss scaling undone);
* a 2-replica ``MirroredStrategy`` step equals the single-device step;
* bad input (wrong shape, NaN) gets a clear error of the expected type.
"""

import json

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.models.gan.base import AdversarialModel
from kzoo.core import presets
from kzoo.core.distribute import make_strategy
from kzoo.core.precision import precision_scope


def compile_model(model, optimizer_factory=lambda: keras.optimizers.Adam(1e-3)):
    """Compiles any kzoo model, giving adversarial models two optimizers."""
    if isinstance(model, AdversarialModel):
        model.compile(d_optimizer=optimizer_factory(), g_optimizer=optimizer_factory())
    else:
        model.compile(optimizer=optimizer_factory())
    return model


def optimizers_of(model):
    """The optimizers of a compiled model, by attribute name."""
    if isinstance(model, AdversarialModel):
        return {"d_optimizer": model.d_optimizer, "g_optimizer": model.g_optimizer}
    return {"optimizer": model.optimizer}


def weights_of(model):
    return [np.array(v) for v in model.weights]


def randomize_trainable_weights(model, seed=0, scale=0.05):
    """Adds Gaussian noise to every trainable float weight, so outputs depend on all of them."""
    rng = np.random.default_rng(seed)
    for variable in model.trainable_variables:
        value = np.array(variable)
        if np.issubdtype(value.dtype, np.floating):
            variable.assign(value + scale * rng.standard_normal(value.shape).astype(value.dtype))


def trainable_networks(model):
    """The separately optimized parts of a model: both networks of an adversarial model, else the model."""
    if isinstance(model, AdversarialModel):
        return {"discriminator": model.discriminator, "generator": model.generator}
    return {"model": model}


class GenerativeModelTestCase:
    """Base of every model's test class (not collected itself)."""

    batch_size = 8
    #: keyword arguments of ``model.call`` used to compare outputs.
    call_kwargs = {}
    #: keyword arguments of ``generate`` for the harness checks.
    generate_kwargs = {}
    #: tolerance of the mirrored-vs-single comparison.
    mirrored_atol = 1e-5
    #: True for image-to-image models: ``generate`` translates ``generate_kwargs["source"]``.
    translates = False

    def make_model(self, **overrides):
        raise NotImplementedError

    def make_batch(self, seed=0):
        """Returns a training batch (x, or (x, y)) as numpy arrays."""
        raise NotImplementedError

    # ------------------------------------------------------------ helpers
    def inputs(self, batch):
        return batch[0] if isinstance(batch, tuple) else batch

    def outputs(self, model, batch):
        """Deterministic outputs used to compare two models."""
        return np.asarray(model(self.inputs(batch), training=False, **self.call_kwargs))

    def built(self, **overrides):
        model = self.make_model(**overrides)
        model.build_for_data()
        return model

    def fit_one_step(self, model, batch):
        data = tf.data.Dataset.from_tensors(batch)
        return model.fit(data, epochs=1, verbose=0, shuffle=False).history

    # -------------------------------------------------------------- tests
    def test_config_round_trip(self):
        model = self.make_model()
        config = model.get_config()
        json.dumps(config)
        clone = type(model).from_config(config)
        assert clone.get_config() == config
        serialized = keras.saving.serialize_keras_object(model)
        restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)), safe_mode=True)
        assert type(restored) is type(model)
        assert restored.get_config() == config

    def test_fit_step_changes_weights_and_reports_losses(self):
        model = compile_model(self.built())
        networks = trainable_networks(model)
        before = {name: [np.array(v) for v in net.trainable_variables] for name, net in networks.items()}
        history = self.fit_one_step(model, self.make_batch())
        for name in model.loss_names:
            assert name in history, f"{name} missing from fit logs {sorted(history)}"
            assert np.isfinite(history[name][0]), f"{name} is {history[name][0]}"
        for name, net in networks.items():
            after = [np.array(v) for v in net.trainable_variables]
            assert after, f"{name} has no trainable variables"
            changed = [not np.array_equal(a, b) for a, b in zip(before[name], after)]
            assert any(changed), f"one fit step changed no trainable weight of the {name}"
        assert all(np.all(np.isfinite(w)) for w in weights_of(model))

    def test_generate_shape_range_and_seed(self):
        model = self.built()
        samples = model.generate(5, seed=3, batch_size=3, **self.generate_kwargs)
        assert samples.dtype == np.float32
        assert samples.shape == (5,) + tuple(model.data_shape)
        assert np.all(np.isfinite(samples))
        if len(model.data_shape) == 3:
            assert samples.min() >= 0.0 and samples.max() <= 1.0
        again = model.generate(5, seed=3, batch_size=3, **self.generate_kwargs)
        np.testing.assert_array_equal(samples, again)
        if self.translates:
            source = np.asarray(self.generate_kwargs["source"])
            np.testing.assert_array_equal(model.generate(5, seed=4, batch_size=3, source=source), samples)
            other = model.generate(5, seed=3, batch_size=3, source=source[::-1].copy())
            assert not np.array_equal(samples, other), "the translations do not depend on the source images"
            with pytest.raises(ValueError, match="translates"):
                model.generate(5)
        else:
            other = model.generate(5, seed=4, batch_size=3, **self.generate_kwargs)
            assert not np.array_equal(samples, other)
        with pytest.raises(ValueError, match="n must be a positive integer"):
            model.generate(0)

    def test_keras_save_load_restores_outputs_and_optimizers(self, tmp_path):
        model = compile_model(self.built())
        batch = self.make_batch()
        self.fit_one_step(model, batch)
        path = tmp_path / "model.keras"
        model.save(path)
        restored = keras.saving.load_model(path)
        np.testing.assert_allclose(self.outputs(restored, batch), self.outputs(model, batch), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(
            restored.generate(4, seed=7, **self.generate_kwargs), model.generate(4, seed=7, **self.generate_kwargs)
        )
        for name, optimizer in optimizers_of(model).items():
            other = getattr(restored, name)
            assert other is not None, f"{name} was not restored"
            assert int(other.iterations) == int(optimizer.iterations) >= 1
            assert len(other.variables) == len(optimizer.variables)
            for a, b in zip(optimizer.variables, other.variables):
                np.testing.assert_array_equal(np.array(a), np.array(b))
        # Training resumes from the restored state.
        self.fit_one_step(restored, batch)
        for name, optimizer in optimizers_of(model).items():
            assert int(getattr(restored, name).iterations) == 2 * int(optimizer.iterations)

    def test_preset_round_trip_and_checksum(self, tmp_path):
        model = self.built()
        batch = self.make_batch()
        initial = self.outputs(model, batch)
        randomize_trainable_weights(model)
        expected = self.outputs(model, batch)
        assert not np.allclose(expected, initial), "outputs do not depend on the trainable weights"
        folder = presets.save_preset(model, tmp_path / "entry", card={"dataset": "unit-test"})
        loaded = presets.load_preset(folder)
        np.testing.assert_array_equal(self.outputs(loaded, batch), expected)
        np.testing.assert_array_equal(loaded.generate(3, seed=5, **self.generate_kwargs),
                                      model.generate(3, seed=5, **self.generate_kwargs))
        assert loaded.card["model"] == model.registered_name
        weights_file = folder / "model.weights.h5"
        raw = bytearray(weights_file.read_bytes())
        middle = len(raw) // 2
        raw[middle : middle + 16] = bytes(b ^ 0xFF for b in raw[middle : middle + 16])
        weights_file.write_bytes(bytes(raw))
        with pytest.raises(presets.ChecksumError, match="sha256"):
            presets.load_preset(folder)

    @pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
    def test_mixed_precision_step_is_finite(self, precision):
        with precision_scope(precision):
            model = compile_model(self.built())
            history = self.fit_one_step(model, self.make_batch())
        for name in model.loss_names:
            assert np.isfinite(history[name][0]), f"{precision}: {name} = {history[name][0]}"
        assert all(np.all(np.isfinite(w)) for w in weights_of(model))
        if precision == "mixed_float16":
            for optimizer in optimizers_of(model).values():
                assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def test_mixed_float16_update_matches_float32_update(self):
        """Loss scaling must be undone: the SGD step equals the float32 one.

        The loss scale starts at 128 (not the default 2**15, whose first
        steps overflow and are skipped by design), so a step that forgot
        ``scale_loss`` would move the weights 128 times too little.
        """
        batch = self.make_batch()
        reference = self.built()
        start = weights_of(reference)
        compile_model(reference, lambda: keras.optimizers.SGD(0.01))
        self.fit_one_step(reference, batch)
        with precision_scope("mixed_float16"):
            model = self.built()
            model.set_weights(start)
            compile_model(model, lambda: keras.optimizers.LossScaleOptimizer(
                keras.optimizers.SGD(0.01), initial_scale=128.0))
            self.fit_one_step(model, batch)
        deltas32 = np.concatenate([(a - s).ravel() for a, s in zip(weights_of(reference), start)])
        deltas16 = np.concatenate([(a - s).ravel() for a, s in zip(weights_of(model), start)])
        norm32 = np.linalg.norm(deltas32)
        assert norm32 > 0, "the float32 SGD step changed no weight"
        ratio = np.linalg.norm(deltas16) / norm32
        assert 0.8 < ratio < 1.25, f"mixed_float16 update norm is {ratio:.3g}x the float32 update"
        cosine = float(deltas16 @ deltas32) / (np.linalg.norm(deltas16) * norm32)
        assert cosine > 0.99, f"mixed_float16 update points elsewhere than the float32 one (cosine {cosine:.4f})"

    def test_mirrored_step_equals_single_device_step(self):
        batch = self.make_batch()
        single = self.built()
        start = weights_of(single)
        compile_model(single, lambda: keras.optimizers.SGD(0.01))
        self.fit_one_step(single, batch)
        strategy = make_strategy("mirrored", num_replicas=2)
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            mirrored = self.built()
            mirrored.set_weights(start)
            compile_model(mirrored, lambda: keras.optimizers.SGD(0.01))
        self.fit_one_step(mirrored, batch)
        assert len(mirrored.weights) == len(single.weights), (
            f"the mirrored model has {len(mirrored.weights)} weights, the single-device one {len(single.weights)}")
        for a, b, variable in zip(weights_of(single), weights_of(mirrored), single.weights):
            np.testing.assert_allclose(b, a, atol=self.mirrored_atol, rtol=1e-4, err_msg=variable.path)

    def test_bad_input_is_rejected_clearly(self):
        model = compile_model(self.built())
        batch = self.make_batch()
        x = self.inputs(batch)
        wrong = np.zeros((2,) + tuple(d + 1 for d in model.data_shape), np.float32)
        with pytest.raises(ValueError, match="shape"):
            model.fit(wrong, epochs=1, verbose=0)
        bad = np.array(x, copy=True)
        bad.reshape(-1)[0] = np.nan
        bad_batch = (bad,) + tuple(batch[1:]) if isinstance(batch, tuple) else bad
        with pytest.raises(tf.errors.InvalidArgumentError, match="NaN"):
            self.fit_one_step(model, bad_batch)
        with pytest.raises(ValueError, match="empty"):
            model.fit(tf.data.Dataset.from_tensor_slices(x).take(0).batch(2), epochs=1, verbose=0)
