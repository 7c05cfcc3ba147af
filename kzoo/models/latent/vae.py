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

from kzoo.core.base import LatentModel, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_number, check_positive_int
from kzoo.models.latent.networks import check_divisible, conv_decoder, conv_encoder, hidden_features

__all__ = ["VAE"]

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")


@register("vae", family="latent")
class VAE(LatentModel):
    """Convolutional VAE with a diagonal Gaussian posterior.

    The encoder gives q(z|x) = N(mu(x), diag(sigma(x)^2)) as a
    ``tfd.MultivariateNormalDiag``, the prior is N(0, I), and the decoder
    gives p(x|z): independent Bernoulli pixels (``likelihood="bernoulli"``,
    for binarized data) or independent Gaussians with a learned per-channel
    scale (``likelihood="gaussian"``, for dequantized 8-bit data in [0, 1]).
    Training maximizes the ELBO, E_q[log p(x|z)] - beta KL(q(z|x) || p(z)),
    with the reparameterization trick and the KL computed by TFP. With
    ``beta != 1`` this is the beta-VAE objective; ``kl_warmup_steps`` ramps
    the KL weight linearly from 0 to ``beta`` over the first optimizer steps
    (Bowman et al. 2016; Sønderby et al. 2016). The ramp reads the
    optimizer's step counter, which ``.keras`` files and training backups
    save, so a resumed run continues the schedule where it stopped; test
    steps (validation) use the full ``beta``, so early stopping compares
    the same objective in every epoch.

    ``log_prob(x, k=...)`` is the importance-weighted bound
    log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. 2016):
    a lower bound on log p(x) for any encoder (beta-VAEs included) that
    equals the ELBO in expectation for k = 1 and tightens as k grows.

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
        kl_warmup_steps: 0 (no warm-up), or the number of optimizer steps
            over which the KL weight grows linearly from 0 to ``beta``.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``latent_dim``, ``likelihood``, ``beta``,
            ``kl_warmup_steps`` or a ``data_shape`` the convolutions cannot
            map.
    """

    loss_names = ("loss", "reconstruction", "kl")
    stochastic_log_prob = True

    def __init__(self, data_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), hidden_units=256,
                 likelihood="bernoulli", beta=1.0, kl_warmup_steps=0, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = tuple(check_positive_int(f, "filters entry") for f in filters)
        check_divisible(self.data_shape, self.filters)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        self.beta = float(check_number(beta, "beta", minimum=0, description="a non-negative number"))
        self.kl_warmup_steps = int(check_number(kl_warmup_steps, "kl_warmup_steps", integer=True, minimum=0,
                                                description="a non-negative integer number of steps"))
        self.encoder = conv_encoder(self.filters, self.hidden_units, 2 * self.latent_dim)
        self.decoder = conv_decoder(self.data_shape, self.filters, self.hidden_units, self.data_shape[-1])
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
            "kl_warmup_steps": self.kl_warmup_steps,
        })
        return config

    def data_options(self, split):
        """Bernoulli: dynamic binarization to train, static to evaluate;
        Gaussian: uniform dequantization."""
        if self.likelihood == "bernoulli":
            return {"binarize": "dynamic" if split == "train" else "static"}
        return {"dequantize": True}

    def build_for_data(self):
        if not self.built:
            labels = tf.zeros((1,), tf.int32) if self.is_conditional else None
            self(tf.zeros((1,) + self.data_shape), labels=labels, training=False)

    # ------------------------------------------------------------ components
    def encoder_input(self, x, labels=None):
        """What the encoder sees: the images (a conditional model adds its labels)."""
        del labels
        return x

    def decoder_input(self, z, labels=None):
        """What the decoder sees: the codes (a conditional model adds its labels)."""
        del labels
        return z

    def prior(self):
        """The prior p(z) = N(0, I) as a ``tfd.MultivariateNormalDiag``."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))

    def posterior(self, x, labels=None, training=False):
        """The approximate posterior q(z|x) as a ``tfd.MultivariateNormalDiag``."""
        params = to_float32(self.encoder(self.encoder_input(x, labels), training=training))
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.nn.softplus(raw_scale) + 1e-4)

    def decoder_distribution(self, z, labels=None, training=False):
        """p(x|z) as a ``tfd.Independent`` over the pixels of each image."""
        params = to_float32(self.decoder(self.decoder_input(z, labels), training=training))
        if self.likelihood == "bernoulli":
            return tfd.Independent(tfd.Bernoulli(logits=params, dtype=tf.float32), reinterpreted_batch_ndims=3)
        scale = tf.exp(tf.cast(self.log_scale, tf.float32))
        return tfd.Independent(tfd.Normal(loc=tf.sigmoid(params), scale=scale), reinterpreted_batch_ndims=3)

    def _mean_image(self, z, labels=None):
        params = to_float32(self.decoder(self.decoder_input(z, labels), training=False))
        return tf.sigmoid(params)

    def kl_weight(self):
        """The KL weight of the current step: ``beta``, ramped up over ``kl_warmup_steps``."""
        if not self.kl_warmup_steps:
            return tf.constant(self.beta)
        progress = tf.cast(self.step_counter(), tf.float32) / float(self.kl_warmup_steps)
        return self.beta * tf.minimum(1.0, progress)

    def importance_log_weights(self, x, labels, epsilon, training=False):
        """log p(x, z_i) - log q(z_i | x) for given standard-normal draws.

        Args:
            x: float32 batch ``(N,) + data_shape``.
            labels: int32 ``(N,)`` for a conditional model, else None.
            epsilon: float32 ``(k, N, latent_dim)``: z_i = mu + sigma * eps_i.
            training: network mode.

        Returns:
            ``(log_w, log_px_z, posterior)``: two float32 ``(k, N)`` tensors
            and q(z|x).
        """
        posterior = self.posterior(x, labels, training=training)
        k = tf.shape(epsilon)[0]
        z = posterior.mean() + posterior.stddev() * epsilon  # (k, N, D)
        flat_z = tf.reshape(z, [-1, self.latent_dim])
        flat_labels = None if labels is None else tf.tile(labels, [k])
        images = tf.reshape(tf.repeat(x[None], k, axis=0), tf.concat([[-1], tf.shape(x)[1:]], 0))
        log_px_z = self.decoder_distribution(flat_z, flat_labels, training=training).log_prob(images)
        log_px_z = tf.reshape(log_px_z, [k, -1])
        return log_px_z + self.prior().log_prob(z) - posterior.log_prob(z), log_px_z, posterior

    # -------------------------------------------------------------- contract
    def call(self, x, labels=None, training=False):
        """Reconstructs ``x`` through the posterior mean (deterministic)."""
        labels = self.label_tensor(labels)
        return self._mean_image(self.posterior(x, labels, training=training).mean(), labels)

    def compute_losses(self, x, y=None, training=False):
        labels = self.label_tensor(y)
        posterior = self.posterior(x, labels, training=training)
        batch = tf.shape(x)[0]
        epsilon = self.step_noise(batch, (self.latent_dim,))
        z = posterior.mean() + posterior.stddev() * epsilon
        reconstruction = -self.decoder_distribution(z, labels, training=training).log_prob(x)
        kl = tfd.kl_divergence(posterior, self.prior())
        # Warm-up is a training device: validation reports the objective at the full beta, comparable across epochs.
        weight = self.kl_weight() if training else tf.constant(self.beta)
        loss = tf.reduce_mean(reconstruction + weight * kl)
        return {"loss": loss, "reconstruction": tf.reduce_mean(reconstruction), "kl": tf.reduce_mean(kl)}

    def elbo(self, x, labels=None, seed=None):
        """The evidence lower bound per example (nats), one posterior sample.

        Args:
            x: batch tensor.
            labels: int labels for a conditional model.
            seed: optional stateless seed tensor of shape [2].

        Returns:
            float32 tensor of shape (N,).
        """
        return self.log_prob_batch(x, k=1, seed=seed, labels=labels)

    @tf.function(reduce_retracing=True)
    def _log_weights(self, x, labels, k, seed):
        epsilon = tf.random.stateless_normal(tf.stack([k, tf.shape(x)[0], self.latent_dim]), seed)
        return self.importance_log_weights(x, labels, epsilon)[0]

    def log_prob_batch(self, x, k=100, seed=None, chunk=50, labels=None, **kwargs):
        """Importance-weighted lower bound on log p(x), nats per example.

        Args:
            x: batch tensor in [0, 1].
            k: number of importance samples (k = 1 gives the ELBO).
            seed: stateless seed tensor of shape [2] (random if None).
            chunk: importance samples evaluated per decoder pass.
            labels: int labels for a conditional model (log p(x | labels)).

        Returns:
            float32 tensor of shape (N,).
        """
        del kwargs
        k = check_positive_int(k, "k")
        labels = self.label_tensor(labels)
        if seed is None:
            seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        x = tf.cast(x, tf.float32)
        weights = []
        for index, start in enumerate(range(0, k, chunk)):
            size = min(chunk, k - start)
            chunk_seed = tf.random.experimental.stateless_fold_in(seed, index)
            weights.append(self._log_weights(x, labels, tf.constant(size), chunk_seed))
        log_w = tf.concat(weights, axis=0)
        return tf.reduce_logsumexp(log_w, axis=0) - math.log(k)

    def encode_batch(self, x, labels=None):
        return self.posterior(tf.cast(x, tf.float32), self.label_tensor(labels)).mean()

    def encoder_features_batch(self, x, labels=None):
        return hidden_features(self.encoder, self.encoder_input(tf.cast(x, tf.float32), self.label_tensor(labels)))

    def decode_batch(self, z, labels=None):
        return self._mean_image(tf.cast(z, tf.float32), self.label_tensor(labels))

    def sample_batch(self, n, seed, temperature=1.0, labels=None):
        """Decodes prior samples; returns the mean image (pixel probabilities).

        Args:
            n: number of images.
            seed: stateless seed tensor of shape [2].
            temperature: scale of the prior noise (1 samples the prior).
            labels: int labels ``(n,)`` for a conditional model.
        """
        z = temperature * tf.random.stateless_normal([n, self.latent_dim], seed)
        return self._mean_image(z, self.label_tensor(labels))
