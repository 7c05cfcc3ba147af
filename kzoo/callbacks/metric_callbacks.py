"""Sample-quality metrics during ``fit``: FID, KID, Inception Score, precision/recall.

:class:`SampleQualityCallback` draws samples from the model every ``every``
epochs (and after the last one), scores them with
:func:`kzoo.evaluation.sample_quality.sample_quality` against reference images
whose features are computed once at the start of training, and puts the
values into the epoch ``logs``. Callbacks placed after it in the
``callbacks`` list (``keras.callbacks.TensorBoard``, ``CSVLogger``,
``EarlyStopping(monitor="fid", mode="min")``) and the returned ``History``
see them. With ``log_dir`` it also writes them itself with
``tf.summary.scalar``. :class:`FIDCallback`, :class:`KIDCallback`,
:class:`InceptionScoreCallback` and :class:`PrecisionRecallCallback` are the
same callback with one metric preselected.

:class:`FrechetDistance` is a ``keras.metrics.Metric`` that accumulates real
and generated feature statistics in graph mode (``update_state(real_features,
fake_features)``), for models that compute features inside ``test_step``.

The default extractor is kzoo's MNIST classifier: its values are comparable
with each other only, not with Inception-based numbers.
"""

import os

import tensorflow as tf
import keras

from kzoo.core.validation import check_positive_int
from kzoo.evaluation.sample_quality import (METRIC_KEYS, REFERENCE_METRICS, ReferenceFeatures, check_metrics,
                                         reference_features)


