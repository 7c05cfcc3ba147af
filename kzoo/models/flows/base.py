"""The base of kzoo's normalizing flows: exact density, sampling, encoding.

A flow is an invertible map ``f`` from data ``x`` to noise ``z = f(x)`` with
a standard normal base density, so

    log p(x) = log N(f(x); 0, I) + log |det df/dx|.

:class:`FlowModel` composes :class:`kzoo.layers.FlowLayer` steps into such a
map, optionally with a multi-scale architecture (after each level but the
last, half of the channels are factored out straight into ``z``), and
provides everything else: ``log_prob`` (exact, nats), ``encode``
(``x -> z``, flattened), ``decode`` (``z -> x``), ``generate`` with a
temperature, and an image preprocessing whose Jacobian is part of
``log_prob``.

Image preprocessing (``preprocessing="logit"``): data ``x`` in [0, 1]
(uniformly dequantized 8-bit pixels) is mapped to
``y = logit(alpha + (1 - 2 alpha) x)`` before the flow, and

    log |dy/dx| = sum_i [log(1 - 2 alpha) - log p_i - log(1 - p_i)],
    p_i = alpha + (1 - 2 alpha) x_i,

is added, so ``log_prob`` is the density of the dequantized data on
``[0, 1]^D``. ``kzoo eval`` adds ``D ln 256`` for the 256 bins (see
:mod:`kzoo.metrics.likelihood`), which gives the usual bits/dim.
``preprocessing="none"`` (the default for vectors) uses the data as is.

Density floor (``uniform_mixture=eps > 0``, images only): the model is the
mixture ``p(x) = (1 - eps) p_flow(x) + eps U(x)`` with ``U`` the uniform
density on ``[0, 1]^D``, so no input is ever less likely than ``eps`` under
the uniform, at most ``8 - log2(eps) / D`` bits/dim on 8-bit data. Without
it, a flow trained on images whose border pixels are always blank puts
almost no mass on ink there, and a test image with ink in such a pixel gets
an astronomically high NLL that dominates the mean. The floor costs
``-log(1 - eps)`` nats on every other image and draws a uniform-noise image
as a fraction ``eps`` of the samples. Training maximizes the lower bound
``log(1 - eps) + log p_flow(x) <= log p(x)``: the mixture's own gradient
vanishes wherever the flow is still far below the floor (at initialization,
everywhere).

Precision: every flow state, log-determinant and the base log-density are
float32; only networks inside the layers follow the global dtype policy.
"""

import math

import numpy as np
import tensorflow as tf

from kzoo.core.base import LatentModel
from kzoo.core.validation import check_choice, check_data_batch, check_number

__all__ = ["FlowModel"]

PREPROCESSINGS = ("none", "logit")
LOG_2PI = math.log(2.0 * math.pi)


