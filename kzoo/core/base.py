"""The model contract: :class:`GenerativeModel` and the explicit/latent bases.

Every kzoo model subclasses :class:`GenerativeModel` (a ``keras.Model``):

* Constructor arguments are the config. ``get_config`` returns them and
  ``from_config`` is ``cls(**config)``; subclasses list them in ``__init__``
  and store each one as an attribute of the same name.
* Families supply :meth:`GenerativeModel.compute_losses`; the one shared
  ``train_step``/``test_step`` turns it into an update that is correct under
  ``mixed_float16`` (loss scaling), under ``tf.distribute`` (loss divided by
  the number of replicas) and reports float32 Mean trackers through
  ``metrics``.
* ``generate(n, seed=...)`` returns float32 numpy samples in data space
  (images: NHWC in [0, 1]); the same seed gives the same samples.
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.distribute import num_workers
from kzoo.core.interpolation import interpolate
from kzoo.core import schedules as _schedules  # noqa: F401 - registers kzoo's schedules for loading
from kzoo.core.validation import check_data_batch, check_number, check_positive_int


def replica_count():
    """Returns the number of replicas of the current ``tf.distribute`` strategy."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def step_logs(logs):
    """The logs a train or test step returns, in the form ``fit`` can average over replicas.

    Keras averages a multi-worker step's logs with
    ``strategy.reduce(MEAN, value, axis=0)``, which fails on scalars
    ("Invalid reduction dimension 0 for input with 0 dimensions"); under a
    multi-worker strategy every scalar becomes a tensor of shape ``[1]``,
    which that reduce turns back into the scalar mean over replicas. Other
    strategies get the logs unchanged.

    Args:
        logs: dict of scalar tensors (the trackers' results).

    Returns:
        The dict, reshaped for a multi-worker strategy.
    """
    if num_workers(tf.distribute.get_strategy()) == 1:
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def to_float32(value):
    """Casts a tensor (or a dict/list of tensors) to float32 for TFP math."""
    return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), value)


def seed_pair(seed):
    """Turns an int seed (or None for a random one) into a stateless seed tensor.

    Args:
        seed: ``None`` or a non-negative int.

    Returns:
        An int32 tensor of shape ``[2]`` for ``tf.random.stateless_*`` ops.

    Raises:
        ValueError: the seed is not None or a non-negative int.
    """
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    seed = check_number(seed, "seed", integer=True, minimum=0, description="None or a non-negative integer")
    return tf.constant([seed % (2**31 - 1), 0], dtype=tf.int32)


def apply_scaled_gradients(optimizer, loss, tape, variables):
    """Applies the gradient of ``loss`` the way every kzoo step must.

    The loss is divided by the number of replicas (gradients are summed over
    replicas under ``tf.distribute``) and scaled by the optimizer's loss scale
    (a ``LossScaleOptimizer`` under ``mixed_float16``; a no-op otherwise), so a
    custom step gives the same update as the single-device float32 step.

    Args:
        optimizer: a Keras 3 optimizer (possibly a ``LossScaleOptimizer``).
        loss: float32 scalar, the per-replica mean loss, computed under
            ``tape``.
        tape: the ``tf.GradientTape`` that recorded ``loss``; it is resumed
            to record the scaling.
        variables: the variables to update.

    Returns:
        The gradients of ``loss / num_replicas`` with the loss scale removed
        (for logging gradient norms); ``None`` for unconnected variables.
    """
    with tape:
        scaled = optimizer.scale_loss(loss / tf.cast(replica_count(), loss.dtype))
    grads = tape.gradient(scaled, variables)
    inverse_scale = 1.0 / tf.cast(optimizer.scale_loss(tf.constant(1.0)), tf.float32)
    optimizer.apply_gradients(zip(grads, variables))
    return [None if g is None else tf.cast(g, tf.float32) * inverse_scale for g in grads]


