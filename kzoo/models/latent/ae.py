"""Deterministic autoencoder, and what it takes to make one generate.

An autoencoder learns x -> z -> x' by reconstruction alone. It compresses
and reconstructs, but nothing shapes the distribution of its codes, so it has
no sampler: decoding N(0, I) codes lands mostly where no training code lies.
Fitting a density to the training codes after training (ex-post density
estimation) gives it one.

References:
    Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural
    Networks", Science 2006.
    Ghosh, Sajjadi, Vergari, Black & Schölkopf, "From Variational to
    Deterministic Autoencoders", ICLR 2020 (ex-post density estimation on
    the codes).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kzoo.core.base import GenerativeModel, LatentCodes, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_data_batch, check_positive_int
from kzoo.models.latent.networks import check_divisible, conv_decoder, conv_encoder, hidden_features
from kzoo.models.latent.priors import code_mixture, fit_code_mixture

__all__ = ["Autoencoder"]

tfd = tfp.distributions

RECONSTRUCTIONS = ("bernoulli", "squared_l2")
CODE_SAMPLERS = ("prior", "gaussian", "gmm")


@register("ae", family="latent")
class Autoencoder(LatentCodes, GenerativeModel):
    """Deterministic convolutional autoencoder (the VAE's networks, no posterior noise, no KL).

    The encoder maps an image to a code z = f(x) of ``latent_dim`` numbers
    and the decoder maps z back to pixel logits; training minimizes the
    reconstruction cost only: the Bernoulli negative log-likelihood summed
    over pixels (the VAE's reconstruction term, so rows compare) or the
    squared error.

    ``generate`` draws codes with ``code_sampler``:

    * ``"prior"`` decodes N(0, I) codes. That is not a sampler: the training
      never made the codes look like N(0, I) (their scale, centre and
      correlations are whatever reconstruction needed), so most such codes
      fall outside the region the decoder was trained on and decode to
      blotches. It is kept to measure exactly that.
    * ``"gaussian"`` decodes draws from a full-covariance Gaussian fitted to
      the training codes, and ``"gmm"`` from a Gaussian mixture with
      ``code_components`` full-covariance components (fitted by EM). Both
      need :meth:`fit_code_density` after training (``kzoo train`` calls it
      on the training split); the fitted parameters are weights, saved with
      the model.

    Args:
        data_shape: image shape (H, W, C); H and W divisible by
            ``2**len(filters)``.
        latent_dim: dimension of the code.
        filters: channels of the encoder's stride-2 convolutions.
        hidden_units: width of the dense layer on each side.
        reconstruction: ``"bernoulli"`` (binarized data) or ``"squared_l2"``.
        code_components: components of the ``"gmm"`` code density.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``latent_dim``, ``filters``, ``reconstruction``,
            ``code_components`` or a ``data_shape`` the convolutions cannot
            map.
    """

    loss_names = ("loss",)
    generation_method = "code density sample, one decoder pass"

    def __init__(self, data_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), hidden_units=256,
                 reconstruction="bernoulli", code_components=10, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = tuple(check_positive_int(f, "filters entry") for f in filters)
        check_divisible(self.data_shape, self.filters)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.reconstruction = check_choice(reconstruction, "reconstruction", RECONSTRUCTIONS)
        self.code_components = check_positive_int(code_components, "code_components")
        self.encoder = conv_encoder(self.filters, self.hidden_units, self.latent_dim)
        self.decoder = conv_decoder(self.data_shape, self.filters, self.hidden_units, self.data_shape[-1])
        d, k = self.latent_dim, self.code_components
        self.code_density_fitted = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                   name="code_density_fitted")
        self.code_mean = self.add_weight(shape=(d,), initializer="zeros", trainable=False, name="code_mean")
        self.code_scale_tril = self.add_weight(shape=(d, d), initializer="identity", trainable=False,
                                               name="code_scale_tril")
        self.mixture_logits = self.add_weight(shape=(k,), initializer="zeros", trainable=False,
                                              name="mixture_logits")
        self.mixture_means = self.add_weight(shape=(k, d), initializer="zeros", trainable=False,
                                             name="mixture_means")
        self.mixture_scale_trils = self.add_weight(shape=(k, d, d), initializer="zeros", trainable=False,
                                                   name="mixture_scale_trils")

    def get_config(self):
        config = super().get_config()
        config.update({
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "hidden_units": self.hidden_units,
            "reconstruction": self.reconstruction,
            "code_components": self.code_components,
        })
        return config

    def data_options(self, split):
        """Bernoulli: dynamic binarization to train, static to evaluate; squared error: raw pixels."""
        if self.reconstruction == "bernoulli":
            return {"binarize": "dynamic" if split == "train" else "static"}
        return {}

    # -------------------------------------------------------------- networks
    def _logits(self, z, training=False):
        return to_float32(self.decoder(z, training=training))

    def call(self, x, training=False):
        """Reconstructs ``x`` (pixel probabilities / means in [0, 1])."""
        return tf.sigmoid(self._logits(self.encoder(x, training=training), training=training))

    def compute_losses(self, x, y=None, training=False):
        logits = self._logits(self.encoder(x, training=training), training=training)
        if self.reconstruction == "bernoulli":
            per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        else:
            per_pixel = tf.square(tf.sigmoid(logits) - x)
        return {"loss": tf.reduce_mean(tf.reduce_sum(per_pixel, axis=[1, 2, 3]))}

    def encode_batch(self, x):
        return to_float32(self.encoder(tf.cast(x, tf.float32), training=False))

    def encoder_features_batch(self, x):
        return hidden_features(self.encoder, tf.cast(x, tf.float32))

    def decode_batch(self, z):
        return tf.sigmoid(self._logits(tf.cast(z, tf.float32)))

    # ---------------------------------------------------------- code density
    def fit_code_density(self, x, batch_size=256, seed=0, max_iterations=200):
        """Fits the ``"gaussian"`` and ``"gmm"`` code densities to the codes of ``x``.

        Args:
            x: training images ``(N,) + data_shape`` (N >= ``code_components``
                and > ``latent_dim``).
            batch_size: images per encoder call.
            seed: seed of the mixture's EM initialization.
            max_iterations: EM iterations at most.

        Returns:
            dict with the mean log-density (nats) of the training codes under
            each fitted density: ``{"gaussian": ..., "gmm": ...}``.

        Raises:
            ValueError: bad images, or too few of them.
        """
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        if len(x) <= max(self.latent_dim, self.code_components):
            raise ValueError(f"fit_code_density needs more than max(latent_dim, code_components) = "
                             f"{max(self.latent_dim, self.code_components)} images, got {len(x)}.")
        codes = self.encode(x, batch_size=batch_size).astype(np.float64)
        jitter = 1e-5 * np.eye(self.latent_dim)
        self.code_mean.assign(codes.mean(axis=0).astype(np.float32))
        covariance = np.cov(codes, rowvar=False) + jitter
        self.code_scale_tril.assign(np.linalg.cholesky(covariance).astype(np.float32))
        logits, means, scale_trils = fit_code_mixture(codes, self.code_components, seed=seed,
                                                      max_iterations=max_iterations)
        self.mixture_logits.assign(logits)
        self.mixture_means.assign(means)
        self.mixture_scale_trils.assign(scale_trils)
        self.code_density_fitted.assign(1.0)
        codes32 = tf.constant(codes, tf.float32)
        return {kind: float(tf.reduce_mean(self.code_density(kind).log_prob(codes32))) for kind in ("gaussian", "gmm")}

    def code_density(self, code_sampler="gmm"):
        """The distribution codes are drawn from, as a TFP distribution.

        Args:
            code_sampler: ``"prior"`` (N(0, I)), ``"gaussian"`` or ``"gmm"``.

        Returns:
            A ``tfd.Distribution`` over ``(latent_dim,)`` vectors.

        Raises:
            ValueError: an unknown sampler, or a fitted one requested before
                :meth:`fit_code_density`.
        """
        code_sampler = check_choice(code_sampler, "code_sampler", CODE_SAMPLERS)
        if code_sampler == "prior":
            return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))
        if float(self.code_density_fitted.numpy()) != 1.0:
            raise ValueError(f"code_sampler={code_sampler!r} needs a code density fitted to training codes: call "
                             "fit_code_density(train_images) first (kzoo train does it after training).")
        if code_sampler == "gaussian":
            return tfd.MultivariateNormalTriL(loc=tf.convert_to_tensor(self.code_mean),
                                              scale_tril=tf.convert_to_tensor(self.code_scale_tril))
        return code_mixture(self.mixture_logits, self.mixture_means, self.mixture_scale_trils)

    def sample_batch(self, n, seed, code_sampler="prior"):
        """Decodes ``n`` codes drawn from ``code_sampler`` (see :meth:`code_density`)."""
        z = self.code_density(code_sampler).sample(n, seed=seed)
        return self.decode_batch(z)

    def generate(self, n, seed=None, batch_size=256, labels=None, code_sampler="prior"):
        """Decodes ``n`` codes drawn from a code density.

        Args:
            n: number of images.
            seed: None or an int (the same int gives the same images).
            batch_size: images per decoder call.
            labels: must be None (the model is unconditional).
            code_sampler: ``"prior"`` (N(0, I) codes: shows that an
                autoencoder alone is no sampler), ``"gaussian"`` or ``"gmm"``
                (ex-post densities fitted by :meth:`fit_code_density`).

        Returns:
            float32 numpy array ``(n,) + data_shape`` in [0, 1].

        Raises:
            ValueError: bad ``n``, ``batch_size``, seed or ``code_sampler``,
                labels given, or a fitted sampler before fitting.
        """
        self.code_density(code_sampler)  # fail before any work
        return super().generate(n, seed=seed, batch_size=batch_size, labels=labels, code_sampler=code_sampler)
