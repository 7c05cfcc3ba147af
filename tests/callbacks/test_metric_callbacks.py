import glob
import os

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.callbacks import (FIDCallback, FrechetDistance, InceptionScoreCallback, KIDCallback,
                            PrecisionRecallCallback, SampleQualityCallback)
from kzoo.core.base import GenerativeModel
from kzoo.metrics import fid_from_features
from kzoo.evaluation.features import KerasModelFeatureExtractor


class ShiftModel(GenerativeModel):
    """Learns a brightness offset: samples are noise in [0, 0.2] plus a trained offset."""

    def __init__(self, **kwargs):
        super().__init__(data_shape=(12, 12, 1), **kwargs)
        self.offset = self.add_weight(shape=(), initializer="zeros", name="offset")

    def call(self, x, training=False):
        return x + self.offset

    def compute_losses(self, x, y=None, training=False):
        return {"loss": tf.square(tf.reduce_mean(x) - 0.1 - self.offset)}

    def sample_batch(self, n, seed, **kwargs):
        noise = 0.2 * tf.random.stateless_uniform((n,) + self.data_shape, seed)
        return tf.clip_by_value(noise + self.offset, 0.0, 1.0)


def extractor():
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    features = keras.layers.Dense(6, name="features")(x)
    logits = keras.layers.Dense(3, name="logits")(features)
    return KerasModelFeatureExtractor(keras.Model(inputs, logits, name="probe"), layer="features",
                                      head="logits")


def real_images(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(0.4 + 0.2 * rng.uniform(size=(n, 12, 12, 1)), 0, 1).astype(np.float32)


def fitted(callbacks, epochs):
    model = ShiftModel()
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    history = model.fit(real_images(), epochs=epochs, batch_size=32, callbacks=callbacks, verbose=0)
    return model, history


def test_fid_goes_into_history_on_due_epochs_and_after_the_last():
    callback = FIDCallback(real_images(), every=2, n_samples=40, extractor=extractor())
    _, history = fitted([callback], epochs=5)
    assert callback.epochs == [1, 3, 4]
    assert len(history.history["fid"]) == 3 and history.history["fid"] == callback.history["fid"]
    assert all(np.isfinite(history.history["fid"]))
    # The model moves its offset towards the data, so FID falls.
    assert history.history["fid"][-1] < history.history["fid"][0]


def test_several_metrics_with_prefix_and_tensorboard(tmp_path):
    quality = SampleQualityCallback(real_images(), metrics=("fid", "kid", "precision", "recall"), every=1,
                                    n_samples=40, extractor=extractor(), prefix="val_", kid_subsets=3)
    board = keras.callbacks.TensorBoard(str(tmp_path / "tb"))
    _, history = fitted([quality, board], epochs=2)
    for key in ("val_fid", "val_kid", "val_kid_std", "val_precision", "val_recall"):
        assert len(history.history[key]) == 2, key
    tags = set()
    for path in glob.glob(str(tmp_path / "tb" / "validation" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert {"epoch_fid", "epoch_kid", "epoch_precision", "epoch_recall"} <= tags


def test_own_summary_writer(tmp_path):
    callback = KIDCallback(real_images(), every=1, n_samples=40, extractor=extractor(), log_dir=tmp_path,
                           kid_subsets=2)
    fitted([callback], epochs=1)
    files = glob.glob(os.path.join(tmp_path, "validation", "events.*"))
    assert files
    tags = {value.tag for path in files for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value}
    assert tags == {"epoch_kid", "epoch_kid_std"}


def test_inception_score_needs_no_reference_and_precision_recall_keys():
    score = InceptionScoreCallback(every=1, n_samples=30, extractor=extractor())
    pr = PrecisionRecallCallback(real_images(), every=1, n_samples=30, extractor=extractor())
    _, history = fitted([score, pr], epochs=1)
    assert 1.0 <= history.history["inception_score"][0] <= 3.0
    assert {"inception_score_std", "precision", "recall"} <= set(history.history)


def test_callback_argument_errors():
    with pytest.raises(ValueError, match="pass reference_images"):
        SampleQualityCallback(None, metrics=("fid",))
    with pytest.raises(ValueError, match="Unknown metric 'ssim'"):
        SampleQualityCallback(real_images(), metrics=("ssim",))
    with pytest.raises(ValueError, match="every must be a positive integer, got 0"):
        FIDCallback(real_images(), every=0)
    with pytest.raises(ValueError, match="run must be"):
        FIDCallback(real_images(), run="test")
    with pytest.raises(ValueError, match=r"Unknown options \['k'\]"):
        FIDCallback(real_images(), k=3)


# ---------------------------------------------------------- FrechetDistance
def test_frechet_distance_metric_streams_like_the_numpy_version():
    rng = np.random.default_rng(0)
    real = 3.0 + rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    fake = rng.normal(size=(150, 5))
    metric = FrechetDistance(dim=5)
    assert float(metric.result()) == 0.0
    update = tf.function(metric.update_state)
    for start in range(0, 200, 64):
        update(real[start : start + 64], fake[start : start + 64])
    # Two eigendecomposition paths agree to ~1e-8 relative across CPUs.
    assert float(metric.result()) == pytest.approx(fid_from_features(real, fake), rel=1e-7)
    metric.reset_state()
    metric.update_state(real, real)
    assert abs(float(metric.result())) < 1e-6
    config = metric.get_config()
    assert FrechetDistance.from_config(config).dim == 5
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        FrechetDistance(dim=0)