class GenerativeModel(keras.Model):
    """Base class of every kzoo model.

    Subclasses set ``loss_names`` (the scalars tracked during ``fit``, the
    first being the optimized ``"loss"``), implement
    :meth:`compute_losses`, :meth:`sample_batch` and :meth:`call`, and are
    decorated with :func:`kzoo.core.register`.

    Args:
        data_shape: per-example shape, e.g. ``(28, 28, 1)``.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).

    Raises:
        ValueError: ``data_shape`` is not a tuple of positive ints.
    """

    family = None
    registered_name = None
    loss_names = ("loss",)
    #: Old constructor-argument names -> current names. Configs written
    #: before a rename still load: :meth:`from_config` maps the old keys.
    renamed_arguments = {}

    def __init__(self, data_shape=(28, 28, 1), **kwargs):
        super().__init__(**kwargs)
        try:
            self.data_shape = tuple(check_positive_int(int(d), "data_shape entry") for d in data_shape)
        except (TypeError, ValueError) as err:
            raise ValueError(f"data_shape must be a tuple of positive ints, got {data_shape!r}.") from err
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}

    @property
    def data_range(self):
        """The range data must lie in: ``(0.0, 1.0)`` for images (rank-3 ``data_shape``), None for vectors."""
        return (0.0, 1.0) if len(self.data_shape) == 3 else None

    # ---------------------------------------------------------------- config
    def get_config(self):
        """Returns the constructor arguments (the config) as a dict."""
        config = super().get_config()
        config.update({"data_shape": list(self.data_shape)})
        return config

    @classmethod
    def renamed_argument_map(cls):
        """Old name -> current name for every renamed constructor argument of the class and its bases."""
        renames = {}
        for klass in reversed(cls.__mro__):
            renames.update(vars(klass).get("renamed_arguments", {}))
        return renames

    @classmethod
    def upgrade_config(cls, config):
        """Maps renamed constructor arguments (see :meth:`renamed_argument_map`) to today's names.

        Args:
            config: a dict of constructor arguments, possibly written before a
                rename.

        Returns:
            A new dict with only current argument names.

        Raises:
            ValueError: the config holds both an old name and its new name.
        """
        config = dict(config)
        for old, new in cls.renamed_argument_map().items():
            if old in config:
                if new in config:
                    raise ValueError(f"{cls.__name__} config has both {old!r} and its new name {new!r}; keep {new!r}.")
                config[new] = config.pop(old)
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuilds a model from :meth:`get_config` (old argument names accepted, see :meth:`upgrade_config`)."""
        config = cls.upgrade_config(config)
        if "data_shape" in config:
            config["data_shape"] = tuple(config["data_shape"])
        return cls(**config)

    @property
    def num_dims(self):
        """Number of scalar dimensions of one example (784 for MNIST)."""
        return int(np.prod(self.data_shape))

    def data_options(self, split):
        """The ``kzoo.data.load`` options this model's data needs.

        Args:
            split: ``"train"`` or a held-out split name.

        Returns:
            A dict of keyword arguments for :func:`kzoo.data.load` (for a
            Bernoulli model: dynamic binarization for training and static
            binarization for evaluation).
        """
        del split
        return {}

    def build_for_data(self):
        """Builds all variables by calling the model on one zero batch.

        Models whose ``call`` does not touch every sub-network (e.g. a GAN's
        generator) override this to build the rest too.
        """
        if not self.built:
            self(tf.zeros((1,) + self.data_shape), training=False)

    def get_build_config(self):
        return {"data_shape": list(self.data_shape)}

    def build_from_config(self, config):
        """Rebuilds every variable when a ``.keras`` file is loaded."""
        del config
        self.build_for_data()

    # --------------------------------------------------------------- training
    def compile(self, optimizer=None, **kwargs):
        """``keras.Model.compile`` with Adam(1e-3) as the default optimizer."""
        super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)

    def get_compile_config(self):
        """The optimizer, serialized so that ``.keras`` files restore it."""
        if getattr(self, "optimizer", None) is None:
            return None
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer)}

    def compile_from_config(self, config):
        """Re-compiles from :meth:`get_compile_config` and builds the optimizer."""
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def step_counter(self):
        """The number of training steps taken so far (0 before compile)."""
        optimizer = getattr(self, "optimizer", None)
        return optimizer.iterations if optimizer is not None else 0

    def step_noise(self, batch_size, shape, salt=0, distribution="normal"):
        """Per-example noise for a train or test step.

        The noise of example ``i`` of a global batch depends only on the
        optimizer step, ``salt`` and ``i``, not on how ``tf.distribute``
        splits the batch over replicas: every replica draws the global batch's
        noise from one stateless seed and keeps its own slice. A 2-replica
        step therefore sees exactly the noise of the single-device step.

        Args:
            batch_size: this replica's batch size (a scalar tensor is fine).
            shape: per-example shape of the noise.
            salt: distinguishes several draws within one step.
            distribution: ``"normal"`` or ``"uniform"`` (on [0, 1)).

        Returns:
            float32 tensor of shape ``(batch_size,) + shape``.
        """
        context = tf.distribute.get_replica_context()
        replicas = replica_count()
        replica_id = tf.cast(context.replica_id_in_sync_group if context is not None else 0, tf.int32)
        step = self.step_counter()
        seed = tf.stack([tf.constant(salt, tf.int32), tf.cast(step, tf.int32)])
        batch_size = tf.cast(batch_size, tf.int32)
        full_shape = tf.concat([[batch_size * replicas], tf.constant(shape, tf.int32)], axis=0)
        if distribution == "normal":
            noise = tf.random.stateless_normal(full_shape, seed)
        else:
            noise = tf.random.stateless_uniform(full_shape, seed)
        return noise[replica_id * batch_size : (replica_id + 1) * batch_size]

    def compute_losses(self, x, y=None, training=False):
        """Returns a dict of float scalars; ``"loss"`` is minimized.

        Args:
            x: a batch of examples.
            y: optional labels (conditional models).
            training: whether this is a training step.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement compute_losses().")

    def _checked_inputs(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if tuple(x.shape[1:]) != self.data_shape:
            raise ValueError(
                f"{type(self).__name__} expects batches of shape (N, {', '.join(map(str, self.data_shape))}), "
                f"got {tuple(x.shape)}."
            )
        x = tf.debugging.assert_all_finite(tf.cast(x, tf.float32), "input batch contains NaN or Inf values")
        return x, y

    def _step_losses(self, x, y, training):
        losses = to_float32(self.compute_losses(x, y, training=training))
        if "loss" not in losses:
            raise KeyError(f"{type(self).__name__}.compute_losses() must return a 'loss' entry.")
        return losses

    def _update_trackers(self, losses):
        for name, tracker in self.trackers.items():
            tracker.update_state(losses[name])
        return step_logs({name: tracker.result() for name, tracker in self.trackers.items()})

    def train_step(self, data):
        x, y = self._checked_inputs(data)
        with tf.GradientTape() as tape:
            losses = self._step_losses(x, y, training=True)
            loss = losses["loss"]
            if self.losses:
                loss = loss + tf.cast(tf.add_n(self.losses), tf.float32)
        apply_scaled_gradients(self.optimizer, loss, tape, self.trainable_variables)
        return self._update_trackers(losses)

    def test_step(self, data):
        x, y = self._checked_inputs(data)
        return self._update_trackers(self._step_losses(x, y, training=False))

    def _check_fit_data(self, x, what):
        if isinstance(x, tf.data.Dataset):
            if x.cardinality() == 0:
                raise ValueError(f"The {what} dataset is empty (0 batches): check the split and batch size.")
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, (tuple, list)) else spec
            shape = tuple(spec.shape[1:]) if getattr(spec, "shape", None) is not None else None
        elif x is not None and hasattr(x, "shape"):
            if x.shape[0] == 0:
                raise ValueError(f"The {what} data is empty: got an array of shape {tuple(x.shape)}.")
            shape = tuple(x.shape[1:])
            if shape == self.data_shape and not tf.is_tensor(x):  # arrays: values checked up front
                check_data_batch(x, self.data_shape, what=f"the {what} data", value_range=self.data_range)
        else:
            return
        if shape is not None and None not in shape and shape != self.data_shape:
            raise ValueError(
                f"{type(self).__name__} expects examples of shape {self.data_shape}, but the {what} data has "
                f"examples of shape {shape}."
            )

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit``, refusing empty data or a wrong example shape up front.

        The model is built first (in its strategy's scope), so that after
        ``fit`` it can be saved as a preset even if it was never called.
        """
        self._check_fit_data(x, "training")
        with self.distribute_strategy.scope():
            self.build_for_data()
        validation = kwargs.get("validation_data")
        if validation is not None:
            self._check_fit_data(validation[0] if isinstance(validation, tuple) else validation, "validation")
        return super().fit(x, *args, **kwargs)

    # ------------------------------------------------------------- sampling
    def sample_batch(self, n, seed, **kwargs):
        """Draws ``n`` samples as a tensor in data space.

        Args:
            n: Python int, the batch size.
            seed: int32 tensor of shape ``[2]`` for stateless random ops.
            **kwargs: model-specific sampling options.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement sample_batch().")

    @property
    def is_conditional(self):
        """True for a class-conditional model (``num_classes`` is set)."""
        return getattr(self, "num_classes", None) is not None

    @property
    def needs_labels(self):
        """True if training reads labels: class-conditional models (and semi-supervised ones, whose
        unlabelled examples carry the label -1)."""
        return self.is_conditional

    def _labels_present(self, labels):
        """True if labels are given to a conditional model, False if none are
        given to an unconditional one; raises on the two mismatches."""
        if not self.is_conditional:
            if labels is not None:
                raise ValueError(f"{type(self).__name__} is unconditional (num_classes=None) but got labels; "
                                 "pass num_classes=K to train a class-conditional model.")
            return False
        if labels is None:
            raise ValueError(f"{type(self).__name__} is class-conditional (num_classes={self.num_classes}): pass "
                             "the labels (fit(x, y), log_prob(x, labels=...), generate(n, labels=...)).")
        return True

    def check_labels(self, labels, n, cycle_missing=True):
        """Validated class labels for ``n`` examples or samples.

        Args:
            labels: int array-like ``(n,)``, or None.
            n: number of examples.
            cycle_missing: what a conditional model does with ``labels=None``:
                True (sampling) cycles through its classes (0, 1, ..., K-1,
                0, ...), so any ``n`` that is a multiple of ``num_classes`` is
                class-balanced; False (likelihoods) raises.

        Returns:
            int32 numpy array ``(n,)`` for a conditional model, else None.

        Raises:
            ValueError: labels for an unconditional model, missing labels
                with ``cycle_missing=False``, or labels of the wrong length,
                non-integer values or classes outside ``[0, num_classes)``.
        """
        if labels is None and cycle_missing and self.is_conditional:
            return (np.arange(n) % self.num_classes).astype(np.int32)
        if not self._labels_present(labels):
            return None
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != n:
            raise ValueError(f"labels must be int class indices of shape ({n},), got shape {labels.shape}.")
        if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
            raise ValueError("labels must be integer class indices, got non-integer values.")
        if n and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes - 1}], got values in "
                             f"[{labels.min()}, {labels.max()}].")
        return labels.astype(np.int32)

    def label_tensor(self, labels):
        """Labels as an int32 tensor ``(N,)`` inside a step or a call.

        Args:
            labels: int or integral-float labels (tensor or array), or None.

        Returns:
            int32 tensor ``(N,)`` for a conditional model, else None.

        Raises:
            ValueError: labels for an unconditional model, or no labels for a
                conditional one.
        """
        if not self._labels_present(labels):
            return None
        return tf.reshape(tf.cast(tf.convert_to_tensor(labels), tf.int32), [-1])

    def map_batches(self, fn, x, labels=None, batch_size=256):
        """Applies a per-batch function over checked arrays and joins the results.

        Args:
            fn: ``fn(x_batch, labels_batch, index)`` with tensors (``labels_batch``
                None when ``labels`` is None) and the batch index (for per-batch
                seeds); returns a tensor whose first axis is the batch.
            x: numpy array, already checked.
            labels: int numpy array ``(N,)`` or None, already checked.
            batch_size: examples per call.

        Returns:
            float32 numpy array: the results concatenated along the first axis.
        """
        out = []
        for index, start in enumerate(range(0, len(x), batch_size)):
            chunk_labels = None if labels is None else tf.constant(labels[start : start + batch_size])
            out.append(np.asarray(fn(tf.constant(x[start : start + batch_size]), chunk_labels, index),
                                  dtype=np.float32))
        return np.concatenate(out, axis=0)

    def generate(self, n, seed=None, batch_size=256, labels=None, **kwargs):
        """Draws ``n`` samples.

        Args:
            n: number of samples.
            seed: ``None`` for fresh randomness, or an int: the same int gives
                the same samples.
            batch_size: samples drawn per compiled call.
            labels: class of each sample for a class-conditional model (int
                array ``(n,)``); None cycles through the classes (see
                :meth:`check_labels`). Unconditional models take None.
            **kwargs: model-specific sampling options (e.g. ``temperature``).

        Returns:
            float32 numpy array of shape ``(n,) + data_shape``; images lie in
            [0, 1].

        Raises:
            ValueError: ``n`` or ``batch_size`` is not a positive int, the
                seed is invalid or the labels are (see
                :meth:`check_labels`).
        """
        n = check_positive_int(n, "n")
        batch_size = check_positive_int(batch_size, "batch_size")
        labels = self.check_labels(labels, n)
        base = seed_pair(seed)
        chunks = []
        for index, start in enumerate(range(0, n, batch_size)):
            size = min(batch_size, n - start)
            chunk_seed = tf.stack([base[0], base[1] + index])
            if labels is not None:
                kwargs["labels"] = labels[start : start + size]
            chunks.append(self.sample_batch(size, chunk_seed, **kwargs))
        return np.concatenate([np.asarray(c, dtype=np.float32) for c in chunks], axis=0)


