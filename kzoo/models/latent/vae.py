"""Variational autoencoder with a convolutional encoder and decoder.

References:
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    Rezende, Mohamed & Wierstra, "Stochastic Backpropagation and Approximate
    Inference in Deep Generative Models", ICML 2014.
    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders",
    ICLR 2016 (the bound used by ``log_prob``).
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp
import keras

from kzoo.core.base import LatentModel, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_positive_int

__all__ = ["VAE"]

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")


def _conv_encoder(data_shape, filters, hidden_units, latent_dim):
    layers = []
    for i, f in enumerate(filters):
        layers.append(keras.layers.Conv2D(f, 4, strides=2, padding="same", activation="swish", name=f"conv_{i}"))
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(hidden_units, activation="swish", name="hidden"),
        keras.layers.Dense(2 * latent_dim, name="posterior_params"),
    ]
    return keras.Sequential(layers, name="encoder")


def _conv_decoder(data_shape, filters, hidden_units, out_channels):
    height, width, _ = data_shape
    steps = len(filters)
    if height % (2**steps) or width % (2**steps):
        raise ValueError(
            f"data_shape {tuple(data_shape)} must have height and width divisible by 2**len(filters) = {2**steps}."
        )
    base_h, base_w = height // 2**steps, width // 2**steps
    layers = [
        keras.layers.Dense(hidden_units, activation="swish", name="hidden"),
        keras.layers.Dense(base_h * base_w * filters[-1], activation="swish", name="project"),
        keras.layers.Reshape((base_h, base_w, filters[-1]), name="reshape"),
    ]
    for i, f in enumerate(reversed(filters)):
        layers.append(keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="swish",
                                                   name=f"deconv_{i}"))
    layers.append(keras.layers.Conv2D(out_channels, 3, padding="same", name="pixel_params"))
    return keras.Sequential(layers, name="decoder")


@register("vae", family="latent")
class VAE(LatentModel):
    """Convolutional VAE with a diagonal Gaussian posterior.

    The encoder gives q(z|x) = N(mu(x), diag(sigma(x)^2)) as a
    ``tfd.MultivariateNormalDiag``, the prior is N(0, I), and the decoder
    gives p(x|z): independent Bernoulli pixels (``likelihood="bernoulli"``,
    for binarized data) or independent Gaussians with a learned per-channel
    scale (``likelihood="gaussian"``, for dequantized 8-bit data in [0, 1]).
    Training maximizes the ELBO, E_q[log p(x|z)] - beta KL(q(z|x) || p(z)),
    with the reparameterization trick and the KL computed by TFP.

    ``log_prob(x, k=...)`` is the importance-weighted bound
    log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. 2016):
    a lower bound on log p(x) that equals the ELBO in expectation for k = 1
    and tightens as k grows.

    Args:
        data_shape: per-example image shape (H, W, C); H and W divisible by
            ``2**len(filters)``.
        latent_dim: dimension of z.
        filters: channels of the stride-2 convolutions of the encoder (the
            decoder mirrors them).
        hidden_units: width of the dense layer on each side.
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        beta: weight of the KL term (1 gives the ELBO; other values give a
            beta-VAE objective, Higgins et al. 2017).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``latent_dim``, ``likelihood``, ``beta`` or a
            ``data_shape`` the convolutions cannot map.
    """

    loss_names = ("loss", "reconstruction", "kl")
    stochastic_log_prob = True

    def __init__(self, data_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), hidden_units=256,
                 likelihood="bernoulli", beta=1.0, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        if len(self.data_shape) != 3:
            raise ValueError(f"VAE needs image data_shape (H, W, C), got {tuple(data_shape)}.")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = tuple(check_positive_int(f, "filters entry") for f in filters)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise ValueError(f"beta must be a non-negative number, got {beta!r}.")
        self.beta = float(beta)
        self.encoder = _conv_encoder(self.data_shape, self.filters, self.hidden_units, self.latent_dim)
        self.decoder = _conv_decoder(self.data_shape, self.filters, self.hidden_units, self.data_shape[-1])
        if self.likelihood == "gaussian":
            self.log_scale = self.add_weight(shape=(self.data_shape[-1],), initializer="zeros", name="log_scale")

    def get_config(self):
        config = super().get_config()
        config.update({
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "hidden_units": self.hidden_units,
            "likelihood": self.likelihood,
            "beta": self.beta,
        })
        return config

    def data_options(self, split):
        """Bernoulli: dynamic binarization to train, static to evaluate;
        Gaussian: uniform dequantization."""
        if self.likelihood == "bernoulli":
            return {"binarize": "dynamic" if split == "train" else "static"}
        return {"dequantize": True}

    # ------------------------------------------------------------ components
    def prior(self):
        """The prior p(z) = N(0, I) as a ``tfd.MultivariateNormalDiag``."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))

    def posterior(self, x, training=False):
        """The approximate posterior q(z|x) as a ``tfd.MultivariateNormalDiag``."""
        params = to_float32(self.encoder(x, training=training))
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.nn.softplus(raw_scale) + 1e-4)

    def decoder_distribution(self, z, training=False):
        """p(x|z) as a ``tfd.Independent`` over the pixels of each image."""
        params = to_float32(self.decoder(z, training=training))
        if self.likelihood == "bernoulli":
            return tfd.Independent(tfd.Bernoulli(logits=params, dtype=tf.float32), reinterpreted_batch_ndims=3)
        scale = tf.exp(tf.cast(self.log_scale, tf.float32))
        return tfd.Independent(tfd.Normal(loc=tf.sigmoid(params), scale=scale), reinterpreted_batch_ndims=3)

    def _mean_image(self, z):
        params = to_float32(self.decoder(z, training=False))
        return tf.sigmoid(params)

    # -------------------------------------------------------------- contract
    def call(self, x, training=False):
        """Reconstructs ``x`` through the posterior mean (deterministic)."""
        return self._mean_image(self.posterior(x, training=training).mean())

    def compute_losses(self, x, y=None, training=False):
        posterior = self.posterior(x, training=training)
        batch = tf.shape(x)[0]
        epsilon = self.step_noise(batch, (self.latent_dim,))
        z = posterior.mean() + posterior.stddev() * epsilon
        reconstruction = -self.decoder_distribution(z, training=training).log_prob(x)
        kl = tfd.kl_divergence(posterior, self.prior())
        loss = tf.reduce_mean(reconstruction + self.beta * kl)
        return {"loss": loss, "reconstruction": tf.reduce_mean(reconstruction), "kl": tf.reduce_mean(kl)}

    def elbo(self, x, seed=None):
        """The evidence lower bound per example (nats), one posterior sample.

        Args:
            x: batch tensor.
            seed: optional stateless seed tensor of shape [2].

        Returns:
            float32 tensor of shape (N,).
        """
        return self.log_prob_batch(x, k=1, seed=seed)

    @tf.function(reduce_retracing=True)
    def _log_weights(self, x, k, seed):
        posterior = self.posterior(x)
        batch = tf.shape(x)[0]
        epsilon = tf.random.stateless_normal(tf.stack([k, batch, self.latent_dim]), seed)
        z = posterior.mean() + posterior.stddev() * epsilon  # (k, N, D)
        flat = tf.reshape(z, [-1, self.latent_dim])
        images = tf.repeat(x[None], k, axis=0)
        log_px_z = self.decoder_distribution(flat).log_prob(tf.reshape(images, tf.concat([[-1], tf.shape(x)[1:]], 0)))
        log_px_z = tf.reshape(log_px_z, [k, batch])
        return log_px_z + self.prior().log_prob(z) - posterior.log_prob(z)

    def log_prob_batch(self, x, k=100, seed=None, chunk=50, **kwargs):
        """Importance-weighted lower bound on log p(x), nats per example.

        Args:
            x: batch tensor in [0, 1].
            k: number of importance samples (k = 1 gives the ELBO).
            seed: stateless seed tensor of shape [2] (random if None).
            chunk: importance samples evaluated per decoder pass.

        Returns:
            float32 tensor of shape (N,).
        """
        del kwargs
        k = check_positive_int(k, "k")
        if seed is None:
            seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        x = tf.cast(x, tf.float32)
        weights = []
        for index, start in enumerate(range(0, k, chunk)):
            size = min(chunk, k - start)
            chunk_seed = tf.random.experimental.stateless_fold_in(seed, index)
            weights.append(self._log_weights(x, tf.constant(size), chunk_seed))
        log_w = tf.concat(weights, axis=0)
        return tf.reduce_logsumexp(log_w, axis=0) - math.log(k)

    def encode_batch(self, x):
        return self.posterior(tf.cast(x, tf.float32)).mean()

    def decode_batch(self, z):
        return self._mean_image(tf.cast(z, tf.float32))

    def sample_batch(self, n, seed, temperature=1.0):
        """Decodes prior samples; returns the mean image (pixel probabilities).

        Args:
            n: number of images.
            seed: stateless seed tensor of shape [2].
            temperature: scale of the prior noise (1 samples the prior).
        """
        z = temperature * tf.random.stateless_normal([n, self.latent_dim], seed)
        return self._mean_image(z)
