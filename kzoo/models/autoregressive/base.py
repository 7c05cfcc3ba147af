"""Bases of the autoregressive family: the pixel-vector models and the image models.

Both factorize ``log p(x) = sum_i log p(x_i | x_<i)`` in raster order (row
by row, then column, then channel) and give every conditional a TFP
``Bernoulli`` (binary pixels) or a ``num_levels``-way ``Categorical``
(8-bit pixels); both read their data with dynamic binarization for training
and static binarization for held-out splits.

* :class:`VectorAutoregressiveModel` reads an image as a vector of
  ``D = H W C`` values: the independent baseline, FVSBN, the Markov models,
  NADE and MADE. Exact ``log_prob_batch`` comes from one teacher-forced pass;
  sampling is one compiled ``tf.function`` that walks over the pixels of the
  whole batch in a ``tf.range`` loop.
* :class:`PixelModel` keeps the image shape: PixelCNN, Gated PixelCNN and
  PixelRNN. It adds class conditioning and the image samplers
  (``"naive"``, ``"compiled"`` and the models' own ``"cached"``; see
  :mod:`kzoo.models.autoregressive.pixelcnn`).

References:
    Larochelle & Murray, "The Neural Autoregressive Distribution Estimator",
    AISTATS 2011.
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kzoo.core.base import ExplicitModel, to_float32
from kzoo.core.validation import (check_choice, check_data_batch, check_divisible, check_number, check_optional,
                                  check_positive_int, check_positive_number)
from kzoo.layers.masked_conv import tap_gather_indices

__all__ = ["LIKELIHOODS", "PixelModel", "VectorAutoregressiveModel"]

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "categorical")


def check_channel_groups(value, name, groups):
    """Raises ValueError unless ``value`` splits into ``groups`` equal colour groups; returns it."""
    return check_divisible(value, name, groups, "the number of image channels")


class VectorAutoregressiveModel(ExplicitModel):
    """Base of the autoregressive models of the raster-ordered pixel vector.

    Subclasses implement :meth:`conditional_logits` (one teacher-forced pass
    giving the logits of every ``p(x_i | x_<i)``) and the three sampling
    hooks :meth:`_sampling_setup`, :meth:`_next_logits` and
    :meth:`_advance`, and list the output distributions they support in
    ``likelihoods``.

    Args:
        data_shape: per-example shape, e.g. ``(28, 28, 1)``.
        likelihood: ``"bernoulli"`` (binary pixels; binarized data) or
            ``"categorical"`` (``num_levels``-way softmax per pixel on 8-bit
            data in [0, 1]), where the subclass supports it.
        num_levels: number of pixel levels of the categorical likelihood.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: unsupported ``likelihood`` or ``num_levels`` < 2.
    """

    likelihoods = ("bernoulli",)

    def __init__(self, data_shape=(28, 28, 1), likelihood="bernoulli", num_levels=256, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.likelihood = check_choice(likelihood, "likelihood", self.likelihoods)
        self.num_levels = check_number(num_levels, "num_levels", integer=True, minimum=2)

    def get_config(self):
        config = super().get_config()
        if len(self.likelihoods) > 1:
            config.update({"likelihood": self.likelihood, "num_levels": self.num_levels})
        return config

    def data_options(self, split):
        """Bernoulli: dynamic binarization to train, static to evaluate;
        categorical: the 8-bit pixels as they are (scaled to [0, 1])."""
        if self.likelihood == "bernoulli":
            return {"binarize": "dynamic" if split == "train" else "static"}
        return {}

    # ------------------------------------------------------------ helpers
    @property
    def num_outcomes(self):
        """Logits per pixel: 1 (Bernoulli) or ``num_levels`` (categorical)."""
        return 1 if self.likelihood == "bernoulli" else self.num_levels

    def _logit_units(self):
        """Output units of a network giving every pixel's logits: D or D * levels."""
        return self.num_dims * self.num_outcomes

    def flatten(self, x):
        """Reshapes a batch ``(N,) + data_shape`` to the raster vector ``(N, D)`` (float32)."""
        return tf.reshape(tf.cast(x, tf.float32), [-1, self.num_dims])

    def _levels(self, x):
        """Integer pixel levels of values in [0, 1] (categorical likelihood)."""
        scaled = tf.round(tf.cast(x, tf.float32) * (self.num_levels - 1))
        return tf.cast(tf.clip_by_value(scaled, 0.0, self.num_levels - 1.0), tf.int32)

    def _reshape_logits(self, logits):
        if self.likelihood == "bernoulli":
            return tf.reshape(logits, (-1,) + self.data_shape)
        return tf.reshape(logits, (-1,) + self.data_shape + (self.num_levels,))

    def _cast(self, value):
        """Casts a variable to the compute dtype (mixed precision)."""
        return tf.cast(value, self.compute_dtype)

    # ------------------------------------------------------------- density
    def conditional_logits(self, x, training=False, **kwargs):
        """Logits of every conditional ``p(x_i | x_<i)`` in one pass.

        Args:
            x: float32 tensor ``(N, D)``, the raster-ordered pixels.
            training: whether this is a training step.
            **kwargs: model-specific options.

        Returns:
            float32 tensor ``(N, D)`` (Bernoulli) or ``(N, D, num_levels)``
            (categorical); entry ``i`` depends only on ``x_<i`` in the
            model's ordering.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement conditional_logits().")

    def distribution(self, x, training=False, **kwargs):
        """The model's distribution over images, teacher-forced on ``x``.

        The product of the conditionals ``p(x_i | x_<i)`` with ``x_<i`` taken
        from ``x``: its ``log_prob(x)`` is the exact log-likelihood of ``x``
        (the distribution is only meaningful at ``x`` itself).

        Args:
            x: batch tensor ``(N,) + data_shape``.
            training: whether this is a training step.
            **kwargs: passed to :meth:`conditional_logits`.

        Returns:
            A ``tfd.Independent`` of ``tfd.Bernoulli`` or ``tfd.Categorical``
            pixels with event shape ``data_shape``.
        """
        logits = self._reshape_logits(to_float32(self.conditional_logits(self.flatten(x), training=training,
                                                                         **kwargs)))
        if self.likelihood == "bernoulli":
            pixels = tfd.Bernoulli(logits=logits, dtype=tf.float32)
        else:
            pixels = tfd.Categorical(logits=logits)
        return tfd.Independent(pixels, reinterpreted_batch_ndims=len(self.data_shape))

    def _event(self, x):
        x = tf.cast(x, tf.float32)
        return x if self.likelihood == "bernoulli" else self._levels(x)

    def log_prob_batch(self, x, training=False, **kwargs):
        """Exact log-likelihood in nats of each example, shape ``(N,)``.

        Bernoulli models expect binary pixels; for values strictly between 0
        and 1 the result is the negative binary cross-entropy, not a
        likelihood. Categorical models round ``x * (num_levels - 1)`` to the
        nearest level.
        """
        x = tf.cast(x, tf.float32)
        return tf.cast(self.distribution(x, training=training, **kwargs).log_prob(self._event(x)), tf.float32)

    def call(self, x, training=False):
        """Conditional logits in data layout: ``(N,) + data_shape`` (Bernoulli)
        or ``(N,) + data_shape + (num_levels,)`` (categorical)."""
        return self._reshape_logits(to_float32(self.conditional_logits(self.flatten(x), training=training)))

    def free_parameter_count(self):
        """Number of parameters that affect the density.

        Kernel entries removed by an autoregressive mask are not counted:
        they never change the output nor receive a gradient.
        """
        return int(sum(int(np.prod(v.shape)) for v in self.trainable_weights))

    # ------------------------------------------------------------ sampling
    def sample_batch(self, n, seed, mean=False, **kwargs):
        """Draws ``n`` images pixel by pixel in one compiled call.

        Args:
            n: Python int, the batch size.
            seed: int32 tensor of shape ``[2]`` (stateless sampling: the
                same seed gives the same images).
            mean: return, instead of the sampled pixels, the mean of each
                pixel's conditional distribution along the sampled path
                (Bernoulli: ``p(x_i = 1 | x_<i)``; categorical: the expected
                level scaled to [0, 1]).
            **kwargs: model-specific sampling options.

        Returns:
            float32 tensor ``(n,) + data_shape`` in [0, 1]; sampled Bernoulli
            pixels are exactly 0 or 1.
        """
        samples, means = self._compiled_sampler(n, tf.cast(seed, tf.int32), **self._sampling_kwargs(**kwargs))
        return tf.reshape(means if mean else samples, (n,) + self.data_shape)

    def _sampling_kwargs(self, **kwargs):
        """Validates model-specific sampling options and makes them tensors."""
        if kwargs:
            raise TypeError(f"{type(self).__name__}.generate() got unexpected options {sorted(kwargs)}.")
        return {}

    @tf.function
    def _compiled_sampler(self, n, seed, **kwargs):
        return self._sample_flat(n, seed, **kwargs)

    def _draw(self, logits, seed):
        """Samples one pixel of every example; returns ``(value, mean)`` in [0, 1]."""
        if self.likelihood == "bernoulli":
            value = tfd.Bernoulli(logits=logits, dtype=tf.float32).sample(seed=seed)
            return value, tf.sigmoid(logits)
        scale = 1.0 / (self.num_levels - 1)
        value = tf.cast(tfd.Categorical(logits=logits).sample(seed=seed), tf.float32) * scale
        levels = tf.range(self.num_levels, dtype=tf.float32) * scale
        return value, tf.reduce_sum(tf.nn.softmax(logits) * levels, axis=-1)

    def _sample_flat(self, n, seed, **kwargs):
        """The sequential sampler: one ``tf.range`` loop over the ``D`` pixels.

        Returns:
            ``(samples, means)``, float32 tensors of shape ``(n, D)``.
        """
        num_dims = self.num_dims
        context, state = self._sampling_setup(n, **kwargs)
        order = self._sampling_order(context)
        x = tf.zeros(tf.stack([n, num_dims]), tf.float32)
        means = tf.zeros_like(x)
        for step in tf.range(num_dims):
            dim = order[step]
            logits = to_float32(self._next_logits(x, dim, state, context))
            value, mean = self._draw(logits, tf.random.experimental.stateless_fold_in(seed, step))
            hot = tf.one_hot(dim, num_dims, dtype=tf.float32)[None, :]
            x = x + value[:, None] * hot
            means = means + mean[:, None] * hot
            state = self._advance(state, dim, value, context)
        return x, means

    def _sampling_setup(self, n, **kwargs):
        """Returns ``(context, state)``: loop constants and the initial loop state."""
        del n, kwargs
        return None, tf.zeros([0])

    def _sampling_order(self, context):
        """The pixel visiting order, an int32 tensor of shape ``(D,)``."""
        del context
        return tf.range(self.num_dims, dtype=tf.int32)

    def _next_logits(self, x, dim, state, context):
        """Logits ``(n,)`` or ``(n, levels)`` of pixel ``dim`` given the pixels sampled so far in ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _next_logits().")

    def _advance(self, state, dim, value, context):
        """The loop state after pixel ``dim`` took ``value`` (default: unchanged)."""
        del dim, value, context
        return state