class ExplicitModel(GenerativeModel):
    """Base of models with a tractable density or a bound on it.

    Subclasses implement :meth:`log_prob_batch` (float32 nats per example);
    the default :meth:`compute_losses` minimizes the mean negative
    log-likelihood per example.
    """

    loss_names = ("loss",)
    stochastic_log_prob = False

    def log_prob_batch(self, x, **kwargs):
        """Returns float32 log-likelihoods (nats) of a batch tensor, shape (N,)."""
        raise NotImplementedError(f"{type(self).__name__} must implement log_prob_batch().")

    def compute_losses(self, x, y=None, training=False):
        return {"loss": -tf.reduce_mean(self.log_prob_batch(x, training=training))}

    def log_prob(self, x, batch_size=256, seed=0, labels=None, **kwargs):
        """Log-likelihood of each example in nats (or a bound on it).

        Args:
            x: array of shape ``(N,) + data_shape`` in the model's data space.
            batch_size: examples per batch.
            seed: for models whose ``log_prob`` is a stochastic estimate (an
                importance-sampled or variational bound), the int seed that
                makes it reproducible (batch ``i`` uses its own stream);
                ignored by exact models.
            labels: int labels ``(N,)`` for a class-conditional model, which
                gives ``log p(x | labels)``.
            **kwargs: model-specific options (e.g. importance samples ``k``).

        Returns:
            float32 numpy array of shape ``(N,)``.

        Raises:
            ValueError: wrong shape, an empty batch, NaN/Inf values, or
                missing / unexpected / out-of-range labels.
        """
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        batch_size = check_positive_int(batch_size, "batch_size")
        labels = self.check_labels(labels, len(x), cycle_missing=False)
        base = seed_pair(seed) if self.stochastic_log_prob else None

        def batch_log_prob(batch, chunk, index):
            options = dict(kwargs)
            if chunk is not None:
                options["labels"] = chunk
            if base is not None:
                options["seed"] = tf.stack([base[0], base[1] + index])
            return self.log_prob_batch(batch, **options)

        return self.map_batches(batch_log_prob, x, labels, batch_size)