class FlowModel(LatentModel):
    """A normalizing flow built from :class:`kzoo.layers.FlowLayer` steps.

    Subclasses implement :meth:`make_levels`, returning a list of levels,
    each a list of flow layers; after every level but the last, the first
    half of the channels (last axis) is factored out.

    Args:
        data_shape: per-example shape.
        preprocessing: ``"logit"`` (images in [0, 1]) or ``"none"``.
        logit_alpha: the ``alpha`` of the logit preprocessing, in (0, 0.5).
        uniform_mixture: weight ``eps`` in [0, 1) of the uniform component
            of the density floor (see the module docstring); 0 is the plain
            flow. Needs ``preprocessing="logit"`` (data on [0, 1]^D).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``preprocessing``, ``logit_alpha`` or
            ``uniform_mixture``.
    """

    loss_names = ("loss",)

    def __init__(self, data_shape=(28, 28, 1), preprocessing="none", logit_alpha=0.05, uniform_mixture=0.0,
                 **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.preprocessing = check_choice(preprocessing, "preprocessing", PREPROCESSINGS)
        self.logit_alpha = check_number(logit_alpha, "logit_alpha", minimum=0, maximum=0.5, exclusive_minimum=True,
                                        exclusive_maximum=True)
        self.uniform_mixture = check_number(uniform_mixture, "uniform_mixture", minimum=0, maximum=1,
                                            exclusive_maximum=True, description="a number in [0, 1)")
        if self.uniform_mixture and self.preprocessing != "logit":
            raise ValueError(f"uniform_mixture={uniform_mixture!r} mixes in the uniform density on [0, 1]^D, which "
                             f"needs data in [0, 1] (preprocessing='logit'), got preprocessing={preprocessing!r}.")

    def _assemble(self):
        """Creates and builds the layers of :meth:`make_levels` (call at the end of ``__init__``)."""
        levels = self.make_levels()
        if not levels or not all(levels):
            raise ValueError(f"{type(self).__name__}.make_levels() returned an empty level.")
        shape = tuple(self.data_shape)
        layers, sizes, pieces = [], [], []
        for index, level in enumerate(levels):
            for layer in level:
                layer.build((None,) + shape)
                shape = layer.output_shape_for(shape)
                layers.append(layer)
            sizes.append(len(level))
            if index < len(levels) - 1:
                channels = shape[-1]
                if channels < 2:
                    raise ValueError(f"Cannot factor out half of {channels} channel(s) after level {index}.")
                pieces.append(shape[:-1] + (channels // 2,))
                shape = shape[:-1] + (channels - channels // 2,)
        pieces.append(shape)
        self.flow_layers = layers
        self._level_sizes = sizes
        self._piece_shapes = pieces
        self._piece_sizes = [int(np.prod(p)) for p in pieces]

    def make_levels(self):
        """Returns a list of levels, each a list of unbuilt flow layers."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_levels().")

    def get_config(self):
        config = super().get_config()
        config.update({"preprocessing": self.preprocessing, "logit_alpha": self.logit_alpha})
        if self.uniform_mixture:
            config["uniform_mixture"] = self.uniform_mixture
        return config

    @property
    def latent_dim(self):
        """Size of the flattened latent code: the data dimension."""
        return self.num_dims

    def data_options(self, split):
        """Images: uniform dequantization (fresh noise per epoch to train, one fixed draw to evaluate)."""
        del split
        return {"dequantize": True} if len(self.data_shape) == 3 else {}

    # -------------------------------------------------------- preprocessing
    def _preprocess(self, x):
        if self.preprocessing == "none":
            return x, tf.zeros(tf.shape(x)[:1], tf.float32)
        alpha = self.logit_alpha
        p = alpha + (1.0 - 2.0 * alpha) * x
        y = tf.math.log(p) - tf.math.log1p(-p)
        log_det = math.log(1.0 - 2.0 * alpha) - tf.math.log(p) - tf.math.log1p(-p)
        return y, tf.reduce_sum(tf.reshape(log_det, [tf.shape(x)[0], -1]), axis=1)

    def _postprocess(self, y):
        if self.preprocessing == "none":
            return y
        return (tf.sigmoid(y) - self.logit_alpha) / (1.0 - 2.0 * self.logit_alpha)

    # ----------------------------------------------------------- transforms
    def forward_and_log_det(self, x, training=False):
        """Data to noise.

        Args:
            x: batch tensor ``(N,) + data_shape``.
            training: training call (ActNorm initializes on its first one).

        Returns:
            ``(z, log_det)``: float32 codes ``(N, D)`` and float32
            ``log |det dz/dx|`` ``(N,)`` including the preprocessing.
        """
        h, log_det = self._preprocess(tf.cast(x, tf.float32))
        pieces, position = [], 0
        batch = tf.shape(h)[0]
        for level, size in enumerate(self._level_sizes):
            for layer in self.flow_layers[position : position + size]:
                h, step = layer.forward(h, training=training)
                log_det = log_det + step
            position += size
            if level < len(self._level_sizes) - 1:
                channels = self._piece_shapes[level][-1]
                pieces.append(tf.reshape(h[..., :channels], [batch, -1]))
                h = h[..., channels:]
        pieces.append(tf.reshape(h, [batch, -1]))
        return tf.concat(pieces, axis=1), log_det

    def inverse_transform(self, z, bound=None):
        """Noise to data: the exact inverse of :meth:`forward_and_log_det`.

        Args:
            z: float32 codes ``(N, D)``.
            bound: if given, every intermediate state is clipped to
                ``[-bound, bound]`` so that an overflowing step (possible
                for far-out codes of an imperfect model, e.g. a sigmoid
                coupling dividing by a tiny scale) cannot produce Inf/NaN.
                Codes whose states stay inside the bound are unaffected.
        """
        z = tf.cast(z, tf.float32)
        batch = tf.shape(z)[0]
        flat = tf.split(z, self._piece_sizes, axis=1)
        h = tf.reshape(flat[-1], [batch] + list(self._piece_shapes[-1]))
        position = len(self.flow_layers)
        for level in reversed(range(len(self._level_sizes))):
            if level < len(self._level_sizes) - 1:
                piece = tf.reshape(flat[level], [batch] + list(self._piece_shapes[level]))
                h = tf.concat([piece, h], axis=-1)
            size = self._level_sizes[level]
            for layer in reversed(self.flow_layers[position - size : position]):
                h = layer.inverse(h)
                if bound is not None:
                    h = tf.clip_by_value(h, -bound, bound)
            position -= size
        return self._postprocess(h)

    # ------------------------------------------------------------- contract
    def call(self, x, training=False):
        """Encodes ``x`` to its float32 latent code ``(N, D)``."""
        return self.forward_and_log_det(x, training=training)[0]

    def base_log_prob(self, z):
        """float32 log N(z; 0, I) per example."""
        z = tf.cast(z, tf.float32)
        return -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * self.num_dims * LOG_2PI

    def log_prob_batch(self, x, training=False, **kwargs):
        """Exact log-density (nats, float32 ``(N,)``) of a batch.

        For ``preprocessing="logit"`` this is the density on ``[0, 1]^D``,
        with the uniform floor when ``uniform_mixture > 0`` (in a training
        call: its lower bound, see the module docstring).
        """
        del kwargs
        z, log_det = self.forward_and_log_det(x, training=training)
        log_prob = self.base_log_prob(z) + log_det
        if not self.uniform_mixture:
            return log_prob
        if training:
            return log_prob + math.log1p(-self.uniform_mixture)
        # log((1 - eps) p_flow + eps * 1); an overflowing flow term (-inf) leaves the floor.
        floor = tf.fill(tf.shape(log_prob), math.log(self.uniform_mixture))
        flow = tf.where(tf.math.is_nan(log_prob), -np.inf, log_prob) + math.log1p(-self.uniform_mixture)
        return tf.reduce_logsumexp(tf.stack([flow, floor]), axis=0)

    @tf.function(reduce_retracing=True)
    def _compiled_log_prob(self, x):
        return self.log_prob_batch(x)

    @tf.function(reduce_retracing=True)
    def _compiled_encode(self, x):
        return self.forward_and_log_det(x)[0]

    @tf.function(reduce_retracing=True)
    def _compiled_decode(self, z):
        # Images live in logit space, where |h| > 1e4 is saturated anyway.
        return self.inverse_transform(z, bound=1e4 if len(self.data_shape) == 3 else None)

    def log_prob(self, x, batch_size=256, seed=0, **kwargs):
        """Exact log-density of each example in nats (see :meth:`log_prob_batch`).

        Args:
            x: array ``(N,) + data_shape``.
            batch_size: examples per compiled call.
            seed: unused (the density is exact).

        Returns:
            float32 numpy array ``(N,)``.

        Raises:
            ValueError: wrong shape, empty batch or NaN/Inf values.
        """
        del seed, kwargs
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        out = [np.asarray(self._compiled_log_prob(tf.constant(x[i : i + batch_size])))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float32)

    def encode_batch(self, x):
        return self._compiled_encode(tf.cast(x, tf.float32))

    def decode_batch(self, z):
        """Noise to data; images are clipped to [0, 1] (the exact inverse is :meth:`inverse_transform`)."""
        x = self._compiled_decode(tf.cast(z, tf.float32))
        return tf.clip_by_value(x, 0.0, 1.0) if len(self.data_shape) == 3 else x

    def sample_batch(self, n, seed, temperature=1.0):
        """Decodes ``z ~ N(0, temperature^2 I)``.

        Args:
            n: number of samples.
            seed: stateless seed tensor of shape [2].
            temperature: standard deviation of the base noise (1 samples
                the model; lower values give cleaner, less diverse samples).

        Raises:
            ValueError: ``temperature`` is not a non-negative number.
        """
        temperature = check_number(temperature, "temperature", minimum=0, description="a non-negative number")
        z = temperature * tf.random.stateless_normal([n, self.latent_dim], seed)
        x = self.decode_batch(z)
        if not self.uniform_mixture:
            return x
        # The floor's share of the samples: uniform noise images.
        pick_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        noise_seed = tf.random.experimental.stateless_fold_in(seed, 2)
        uniform = tf.random.stateless_uniform([n], pick_seed) < self.uniform_mixture
        noise = tf.random.stateless_uniform(tf.shape(x), noise_seed, dtype=x.dtype)
        return tf.where(tf.reshape(uniform, [-1] + [1] * len(self.data_shape)), noise, x)
