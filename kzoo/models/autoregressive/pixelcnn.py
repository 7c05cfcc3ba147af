"""PixelCNN: an autoregressive image model built from masked convolutions.

The image is factorized in raster order (row by row, left to right, then
channel by channel within a pixel),

    log p(x) = sum_i log p(x_i | x_<i),

and a stack of masked convolutions gives the logits of every conditional in
one pass: a 7x7 mask-A convolution (which cannot see the pixel it predicts),
residual blocks of mask-B convolutions, and a 1x1 output head. Training and
``log_prob`` are therefore as fast as a convnet; sampling needs one network
evaluation per pixel.

This module also holds :class:`PixelModel`, the base the PixelCNN, Gated
PixelCNN and PixelRNN models share: output distributions (TFP ``Bernoulli``
for binarized data, a ``num_levels``-way ``Categorical`` for 8-bit data),
class conditioning, ``log_prob`` and the samplers.

Sampling (``generate(n, seed, sampler=...)``):

* ``"naive"``: a Python loop with one ``model.predict`` of the whole image
  per sub-pixel, the reference implementation;
* ``"compiled"``: the same full recomputation, but the loop over pixels runs
  inside one compiled ``tf.function`` (``tf.while_loop``);
* ``"cached"`` (model-specific): one compiled loop that evaluates the network
  only where the new pixel matters. For PixelCNN every layer's activation at
  a pixel is computed exactly once, when that pixel is reached: the masked
  convolutions read their causal taps from per-layer caches
  (``tf.TensorArray``) of the activations computed at earlier pixels, so a
  whole image costs about one forward pass of work.

All samplers draw pixel ``t`` with the stateless seed
``fold_in(seed, t)``, so they return exactly the same images for the same
seed (up to floating-point rounding of the logits, which flips a sample only
when a uniform draw falls within ~1e-7 of a pixel's probability).

References:
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016 (PixelCNN, masks A/B, residual blocks; binarized
    MNIST NLL 81.30 nats).
    van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu,
    "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016
    (class-conditional PixelCNN).
    Ramachandran, Paine, Khorrami, Babaeizadeh, Chang, Zhang,
    Hasegawa-Johnson, Campbell & Huang, "Fast Generation for Convolutional
    Autoregressive Models", ICLR 2017 workshop (caching activations to
    sample without recomputation).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import keras

from kzoo.core.base import ExplicitModel, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_data_batch, check_positive_int, check_positive_number
from kzoo.layers.masked_conv import MaskedConv2D, tap_gather_indices

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "categorical")


def _check_int_at_least(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_odd(value, name):
    value = check_positive_int(value, name)
    if value % 2 == 0:
        raise ValueError(f"{name} must be an odd positive integer, got {value!r}.")
    return value


def _check_divisible(value, name, groups, what="the number of image channels"):
    if value % groups:
        raise ValueError(f"{name}={value} must be divisible by {what} ({groups}) so that channels split into "
                         "equal colour groups.")
    return value


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
        self.num_levels = _check_int_at_least(num_levels, "num_levels", 2)
        self.num_classes = None if num_classes is None else _check_int_at_least(num_classes, "num_classes", 2)

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
        x = check_data_batch(x, self.data_shape, what="x")
        batch_size = check_positive_int(batch_size, "batch_size")
        labels = self.check_labels(labels, len(x), cycle_missing=False)
        out = []
        for start in range(0, len(x), batch_size):
            chunk = None if labels is None else tf.constant(labels[start : start + batch_size])
            out.append(np.asarray(self._log_prob_graph(tf.constant(x[start : start + batch_size]), chunk)))
        return np.concatenate(out).astype(np.float32)

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


@register("pixelcnn", family="autoregressive")
class PixelCNN(PixelModel):
    """PixelCNN with mask-B residual blocks and an optional class conditioning.

    Architecture (van den Oord et al. 2016, Table 1): a ``first_kernel_size``
    mask-A convolution to ``filters`` channels; ``num_blocks`` residual
    blocks ``h + conv1x1(relu(conv_kxk(relu(conv1x1(relu(h))))))`` whose
    inner convolutions have ``filters / 2`` channels and mask B; then ReLU,
    a mask-B 1x1 convolution to ``head_units``, ReLU and a mask-B 1x1
    convolution to the logits. A class-conditional model adds a learned
    per-class bias after the first convolution and inside every block.
    Colour images use channel-group masks (R before G before B).

    Args:
        data_shape: image shape ``(H, W, C)``.
        filters: channels of the residual stream (even; ``filters / 2``
            divisible by C).
        num_blocks: residual blocks.
        kernel_size: odd kernel size of the blocks' masked convolutions.
        first_kernel_size: odd kernel size of the first (mask-A) convolution.
        head_units: channels of the hidden 1x1 layer of the output head.
        likelihood: ``"bernoulli"`` or ``"categorical"``.
        num_levels: levels of the categorical likelihood.
        num_classes: None, or the number of classes to condition on.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad sizes, likelihood, levels or classes.
    """

    samplers = ("naive", "compiled", "cached")
    default_sampler = "cached"

    def __init__(self, data_shape=(28, 28, 1), filters=64, num_blocks=7, kernel_size=3, first_kernel_size=7,
                 head_units=64, likelihood="bernoulli", num_levels=256, num_classes=None, **kwargs):
        super().__init__(data_shape=data_shape, likelihood=likelihood, num_levels=num_levels,
                         num_classes=num_classes, **kwargs)
        groups = self.channels
        self.filters = check_positive_int(filters, "filters")
        if self.filters % 2:
            raise ValueError(f"filters must be even (the blocks use filters / 2 channels), got {filters!r}.")
        _check_divisible(self.filters // 2, "filters / 2", groups)
        self.num_blocks = _check_int_at_least(num_blocks, "num_blocks", 0)
        self.kernel_size = _check_odd(kernel_size, "kernel_size")
        self.first_kernel_size = _check_odd(first_kernel_size, "first_kernel_size")
        if self.first_kernel_size == 1 and groups == 1:
            raise ValueError("first_kernel_size=1 gives a mask-A convolution that sees nothing on 1-channel "
                             "images; use 3 or more (7 in the paper).")
        self.head_units = _check_divisible(check_positive_int(head_units, "head_units"), "head_units", groups)
        half = self.filters // 2
        self.input_conv = MaskedConv2D(self.filters, self.first_kernel_size, "A", groups, name="input_conv")
        self.blocks = []
        for b in range(self.num_blocks):
            self.blocks.append([
                MaskedConv2D(half, 1, "B", groups, name=f"block{b}_reduce"),
                MaskedConv2D(half, self.kernel_size, "B", groups, name=f"block{b}_conv"),
                MaskedConv2D(self.filters, 1, "B", groups, name=f"block{b}_expand"),
            ])
        self.head_hidden = MaskedConv2D(self.head_units, 1, "B", groups, name="head_hidden")
        self.head_out = MaskedConv2D(self.output_channels, 1, "B", groups, name="head_out")
        if self.num_classes is not None:
            self.class_bias = [keras.layers.Embedding(self.num_classes, self.filters, name="class_bias_input")]
            self.class_bias += [keras.layers.Embedding(self.num_classes, half, name=f"class_bias_block{b}")
                                for b in range(self.num_blocks)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "num_blocks": self.num_blocks,
            "kernel_size": self.kernel_size,
            "first_kernel_size": self.first_kernel_size,
            "head_units": self.head_units,
        })
        return config

    def _conditioning(self, labels):
        return self.class_biases(getattr(self, "class_bias", [None] * (self.num_blocks + 1)), labels)

    def network(self, inputs, labels=None, training=False):
        cond = self._conditioning(labels)
        h = self.input_conv(inputs)
        if cond[0] is not None:
            h = h + cond[0][:, None, None, :]
        for (reduce, conv, expand), bias in zip(self.blocks, cond[1:]):
            t = tf.nn.relu(reduce(tf.nn.relu(h)))
            t = conv(t)
            if bias is not None:
                t = t + bias[:, None, None, :]
            h = h + expand(tf.nn.relu(t))
        return self.head_out(tf.nn.relu(self.head_hidden(tf.nn.relu(h))))

    @tf.function
    def _cached_loop(self, n, labels, seed, temperature):
        """Incremental sampler: every layer's activation at a pixel is computed once.

        Pixel ``pos`` is reached when all its causal taps are final, so the
        masked convolutions are evaluated there only, reading their other
        taps from per-layer ``TensorArray`` caches of the activations of
        earlier pixels (the image's network inputs, and the input of every
        block's k x k convolution). 1x1 layers need no cache.
        """
        height, width, channels = self.data_shape
        dtype = self.compute_dtype
        cond = self._conditioning(labels)
        spatial = [self.input_conv] + [block[1] for block in self.blocks]
        tables = [self._tap_table(layer) for layer in spatial]
        kernels = {id(layer): layer.tap_kernel() for layer in self._masked_layers()}
        half = self.filters // 2

        def point(layer, value):
            return layer.apply_taps(value[:, None, :], kernels[id(layer)])

        def chain(pos, current, caches):
            """Logits at ``pos`` and the block-conv inputs there, given the current pixel."""
            taps = self._taps(self.input_conv, caches[0], tables[0], pos, current)
            h = self.input_conv.apply_taps(taps, kernels[id(self.input_conv)])
            if cond[0] is not None:
                h = h + cond[0]
            block_inputs = []
            for b, (reduce, conv, expand) in enumerate(self.blocks):
                t = tf.nn.relu(point(reduce, tf.nn.relu(h)))
                block_inputs.append(t)
                t = conv.apply_taps(self._taps(conv, caches[b + 1], tables[b + 1], pos, t), kernels[id(conv)])
                if cond[b + 1] is not None:
                    t = t + cond[b + 1]
                h = h + point(expand, tf.nn.relu(t))
            out = point(self.head_out, tf.nn.relu(point(self.head_hidden, tf.nn.relu(h))))
            return self._reshape_logits(out), block_inputs

        def body(pos, caches, samples):
            current = tf.zeros((n, channels), dtype)
            values = tf.zeros((n, channels), tf.float32)
            for ch in range(channels):
                logits, block_inputs = chain(pos, current, caches)
                value = self._draw(logits[:, ch], seed, pos * channels + ch, temperature)
                hot = tf.one_hot(ch, channels, dtype=tf.float32)[None]
                values = values + value[:, None] * hot
                current = self.to_network(values)
            caches = [caches[0].write(pos, current)] + [c.write(pos, v) for c, v in zip(caches[1:], block_inputs)]
            return pos + 1, caches, samples.write(pos, values)

        caches = [self._zero_slot_array(n, channels)] + [self._zero_slot_array(n, half) for _ in self.blocks]
        samples = self._zero_slot_array(n, channels, tf.float32)
        _, _, samples = tf.while_loop(lambda pos, *_: pos < height * width, body,
                                      [tf.constant(0), caches, samples])
        return self._finish_samples(samples, n)

    def _masked_layers(self):
        layers = [self.input_conv, self.head_hidden, self.head_out]
        for block in self.blocks:
            layers.extend(block)
        return layers