class SampleQualityCallback(keras.callbacks.Callback):
    """Computes sample-quality metrics at the end of every ``every`` epochs.

    Values enter ``logs`` under ``prefix + key`` (keys: ``fid``; ``kid`` and
    ``kid_std``; ``inception_score`` and ``inception_score_std``;
    ``precision``; ``recall``), only on the epochs they are computed (so the
    ``History`` lists hold one value per evaluated epoch; the epochs are in
    :attr:`epochs`, all values in :attr:`history`). Use ``prefix="val_"`` to
    have ``keras.callbacks.TensorBoard`` file them under its validation run.

    The same ``seed`` is used at every evaluation, so successive values
    differ only through the model.

    Args:
        reference_images: real images ``(N, H, W, C)`` in ``[0, 1]``
            (typically the validation split), or
            :class:`~kzoo.evaluation.sample_quality.ReferenceFeatures`; may be
            ``None`` when the only metric is ``"inception_score"``.
        metrics: names among ``"fid"``, ``"kid"``, ``"inception_score"``,
            ``"precision"``, ``"recall"``.
        every: evaluate every ``every`` epochs (and after the last epoch).
        n_samples: generated samples per evaluation.
        extractor: feature extractor or its name (``"mnist"``,
            ``"inception_v3"``), or a ``keras.Model``; built at train begin.
        log_dir: optional TensorBoard folder: values are also written with
            ``tf.summary.scalar`` to ``log_dir/<run>`` as ``epoch_<key>``.
            Leave it ``None`` when a ``keras.callbacks.TensorBoard`` placed
            after this callback logs them already.
        run: the sub-folder of ``log_dir`` (``"validation"`` or ``"train"``).
        prefix: prepended to the keys in ``logs``.
        seed: sampling seed.
        batch_size: samples generated and featurized per step.
        sample_kwargs: extra keyword arguments for ``model.generate``.
        verbose: print the values after each evaluation.
        **metric_kwargs: passed to ``sample_quality`` (``kid_subsets``,
            ``kid_subset_size``, ``pr_k``, ``is_splits``).

    Raises:
        ValueError: unknown metrics, bad ``every``/``n_samples``, a ``run``
            that is neither ``"validation"`` nor ``"train"``, or missing
            reference images for a metric that needs them.
    """

    def __init__(self, reference_images=None, metrics=("fid",), every=5, n_samples=1000, extractor="mnist",
                 log_dir=None, run="validation", prefix="", seed=0, batch_size=250, sample_kwargs=None,
                 verbose=0, **metric_kwargs):
        super().__init__()
        self.metric_names = check_metrics(metrics)
        self.every = check_positive_int(every, "every")
        self.n_samples = check_positive_int(n_samples, "n_samples")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if run not in ("validation", "train"):
            raise ValueError(f"run must be 'validation' or 'train', got {run!r}.")
        needs = [m for m in self.metric_names if m in REFERENCE_METRICS]
        if needs and reference_images is None:
            raise ValueError(f"metrics {needs} compare with real images; pass reference_images.")
        unknown = set(metric_kwargs) - {"kid_subsets", "kid_subset_size", "pr_k", "is_splits"}
        if unknown:
            raise ValueError(f"Unknown options {sorted(unknown)}; expected kid_subsets, kid_subset_size, pr_k "
                             "or is_splits.")
        self.reference_images = reference_images
        self.extractor = extractor
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.run = run
        self.prefix = str(prefix)
        self.seed = seed
        self.sample_kwargs = dict(sample_kwargs or {})
        self.verbose = verbose
        self.metric_kwargs = metric_kwargs
        self.keys = tuple(key for name in self.metric_names for key in METRIC_KEYS[name])
        self.epochs = []
        self.history = {self.prefix + key: [] for key in self.keys}
        self._reference = None
        self._writer = None

    def _prepare(self):
        from kzoo.evaluation.features import get_feature_extractor

        self.extractor = get_feature_extractor(self.extractor)
        if self._reference is None and self.reference_images is not None and any(
                m in REFERENCE_METRICS for m in self.metric_names):
            self._reference = (self.reference_images if isinstance(self.reference_images, ReferenceFeatures)
                               else reference_features(self.reference_images, self.extractor))

    def on_train_begin(self, logs=None):
        self._prepare()

    def evaluate(self, epoch=None):
        """Scores the current model now; returns the dict of ``prefix + key`` values."""
        from kzoo.evaluation.sample_quality import sample_quality

        self._prepare()
        result = sample_quality(
            self.model, self._reference, n_samples=self.n_samples, extractor=self.extractor,
            metrics=self.metric_names, seed=self.seed, batch_size=self.batch_size,
            sample_kwargs=self.sample_kwargs, verbose=False, **self.metric_kwargs)
        values = {self.prefix + key: float(result[key]) for key in self.keys}
        if epoch is not None:
            self.epochs.append(int(epoch))
            for key, value in values.items():
                self.history[key].append(value)
        return values

    def _due(self, epoch):
        last = self.params.get("epochs") if self.params else None
        return (epoch + 1) % self.every == 0 or (last is not None and epoch + 1 == last)

    def on_epoch_end(self, epoch, logs=None):
        if not self._due(epoch):
            return
        values = self.evaluate(epoch)
        if logs is not None:
            logs.update(values)
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.run))
            with self._writer.as_default():
                for key, value in values.items():
                    tf.summary.scalar(f"epoch_{key[len(self.prefix):]}", value, step=epoch)
            self._writer.flush()
        if self.verbose:
            text = " - ".join(f"{key}: {value:.4g}" for key, value in values.items())
            print(f"\nEpoch {epoch + 1}: {text} ({self.extractor.name} features, {self.n_samples} samples)")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class FIDCallback(SampleQualityCallback):
    """Logs ``fid`` every ``every`` epochs (see :class:`SampleQualityCallback`)."""

    def __init__(self, reference_images, every=5, n_samples=1000, extractor="mnist", log_dir=None, **kwargs):
        super().__init__(reference_images, metrics=("fid",), every=every, n_samples=n_samples,
                         extractor=extractor, log_dir=log_dir, **kwargs)


class KIDCallback(SampleQualityCallback):
    """Logs ``kid`` and ``kid_std`` every ``every`` epochs (see :class:`SampleQualityCallback`)."""

    def __init__(self, reference_images, every=5, n_samples=1000, extractor="mnist", log_dir=None, **kwargs):
        super().__init__(reference_images, metrics=("kid",), every=every, n_samples=n_samples,
                         extractor=extractor, log_dir=log_dir, **kwargs)


