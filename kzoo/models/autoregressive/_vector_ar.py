"""Shared machinery of the autoregressive models of the flattened pixel vector.

An image of shape ``(H, W, C)`` is read as a vector ``x`` of ``D = H W C``
values in raster order (row by row, then column, then channel), and a model
gives each value a distribution conditioned on the values before it:

    log p(x) = sum_i log p(x_i | x_<i).

:class:`VectorAutoregressiveModel` holds what the independent baseline,
FVSBN, the Markov models, NADE and MADE share: the per-pixel output
distribution (a TFP ``Bernoulli`` for binary pixels or a 256-way
``Categorical`` for 8-bit pixels), the data options (dynamic binarization for
training, static binarization for held-out splits), exact ``log_prob_batch``
from one teacher-forced pass, and sampling as one compiled ``tf.function``
that walks over the pixels of the whole batch in a ``tf.range`` loop.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kzoo.core.base import ExplicitModel, to_float32
from kzoo.core.validation import check_choice

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "categorical")


def check_int_at_least(value, name, low):
    """Raises ValueError unless ``value`` is an int >= ``low``; returns it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


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
        self.num_levels = check_int_at_least(num_levels, "num_levels", 2)

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
