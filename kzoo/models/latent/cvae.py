"""Conditional VAE: the VAE with the class label given to the encoder and the decoder.

References:
    Sohn, Lee & Yan, "Learning Structured Output Representation using Deep
    Conditional Generative Models", NeurIPS 2015.
    Kingma, Rezende, Mohamed & Welling, "Semi-Supervised Learning with Deep
    Generative Models", NeurIPS 2014 (the M2 model's label-conditioned
    decoder).
"""

import tensorflow as tf

from kzoo.core.registry import register
from kzoo.core.validation import check_positive_int
from kzoo.models.latent.vae import VAE

__all__ = ["ConditionalVAE"]


@register("cvae", family="latent")
class ConditionalVAE(VAE):
    """A VAE for p(x | y): q(z | x, y), p(z) = N(0, I), p(x | z, y).

    The encoder sees the image with ``num_classes`` constant one-hot planes
    appended as channels; the decoder sees the code concatenated with the
    one-hot label. Training maximizes the conditional ELBO
    E_q[log p(x | z, y)] - beta KL(q(z | x, y) || p(z)) on labelled data
    (``fit(x, y)``), so z is pushed to hold what the label does not: style
    (thickness, slant, size). ``generate(n, labels=...)`` draws digits of the
    requested classes; ``log_prob(x, labels=...)`` is the importance-weighted
    bound on log p(x | y); ``encode``/``decode``/``interpolate`` take the
    labels too, so one style code can be decoded as every digit.

    Args:
        num_classes: number of classes (10 for MNIST).
        **kwargs: every :class:`VAE` argument (``latent_dim``, ``filters``,
            ``hidden_units``, ``likelihood``, ``beta``, ``kl_warmup_steps``,
            ``data_shape``, ``name``, ``dtype``).

    Raises:
        ValueError: ``num_classes`` is not a positive int, or a bad VAE
            argument.
    """

    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int(num_classes, "num_classes")

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config

    def _one_hot(self, labels, dtype):
        return tf.one_hot(labels, self.num_classes, dtype=dtype)

    def encoder_input(self, x, labels=None):
        """The image with one constant one-hot plane per class appended as channels."""
        planes = self._one_hot(labels, x.dtype)[:, None, None, :]
        planes = tf.broadcast_to(planes, tf.concat([tf.shape(x)[:3], [self.num_classes]], 0))
        return tf.concat([x, planes], axis=-1)

    def decoder_input(self, z, labels=None):
        """The code concatenated with the one-hot label."""
        return tf.concat([z, self._one_hot(labels, z.dtype)], axis=-1)