class InceptionScoreCallback(SampleQualityCallback):
    """Logs ``inception_score`` and its std every ``every`` epochs; needs no real images."""

    def __init__(self, every=5, n_samples=1000, extractor="mnist", log_dir=None, **kwargs):
        super().__init__(None, metrics=("inception_score",), every=every, n_samples=n_samples,
                         extractor=extractor, log_dir=log_dir, **kwargs)


class PrecisionRecallCallback(SampleQualityCallback):
    """Logs k-NN ``precision`` and ``recall`` every ``every`` epochs (see :class:`SampleQualityCallback`)."""

    def __init__(self, reference_images, every=5, n_samples=1000, extractor="mnist", log_dir=None, **kwargs):
        super().__init__(reference_images, metrics=("precision", "recall"), every=every, n_samples=n_samples,
                         extractor=extractor, log_dir=log_dir, **kwargs)


class StageEndFID(SampleQualityCallback):
    """FID at the end of every resolution stage of a progressively grown model (e.g. :class:`kzoo.models.gan.ProGAN`).

    After each epoch, every integer level whose stable phase ended during
    that epoch (``model.stage_end_images(level)`` images passed) is scored
    at that level (``generate(..., level=k)``) against the reference images
    shown at the same resolution (``model.images_at_level``, as the paper
    compares each stage with real images of its resolution) and logged as
    ``<prefix>fid_<R>x<R>`` (``R`` the level's resolution); the final level,
    whose stable phase lasts until training stops, is scored when training
    ends and recorded in :attr:`stage_fids` (the epoch logs are closed by
    then). :attr:`stage_fids` maps every scored resolution to its FID.

    Args:
        reference_images: real images in [0, 1] (the validation split).
        n_samples: samples per evaluation.
        **kwargs: as :class:`SampleQualityCallback` (``extractor``,
            ``log_dir``, ``prefix``, ``seed``, ``batch_size``, ``verbose``).
    """

    def __init__(self, reference_images, n_samples=1000, **kwargs):
        super().__init__(reference_images, metrics=("fid",), every=1, n_samples=n_samples, **kwargs)
        self.stage_fids = {}
        self._seen = None

    def get_backup_state(self, folder):
        """The FIDs scored so far, for :class:`kzoo.callbacks.resume.TrainingBackup` (a resumed run keeps them)."""
        del folder
        return {"stage_fids": dict(self.stage_fids)}

    def set_backup_state(self, state, folder):
        del folder
        self.stage_fids = {str(k): float(v) for k, v in state.get("stage_fids", {}).items()}

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._seen = float(self.model.images_seen)

    def _score(self, level):
        from kzoo.evaluation.sample_quality import reference_features

        resolution = 4 * 2 ** int(level)
        self.sample_kwargs["level"] = float(level)
        self._prepare()
        self._reference = reference_features(self.model.images_at_level(self.reference_images, level),
                                             self.extractor)
        fid = self.evaluate()[self.prefix + "fid"]
        self.stage_fids[f"{resolution}x{resolution}"] = fid
        if self.verbose:
            print(f"\nFID at the end of the {resolution}x{resolution} stage: {fid:.2f} ({self.n_samples} samples)")
        return f"{self.prefix}fid_{resolution}x{resolution}", fid

    def on_epoch_end(self, epoch, logs=None):
        seen = float(self.model.images_seen)
        for level in range(self.model.num_levels - 1):
            end = self.model.stage_end_images(level)
            if self._seen < end <= seen:
                key, fid = self._score(level)
                if logs is not None:
                    logs[key] = fid
        self._seen = seen

    def on_train_end(self, logs=None):
        final = float(self.model.level)
        if final == int(final) and f"{4 * 2 ** int(final)}x{4 * 2 ** int(final)}" not in self.stage_fids:
            self._score(int(final))
        super().on_train_end(logs)