class LatentCodes:
    """Mixin of every model with an encoder: ``encode``, ``decode``, ``interpolate``.

    It adds the latent API to a :class:`GenerativeModel` subclass whatever
    its training (one loss, or adversarial with two optimizers) and whether
    or not it has a likelihood. Subclasses set ``latent_dim`` and implement
    :meth:`encode_batch` and :meth:`decode_batch`; class-conditional ones
    take ``labels=`` in both.
    """

    def encode_batch(self, x, **kwargs):
        """Returns the latent code (a deterministic code or the posterior mean) of a batch tensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement encode_batch().")

    def decode_batch(self, z, **kwargs):
        """Returns the data-space mean of a batch of latent codes."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode_batch().")

    def encoder_features_batch(self, x, **kwargs):
        """The encoder's penultimate features of a batch tensor: its last hidden layer, under the code head.

        Implemented by models whose encoder has such a layer (see
        :attr:`has_encoder_features`); takes ``labels=`` where
        :meth:`encode_batch` does.
        """
        raise NotImplementedError(f"{type(self).__name__} has no hidden encoder layer to take features from.")

    @property
    def has_encoder_features(self):
        """Whether :meth:`encoder_features` exists: the model implements :meth:`encoder_features_batch`."""
        return type(self).encoder_features_batch is not LatentCodes.encoder_features_batch

    @property
    def codes_take_labels(self):
        """Whether ``encode``/``decode`` take class labels: True for class-conditional encoders and decoders.

        A model that is conditional only in what it samples (the label picks
        a part of the prior, the code alone decides the image) sets it False.
        """
        return self.is_conditional

    @property
    def code_dim(self):
        """Width of the codes :meth:`encode` returns and :meth:`decode` takes (``latent_dim`` by default)."""
        return self.latent_dim

    def _code_labels(self, labels, n, what, cycle_missing):
        if self.codes_take_labels:
            return self.check_labels(labels, n, cycle_missing=cycle_missing)
        if labels is not None:
            raise ValueError(f"{type(self).__name__}.{what} takes no labels: the code alone is the representation"
                             + (" (pass labels to generate() to draw a class)." if self.is_conditional else "."))
        return None

    def _label_kwargs(self, chunk):
        return {} if chunk is None else {"labels": chunk}

    def encode(self, x, labels=None, batch_size=256):
        """Encodes examples to latent codes (posterior means for probabilistic encoders).

        Args:
            x: array of shape ``(N,) + data_shape``.
            labels: int labels ``(N,)`` for a model whose encoder takes them
                (see :attr:`codes_take_labels`).
            batch_size: examples per encoder call.

        Returns:
            float32 numpy array of shape ``(N, code_dim)``.

        Raises:
            ValueError: wrong shape, NaN/Inf or values outside the data
                range, or missing/extra labels.
        """
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        labels = self._code_labels(labels, len(x), "encode", cycle_missing=False)
        return self.map_batches(lambda batch, chunk, _: self.encode_batch(batch, **self._label_kwargs(chunk)), x,
                                labels, check_positive_int(batch_size, "batch_size"))

    def encoder_features(self, x, labels=None, batch_size=256):
        """The encoder's penultimate features: the hidden layer the code is a linear map of.

        A representation next to the code itself, as linear-probe studies of
        learned features read the layer under a model's output head.

        Args:
            x: array of shape ``(N,) + data_shape``.
            labels: int labels ``(N,)`` for a model whose encoder takes them.
            batch_size: examples per encoder call.

        Returns:
            float32 numpy array ``(N, D)``, D the hidden layer's width.

        Raises:
            NotImplementedError: the model has no such layer
                (:attr:`has_encoder_features` is False).
            ValueError: bad images or labels, as :meth:`encode`.
        """
        if not self.has_encoder_features:
            raise NotImplementedError(f"{type(self).__name__} has no hidden encoder layer to take features from.")
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        labels = self._code_labels(labels, len(x), "encoder_features", cycle_missing=False)
        return self.map_batches(
            lambda batch, chunk, _: self.encoder_features_batch(batch, **self._label_kwargs(chunk)), x, labels,
            check_positive_int(batch_size, "batch_size"))

    def decode(self, z, labels=None, batch_size=256):
        """Decodes latent codes to data space (images in [0, 1]).

        Args:
            z: array of shape ``(N, code_dim)``.
            labels: class per code for a model whose decoder takes them
                (see :attr:`codes_take_labels`; None cycles through the
                classes).
            batch_size: codes per decoder call.

        Returns:
            float32 numpy array of shape ``(N,) + data_shape``.

        Raises:
            ValueError: ``z`` of the wrong shape or with NaN/Inf, or bad
                labels.
        """
        z = check_data_batch(z, (self.code_dim,), what="z")
        labels = self._code_labels(labels, len(z), "decode", cycle_missing=True)
        return self.map_batches(lambda batch, chunk, _: self.decode_batch(batch, **self._label_kwargs(chunk)), z,
                                labels, check_positive_int(batch_size, "batch_size"))

    def interpolate(self, x_start, x_end, steps=8, method="slerp", label=None):
        """Decodes a path between the codes of two examples.

        Args:
            x_start: one example, shape ``data_shape``.
            x_end: one example, shape ``data_shape``.
            steps: number of points on the path, ends included.
            method: ``"slerp"`` (spherical, suited to Gaussian priors) or
                ``"lerp"``.
            label: the class of both examples (and of the path) for a
                class-conditional model.

        Returns:
            float32 numpy array of shape ``(steps,) + data_shape``.
        """
        if label is None:
            codes = self.encode(np.stack([x_start, x_end]))
            return self.decode(interpolate(codes[0], codes[1], steps=steps, method=method))
        codes = self.encode(np.stack([x_start, x_end]), labels=[label, label])
        path = interpolate(codes[0], codes[1], steps=steps, method=method)
        return self.decode(path, labels=[label] * len(path))


class LatentModel(LatentCodes, ExplicitModel):
    """Base of latent-variable models with a likelihood or a bound: VAEs and flows.

    Subclasses implement :meth:`encode_batch`, :meth:`decode_batch` and
    :meth:`log_prob_batch`; for VAEs ``log_prob`` is a bound (ELBO or
    importance-sampled), which each model documents.
    """
