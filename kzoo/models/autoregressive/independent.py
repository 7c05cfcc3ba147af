"""The fully independent pixel model: the baseline of every autoregressive model.

Each pixel gets its own distribution and ignores every other pixel,

    p(x) = prod_i p(x_i),

so a binary image of ``D`` pixels costs ``D`` parameters (one logit per
pixel; 784 for MNIST), against ``2**D - 1`` for the full chain rule
``p(x) = prod_i p(x_i | x_<i)`` with tabular conditionals. It captures the
average digit and nothing of the strokes: a useful floor for the
likelihood of the richer models (FVSBN, NADE, MADE, PixelCNN).

References:
    Frey, "Graphical Models for Machine Learning and Digital
    Communication", MIT Press 1998 (fully visible belief networks, of which
    this is the model without edges).
    Larochelle & Murray, "The Neural Autoregressive Distribution
    Estimator", AISTATS 2011 (the independent Bernoulli baseline of the
    binarized MNIST table).
"""

import math

import numpy as np
import tensorflow as tf

from kzoo.core.registry import register
from kzoo.core.validation import check_data_batch
from kzoo.models.autoregressive.base import LIKELIHOODS, VectorAutoregressiveModel

__all__ = ["IndependentBernoulli"]


@register("independent", family="autoregressive")
class IndependentBernoulli(VectorAutoregressiveModel):
    """Independent pixels: one Bernoulli logit (or one softmax) per pixel.

    ``p(x) = prod_i Bernoulli(x_i; sigmoid(l_i))`` with ``D`` free logits
    (``likelihood="bernoulli"``, for binarized images), or
    ``prod_i Categorical(x_i; softmax(l_i))`` with ``D * num_levels`` logits
    (``likelihood="categorical"``, for 8-bit images). The maximum-likelihood
    fit has a closed form, the pixel frequencies, which :meth:`estimate`
    sets directly; ``fit`` reaches it by gradient descent.

    Args:
        data_shape: per-example shape, e.g. ``(28, 28, 1)``.
        likelihood: ``"bernoulli"`` or ``"categorical"``.
        num_levels: pixel levels of the categorical likelihood (256 for
            8-bit data).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``data_shape``, ``likelihood`` or ``num_levels``.
    """

    likelihoods = LIKELIHOODS

    def __init__(self, data_shape=(28, 28, 1), likelihood="bernoulli", num_levels=256, **kwargs):
        super().__init__(data_shape=data_shape, likelihood=likelihood, num_levels=num_levels, **kwargs)
        shape = (self.num_dims,) if self.likelihood == "bernoulli" else (self.num_dims, self.num_levels)
        self.pixel_logits = self.add_weight(shape=shape, initializer="zeros", name="pixel_logits")

    def conditional_logits(self, x, training=False, **kwargs):
        """The pixel logits, the same for every example (they ignore ``x``)."""
        del training, kwargs
        logits = tf.cast(self.pixel_logits, tf.float32)
        batch = tf.shape(x)[:1]
        return tf.broadcast_to(logits[None], tf.concat([batch, tf.shape(logits)], axis=0))

    def estimate(self, x, pseudo_count=1.0):
        """Sets the logits to the (smoothed) maximum-likelihood estimate.

        Bernoulli: ``p_i = (sum_n x_ni + a) / (N + 2a)``; categorical:
        ``p_ik = (count_ik + a) / (N + K a)``, with ``a = pseudo_count``
        (``a = 1`` is Laplace smoothing; ``a = 0`` is the plain frequency,
        which gives infinite NLL to any pixel value never seen).

        Args:
            x: array ``(N,) + data_shape`` (binary for Bernoulli; values in
                [0, 1] for categorical).
            pseudo_count: non-negative smoothing count ``a``.

        Returns:
            The model (with updated logits).

        Raises:
            ValueError: wrong shape, NaN values or a negative
                ``pseudo_count``.
        """
        x = check_data_batch(x, self.data_shape, what="x", value_range=(0.0, 1.0))
        if not (isinstance(pseudo_count, (int, float)) and pseudo_count >= 0):
            raise ValueError(f"pseudo_count must be a non-negative number, got {pseudo_count!r}.")
        flat = x.reshape(len(x), -1).astype(np.float64)
        n = float(len(flat))
        with np.errstate(divide="ignore"):
            if self.likelihood == "bernoulli":
                ones = flat.sum(axis=0)
                logits = np.log(ones + pseudo_count) - np.log(n - ones + pseudo_count)
            else:
                levels = np.clip(np.rint(flat * (self.num_levels - 1)), 0, self.num_levels - 1).astype(np.int64)
                counts = np.zeros((self.num_dims, self.num_levels))
                np.add.at(counts, (np.broadcast_to(np.arange(self.num_dims), levels.shape), levels), 1.0)
                logits = np.log(counts + pseudo_count) - math.log(n + self.num_levels * pseudo_count)
        # Unseen values under pseudo_count=0: a large finite logit keeps the arithmetic finite.
        logits = np.clip(logits, -30.0, 30.0)
        self.pixel_logits.assign(logits.astype(np.float32))
        return self

    def _sample_flat(self, n, seed, **kwargs):
        """All pixels at once: they are independent."""
        del kwargs
        logits = self.conditional_logits(tf.zeros(tf.stack([n, self.num_dims])))
        return self._draw(logits, seed)