def _trace_sqrt_product(sigma1, sigma2):
    """``tr((S1^{1/2} S2 S1^{1/2})^{1/2})`` in float64 with eigendecompositions (PSD-safe)."""
    eigvals, eigvecs = tf.linalg.eigh(0.5 * (sigma1 + tf.transpose(sigma1)))
    half = eigvecs * tf.sqrt(tf.maximum(eigvals, 0.0))[None, :]
    middle = tf.transpose(half) @ (0.5 * (sigma2 + tf.transpose(sigma2))) @ half
    roots = tf.sqrt(tf.maximum(tf.linalg.eigvalsh(0.5 * (middle + tf.transpose(middle))), 0.0))
    return tf.reduce_sum(roots)


@keras.saving.register_keras_serializable(package="kzoo", name="FrechetDistance")
class FrechetDistance(keras.metrics.Metric):
    """Streaming Frechet distance (FID) between real and generated features.

    Keeps count, mean and sum of squared deviations of each side in float64
    variables and merges each batch with the parallel update of Chan et al.,
    exactly as :class:`kzoo.metrics.fid.FeatureStatistics` does in numpy, so
    it can run inside ``test_step`` (graph mode). :meth:`result` is the
    Frechet distance of the two Gaussian fits (``N - 1`` covariances); it is
    0 until both sides hold 2 samples.

    Example::

        fid = FrechetDistance(dim=128)
        fid.update_state(real_features, fake_features)
        fid.result()

    Args:
        dim: the feature dimension.
        name: metric name.
        **kwargs: passed to ``keras.metrics.Metric``.

    Raises:
        ValueError: ``dim`` is not a positive int.
    """

    def __init__(self, dim, name="fid", **kwargs):
        kwargs.pop("dtype", None)
        super().__init__(name=name, dtype="float64", **kwargs)
        self.dim = check_positive_int(dim, "dim")
        self._states = {}
        for side in ("real", "fake"):
            self._states[side] = (
                self.add_variable(shape=(), initializer="zeros", dtype="float64", name=f"{side}_count"),
                self.add_variable(shape=(self.dim,), initializer="zeros", dtype="float64", name=f"{side}_mean"),
                self.add_variable(shape=(self.dim, self.dim), initializer="zeros", dtype="float64",
                                  name=f"{side}_m2"),
            )

    def _update_side(self, side, features):
        count, mean, m2 = self._states[side]
        x = tf.reshape(tf.cast(features, tf.float64), (-1, self.dim))
        n = tf.cast(tf.shape(x)[0], tf.float64)
        batch_mean = tf.where(n > 0, tf.reduce_mean(x, axis=0), tf.zeros((self.dim,), tf.float64))
        centered = x - batch_mean
        batch_m2 = tf.transpose(centered) @ centered
        total = count + n
        safe_total = tf.maximum(total, 1.0)
        delta = batch_mean - mean
        mean.assign(mean + delta * (n / safe_total))
        m2.assign(m2 + batch_m2 + tf.tensordot(delta, delta, axes=0) * (count * n / safe_total))
        count.assign(total)

    def update_state(self, real_features, fake_features, sample_weight=None):
        """Adds a batch of real and a batch of generated features (either may be empty).

        Raises:
            ValueError: ``sample_weight`` is given (not supported).
        """
        if sample_weight is not None:
            raise ValueError("FrechetDistance does not support sample_weight; pass sample_weight=None.")
        self._update_side("real", real_features)
        self._update_side("fake", fake_features)

    def result(self):
        (c1, mu1, m21), (c2, mu2, m22) = self._states["real"], self._states["fake"]
        sigma1 = m21 / tf.maximum(c1 - 1.0, 1.0)
        sigma2 = m22 / tf.maximum(c2 - 1.0, 1.0)
        diff = mu1 - mu2
        value = (tf.reduce_sum(diff * diff) + tf.linalg.trace(sigma1) + tf.linalg.trace(sigma2)
                 - 2.0 * _trace_sqrt_product(sigma1, sigma2))
        ready = tf.logical_and(c1 >= 2.0, c2 >= 2.0)
        return tf.where(ready, tf.maximum(value, 0.0), tf.zeros_like(value))

    def reset_state(self):
        for variables in self._states.values():
            for variable in variables:
                variable.assign(tf.zeros(variable.shape, tf.float64))

    def get_config(self):
        return {"dim": self.dim, "name": self.name}

