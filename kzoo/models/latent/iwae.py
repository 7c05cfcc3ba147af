"""Importance-weighted autoencoder: the VAE's networks trained on the k-sample bound.

References:
    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders",
    ICLR 2016.
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp

from kzoo.core.registry import register
from kzoo.core.validation import check_positive_int
from kzoo.models.latent.vae import VAE

__all__ = ["IWAE"]

tfd = tfp.distributions


@register("iwae", family="latent")
class IWAE(VAE):
    """A VAE trained on the importance-weighted bound with ``num_samples`` samples.

    Same encoder, decoder, prior and ``log_prob`` as :class:`VAE`; only the
    training objective changes, so the two compare on one architecture.
    Each step draws k = ``num_samples`` posterior samples per example and
    maximizes L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)], which is at
    least the ELBO (L_1) and tightens towards log p(x) as k grows. The
    gradient weights each sample by its normalized importance weight, which
    lets the encoder keep posteriors broader than a VAE's and activates more
    latent units. A step costs about k decoder passes.

    The tracked ``reconstruction`` and ``kl`` are those of the first sample
    and the analytic KL(q(z|x) || p(z)): the ELBO's two terms, for comparing
    runs; ``loss`` is -L_k.

    Args:
        data_shape: per-example image shape (H, W, C).
        latent_dim: dimension of z.
        filters: channels of the encoder's stride-2 convolutions.
        hidden_units: width of the dense layer on each side.
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        num_samples: k, the importance samples per example in training
            (1 gives the VAE).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``num_samples`` or any of the VAE's arguments.
    """

    def __init__(self, data_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), hidden_units=256,
                 likelihood="bernoulli", num_samples=5, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, filters=filters, hidden_units=hidden_units,
                         likelihood=likelihood, **kwargs)
        self.num_samples = check_positive_int(num_samples, "num_samples")

    def get_config(self):
        config = super().get_config()
        del config["beta"], config["kl_warmup_steps"]
        config["num_samples"] = self.num_samples
        return config

    def compute_losses(self, x, y=None, training=False):
        labels = self.label_tensor(y)
        noise = self.step_noise(tf.shape(x)[0], (self.num_samples, self.latent_dim))  # (N, k, D)
        log_w, log_px_z, posterior = self.importance_log_weights(
            x, labels, tf.transpose(noise, [1, 0, 2]), training=training)
        bound = tf.reduce_logsumexp(log_w, axis=0) - math.log(self.num_samples)
        kl = tfd.kl_divergence(posterior, self.prior())
        return {"loss": -tf.reduce_mean(bound), "reconstruction": -tf.reduce_mean(log_px_z[0]),
                "kl": tf.reduce_mean(kl)}