class PixelModel(ExplicitModel):
    """Base of the convolutional/recurrent autoregressive image models.

    Subclasses build their layers in ``__init__``, implement
    :meth:`network` (features -> output logits in the compute dtype) and may
    add a ``"cached"`` sampler by implementing :meth:`_cached_loop` and
    listing it in ``samplers``.

    Args:
        data_shape: image shape ``(H, W, C)``.
        likelihood: ``"bernoulli"`` (binary pixels: dynamic binarization to
            train, static binarization to evaluate) or ``"categorical"``
            (a ``num_levels``-way softmax per sub-pixel; inputs in [0, 1],
            targets ``round((num_levels - 1) x)``).
        num_levels: pixel levels of the categorical likelihood (256 for
            8-bit data).
        num_classes: ``None`` for an unconditional model, or the number of
            classes of a class-conditional one (labels are the ``y`` of
            ``fit`` and the ``labels`` of ``log_prob``/``generate``).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a non-image ``data_shape``, unknown ``likelihood``,
            ``num_levels`` < 2 or a bad ``num_classes``.
    """

    samplers = ("naive", "compiled")
    default_sampler = "compiled"

    def __init__(self, data_shape=(28, 28, 1), likelihood="bernoulli", num_levels=256, num_classes=None,
                 **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        if len(self.data_shape) != 3:
            raise ValueError(f"{type(self).__name__} needs an image data_shape (H, W, C), got {tuple(data_shape)}.")
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        self.num_levels = check_number(num_levels, "num_levels", integer=True, minimum=2)
        self.num_classes = check_optional(check_number, num_classes, "num_classes", integer=True, minimum=2)

    def get_config(self):
        config = super().get_config()
        config.update({"likelihood": self.likelihood, "num_levels": self.num_levels,
                       "num_classes": self.num_classes})
        return config

    def data_options(self, split):
        """Bernoulli: dynamic binarization to train, static to evaluate;
        categorical: the pixels as stored, scaled to [0, 1]."""
        if self.likelihood == "bernoulli":
            return {"binarize": "dynamic" if split == "train" else "static"}
        return {}

    # ------------------------------------------------------------ helpers
    @property
    def channels(self):
        return self.data_shape[-1]

    @property
    def num_outcomes(self):
        """Logits per sub-pixel: 1 (Bernoulli) or ``num_levels`` (categorical)."""
        return 1 if self.likelihood == "bernoulli" else self.num_levels

    @property
    def output_channels(self):
        """Channels of the network's output map, colour-major: ``C * num_outcomes``."""
        return self.channels * self.num_outcomes

    def to_network(self, x):
        """Maps pixel values in [0, 1] to the network's input scale [-1, 1].

        The values first take the compute dtype (as ``__call__`` casts its
        inputs under mixed precision), so that every sampler feeds the
        network bit-identical inputs.
        """
        x = tf.cast(tf.cast(x, self.compute_dtype), tf.float32)
        return tf.cast(2.0 * x - 1.0, self.compute_dtype)

    def _split_inputs(self, inputs, labels):
        if isinstance(inputs, dict):
            labels = inputs.get("labels", labels)
            inputs = inputs["images"]
        elif isinstance(inputs, (tuple, list)):
            inputs, labels = inputs
        return inputs, labels

    def _reshape_logits(self, outputs):
        outputs = to_float32(outputs)
        if self.likelihood == "bernoulli":
            return outputs
        shape = tf.concat([tf.shape(outputs)[:-1], [self.channels, self.num_levels]], axis=0)
        return tf.reshape(outputs, shape)

    # ------------------------------------------------------------- network
    def network(self, inputs, labels=None, training=False):
        """The output map for network inputs in [-1, 1].

        Args:
            inputs: compute-dtype tensor ``(N, H, W, C)``, from
                :meth:`to_network`.
            labels: int32 ``(N,)`` or None.
            training: whether this is a training step.

        Returns:
            tensor ``(N, H, W, output_channels)`` in the compute dtype whose
            entry at sub-pixel ``i`` depends only on sub-pixels before ``i``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement network().")

    def class_biases(self, embeddings, labels):
        """Per-layer class biases in the compute dtype: one ``(N, F)`` tensor
        per embedding, or one None per embedding when ``labels`` is None."""
        if labels is None:
            return [None] * len(embeddings)
        return [tf.cast(embed(labels), self.compute_dtype) for embed in embeddings]

    def logits(self, x, labels=None, training=False):
        """The logits of every conditional ``p(x_i | x_<i)``, teacher-forced on ``x``.

        Goes through ``__call__`` (so the first use builds the model, also
        inside ``fit``).

        Args:
            x: float tensor ``(N, H, W, C)`` in [0, 1].
            labels: int labels ``(N,)`` for a class-conditional model.
            training: whether this is a training step.

        Returns:
            float32 tensor ``(N, H, W, C)`` (Bernoulli) or
            ``(N, H, W, C, num_levels)`` (categorical).
        """
        return self(x, labels=labels, training=training)

    def call(self, inputs, labels=None, training=False):
        """Logits of every conditional (see :meth:`logits`).

        ``inputs`` is an image batch, a tuple ``(images, labels)`` or a dict
        with keys ``"images"`` and ``"labels"``.
        """
        x, labels = self._split_inputs(inputs, labels)
        labels = self.label_tensor(labels)
        return self._reshape_logits(self.network(self.to_network(x), labels, training=training))

    def build_for_data(self):
        """Builds all variables by calling the model on one zero batch."""
        if not self.built:
            labels = None if self.num_classes is None else tf.zeros([1], tf.int32)
            self(tf.zeros((1,) + self.data_shape), labels=labels, training=False)

    # ------------------------------------------------------------- density
    def distribution(self, x, labels=None, training=False):
        """The model's distribution over images, teacher-forced on ``x``.

        The product of the conditionals with ``x_<i`` taken from ``x``: its
        ``log_prob(x)`` is the exact log-likelihood of ``x`` (it is only
        meaningful at ``x`` itself).

        Returns:
            ``tfd.Independent`` of ``tfd.Bernoulli`` or ``tfd.Categorical``
            with event shape ``data_shape``.
        """
        logits = self.logits(x, labels, training=training)
        if self.likelihood == "bernoulli":
            pixels = tfd.Bernoulli(logits=logits, dtype=tf.float32)
        else:
            pixels = tfd.Categorical(logits=logits)
        return tfd.Independent(pixels, reinterpreted_batch_ndims=3)

    def _event(self, x):
        x = tf.cast(x, tf.float32)
        if self.likelihood == "bernoulli":
            return x
        scaled = tf.round(x * (self.num_levels - 1))
        return tf.cast(tf.clip_by_value(scaled, 0.0, self.num_levels - 1.0), tf.int32)

    def log_prob_batch(self, x, labels=None, training=False, **kwargs):
        """Exact log-likelihood in nats of each image, float32 ``(N,)``.

        Bernoulli models expect binary pixels (for values strictly inside
        (0, 1) the result is the negative binary cross-entropy, not a
        likelihood); categorical models round ``x * (num_levels - 1)``.
        """
        del kwargs
        x = tf.cast(x, tf.float32)
        return tf.cast(self.distribution(x, labels, training=training).log_prob(self._event(x)), tf.float32)

    def compute_losses(self, x, y=None, training=False):
        return {"loss": -tf.reduce_mean(self.log_prob_batch(x, labels=y, training=training))}

    def log_prob(self, x, labels=None, batch_size=256, seed=0, **kwargs):
        """Exact log-likelihood of each image in nats.

        Args:
            x: array ``(N, H, W, C)`` in [0, 1].
            labels: int array ``(N,)`` for a class-conditional model.
            batch_size: images per batch.
            seed: unused (the likelihood is exact); kept for a uniform API.

        Returns:
            float32 numpy array ``(N,)``.

        Raises:
            ValueError: wrong shape, NaN/Inf, an empty batch, or missing /
                unexpected / out-of-range labels.
        """
        del seed, kwargs
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        batch_size = check_positive_int(batch_size, "batch_size")
        labels = self.check_labels(labels, len(x), cycle_missing=False)
        return self.map_batches(lambda batch, chunk, _: self._log_prob_graph(batch, chunk), x, labels, batch_size)

    @tf.function(reduce_retracing=True)
    def _log_prob_graph(self, x, labels):
        return self.log_prob_batch(x, labels)

    # ------------------------------------------------------------ sampling
    def generate(self, n, seed=None, batch_size=256, sampler=None, labels=None, temperature=1.0):
        """Draws ``n`` images pixel by pixel.

        Args:
            n: number of images.
            seed: ``None`` for fresh randomness, or an int: the same int gives
                the same images with every sampler.
            batch_size: images drawn per compiled call.
            sampler: ``"naive"`` (one ``predict`` per sub-pixel: slow,
                reference), ``"compiled"`` (full recomputation inside one
                ``tf.function``), ``"cached"`` where the model has it, or
                None for the model's fastest (``default_sampler``).
            labels: class of each image for a class-conditional model (int
                array ``(n,)``); None cycles through the classes 0, 1, ...
            temperature: divides the logits (1 samples the model).

        Returns:
            float32 numpy array ``(n, H, W, C)`` in [0, 1] (binary for a
            Bernoulli model, multiples of ``1 / (num_levels - 1)`` for a
            categorical one).

        Raises:
            ValueError: bad ``n``, ``batch_size``, seed, sampler, labels or
                temperature.
        """
        return super().generate(n, seed=seed, batch_size=batch_size, labels=labels, sampler=sampler,
                                temperature=temperature)

    def sample_batch(self, n, seed, sampler=None, labels=None, temperature=1.0):
        """Draws ``n`` images; see :meth:`generate`.

        Args:
            n: Python int.
            seed: int32 tensor of shape ``[2]``.
            sampler: sampler name or None for ``default_sampler``.
            labels: int labels ``(n,)`` (conditional models) or None.
            temperature: positive float dividing the logits.

        Returns:
            float32 tensor ``(n, H, W, C)``.
        """
        n = check_positive_int(n, "n")
        sampler = check_choice(self.default_sampler if sampler is None else sampler, "sampler", self.samplers)
        check_positive_number(temperature, "temperature")
        labels = self.check_labels(labels, n)
        labels = None if labels is None else tf.constant(labels)
        seed = tf.cast(seed, tf.int32)
        temperature = tf.constant(float(temperature), tf.float32)
        if sampler == "naive":
            return self._sample_naive(n, seed, labels, temperature)
        if sampler == "compiled":
            return self._compiled_loop(tf.zeros((n,) + self.data_shape), labels, seed, temperature)
        return self._cached_loop(n, labels, seed, temperature)

    def _draw(self, logits, seed, step, temperature):
        """Samples sub-pixel ``step`` of every image from its float32 logits.

        Returns float32 values ``(N,)`` in [0, 1]; the draw depends only on
        the logits, ``seed`` and ``step``.
        """
        logits = tf.cast(logits, tf.float32) / temperature
        step_seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(step, tf.int32))
        if self.likelihood == "bernoulli":
            return tfd.Bernoulli(logits=logits, dtype=tf.float32).sample(seed=step_seed)
        level = tfd.Categorical(logits=logits).sample(seed=step_seed)
        return tf.cast(level, tf.float32) / (self.num_levels - 1)

    def _sample_naive(self, n, seed, labels, temperature, num_steps=None):
        """Reference sampler: one ``predict`` of the whole image per sub-pixel.

        ``num_steps`` stops after that many sub-pixels (benchmarks time a
        prefix of the loop; the rest of the image stays 0).
        """
        height, width, channels = self.data_shape
        x = np.zeros((n,) + self.data_shape, np.float32)
        total = height * width * channels
        for step in range(total if num_steps is None else min(num_steps, total)):
            row, rest = divmod(step, width * channels)
            col, ch = divmod(rest, channels)
            inputs = x if labels is None else {"images": x, "labels": np.asarray(labels)}
            logits = self.predict(inputs, batch_size=n, verbose=0)
            x[:, row, col, ch] = np.asarray(self._draw(logits[:, row, col, ch], seed, step, temperature))
        return tf.constant(x)

    @tf.function(reduce_retracing=True)
    def _compiled_loop(self, x, labels, seed, temperature, num_steps=None):
        """Full recomputation: one network pass per sub-pixel, inside one graph.

        ``num_steps`` (an int32 tensor) stops after that many sub-pixels.
        """
        height, width, channels = self.data_shape
        total = height * width * channels
        stop = total if num_steps is None else tf.minimum(num_steps, total)

        def body(step, x):
            logits = self.logits(x, labels)
            pos, ch = step // channels, step % channels
            row, col = pos // width, pos % width
            value = self._draw(logits[:, row, col, ch], seed, step, temperature)
            hot = tf.reshape(tf.one_hot(step, total, dtype=tf.float32), self.data_shape)
            return step + 1, x + value[:, None, None, None] * hot[None]

        _, x = tf.while_loop(lambda step, x: step < stop, body, [tf.constant(0), x])
        return x

    def _cached_loop(self, n, labels, seed, temperature):
        raise NotImplementedError(f"{type(self).__name__} has no cached sampler.")

    # ------------------------------------------------- cached-sampler tools
    def _zero_slot_array(self, n, features, dtype=None):
        """A ``TensorArray`` of ``H * W + 1`` entries ``(n, features)``, the last one zeros."""
        height, width, _ = self.data_shape
        dtype = dtype or self.compute_dtype
        array = tf.TensorArray(dtype, size=height * width + 1, element_shape=(n, features),
                               clear_after_read=False)
        return array.write(height * width, tf.zeros((n, features), dtype))

    def _taps(self, layer, array, index_table, pos, centre):
        """Inputs of ``layer`` at the taps of pixel ``pos``: cached ones plus ``centre``.

        Args:
            layer: a built :class:`MaskedConv2D`.
            array: ``TensorArray`` of the layer's input at earlier pixels.
            index_table: int32 tensor ``(H * W, P')`` of the non-centre taps.
            pos: flat pixel index (scalar tensor).
            centre: the layer's input at ``pos`` itself ``(n, F)``.

        Returns:
            tensor ``(n, P, F)`` for :meth:`MaskedConv2D.apply_taps`.
        """
        parts = []
        if index_table.shape[1]:
            parts.append(array.gather(index_table[pos]))
        if layer.has_centre_tap():
            parts.append(centre[None])
        values = parts[0] if len(parts) == 1 else tf.concat(parts, axis=0)
        return tf.transpose(values, [1, 0, 2])

    def _tap_table(self, layer):
        """Gather table of ``layer``'s non-centre taps for every pixel (int32 tensor)."""
        height, width, _ = self.data_shape
        offsets = layer.tap_offsets()
        if layer.has_centre_tap():
            offsets = offsets[:-1]
        return tf.constant(tap_gather_indices(offsets, height, width).reshape(height * width, len(offsets)))

    def _finish_samples(self, samples_array, n):
        """Stacks a ``TensorArray`` of ``(n, C)`` sub-pixel values into images."""
        height, width, channels = self.data_shape
        values = samples_array.stack()[: height * width]
        return tf.reshape(tf.transpose(values, [1, 0, 2]), (n, height, width, channels))
