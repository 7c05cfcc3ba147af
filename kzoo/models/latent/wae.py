"""Wasserstein auto-encoders: WAE-MMD and WAE-GAN, on the shared convolutional networks.

A WAE minimizes a relaxed optimal-transport cost between the data and the
model, E_x E_{z ~ q(z|x)} c(x, G(z)) + lambda * D(q(z), p(z)): a
reconstruction cost ``c`` plus a penalty that pulls the *aggregate* code
distribution q(z) = E_x q(z|x) towards the prior p(z). Unlike a VAE, each
example's code is deterministic and only the code distribution as a whole is
matched to the prior, so codes of different examples need not overlap and
reconstructions (and samples) stay sharp.

* :class:`WassersteinAutoencoder` (WAE-MMD) measures D with the maximum mean
  discrepancy under a sum of inverse multiquadratic kernels
  (:func:`imq_mmd`) and trains with one optimizer.
* :class:`WassersteinAutoencoderGAN` (WAE-GAN) measures D with a code
  discriminator trained adversarially (two optimizers).

Both use the encoder and decoder every latent model shares
(:mod:`kzoo.models.latent.networks`), so they compare with the VAE row for
row.

References:
    Tolstikhin, Bousquet, Gelly & Schoelkopf, "Wasserstein Auto-Encoders",
    ICLR 2018.
    Gretton, Borgwardt, Rasch, Schoelkopf & Smola, "A Kernel Two-Sample
    Test", JMLR 2012 (the unbiased MMD estimator).
    Makhzani, Shlens, Jaitly, Goodfellow & Frey, "Adversarial
    Autoencoders", 2015 (the code discriminator of WAE-GAN).
"""

import tensorflow as tf
import tensorflow_probability as tfp
import keras

from kzoo.core.base import GenerativeModel, LatentCodes, replica_count, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import (check_choice, check_int_tuple, check_number, check_positive_int,
                                  check_positive_number)
from kzoo.models.gan.base import AdversarialModel
from kzoo.models.latent.networks import check_divisible, conv_decoder, conv_encoder, dense_discriminator, hidden_features

__all__ = ["WassersteinAutoencoder", "WassersteinAutoencoderGAN", "imq_bandwidths", "imq_mmd"]

tfd = tfp.distributions

#: Reconstruction costs c(x, y): ``"bernoulli"`` is the Bernoulli negative
#: log-likelihood of x under the decoder's pixel logits (the VAE's
#: reconstruction term); ``"squared_l2"`` is the paper's ||x - y||^2 with y the
#: decoded mean image.
RECONSTRUCTIONS = ("bernoulli", "squared_l2")

#: The paper's multipliers s of the base IMQ scale 2 * latent_dim * sigma^2.
KERNEL_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

# Salts of ``step_noise``: the prior draw of the MMD term / diagnostic, and
# the prior draws of the code discriminator's updates (+ d step).
SALT_PRIOR = 0
SALT_D_PRIOR = 1


def imq_bandwidths(latent_dim, prior_scale=1.0, scales=KERNEL_SCALES):
    """The constants C of the inverse multiquadratic kernels, one per scale.

    C = 2 * latent_dim * prior_scale^2 * s: 2 * d * sigma^2 is the expected
    squared distance between two draws of N(0, sigma^2 I_d), the natural
    length scale of the prior; the multipliers s spread the kernels over
    shorter and longer ranges.

    Args:
        latent_dim: dimension d of the codes.
        prior_scale: standard deviation sigma of the Gaussian prior.
        scales: positive multipliers s.

    Returns:
        A tuple of Python floats.
    """
    base = 2.0 * latent_dim * prior_scale**2
    return tuple(base * float(s) for s in scales)


def imq_mmd(x, y, bandwidths):
    """Unbiased estimate of MMD^2 between two samples under a sum of IMQ kernels.

    k(a, b) = sum_C C / (C + ||a - b||^2). With m points x_i and n points
    y_j the U-statistic

        MMD^2 = 1/(m(m-1)) sum_{i != i'} k(x_i, x_i')
              + 1/(n(n-1)) sum_{j != j'} k(y_j, y_j')
              - 2/(mn) sum_{i, j} k(x_i, y_j)

    leaves out the diagonal terms k(x_i, x_i), so its expectation is the
    population MMD^2 (zero when both samples come from one distribution; the
    estimate itself can then be slightly negative). A sample of one point
    has no pairs: its within-sample term counts as 0.

    Args:
        x: float tensor or array ``(m, d)``.
        y: float tensor or array ``(n, d)``.
        bandwidths: the kernel constants C (see :func:`imq_bandwidths`).

    Returns:
        float32 scalar tensor.
    """
    x = tf.cast(x, tf.float32)
    y = tf.cast(y, tf.float32)

    def kernel(a, b):
        distances = tf.reduce_sum(tf.square(a[:, None, :] - b[None, :, :]), axis=-1)
        return tf.add_n([c / (c + distances) for c in bandwidths])

    def within(a):
        k = kernel(a, a)
        count = tf.cast(tf.shape(a)[0], tf.float32)
        off_diagonal = tf.reduce_sum(k) - tf.linalg.trace(k)
        return off_diagonal / tf.maximum(count * (count - 1.0), 1.0)

    return within(x) + within(y) - 2.0 * tf.reduce_mean(kernel(x, y))


def gathered(tensor):
    """The whole global batch of a per-replica tensor (itself on one device).

    Under ``tf.distribute`` each replica holds a slice of the batch; a
    batch-level statistic such as the MMD needs all of it. The all-gather
    keeps gradients: each replica receives the gradient of its own slice.
    """
    context = tf.distribute.get_replica_context()
    if replica_count() > 1 and context is not None:
        return context.all_gather(tensor, axis=0)
    return tensor


class Autoencoder(keras.layers.Layer):
    """A deterministic encoder and its decoder, as one trainable layer.

    Args:
        data_shape: image shape (H, W, C).
        filters: channels of the stride-2 convolutions.
        hidden_units: width of the dense layer on each side.
        latent_dim: code dimension.
        **kwargs: ``name`` / ``dtype`` for ``keras.layers.Layer``.
    """

    def __init__(self, data_shape, filters, hidden_units, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.encoder = conv_encoder(filters, hidden_units, latent_dim)
        self.decoder = conv_decoder(data_shape, filters, hidden_units, data_shape[-1])

    def call(self, x, training=False):
        """Pixel logits of the reconstruction of ``x``."""
        return self.decoder(self.encoder(x, training=training), training=training)


class WassersteinCodes(LatentCodes):
    """What WAE-MMD and WAE-GAN share: networks, prior, costs, latent API, sampling, config.

    Mixed in before the training base (:class:`GenerativeModel` or
    :class:`AdversarialModel`); its ``__init__`` passes the remaining keyword
    arguments on to that base. See :class:`WassersteinAutoencoder` for the
    arguments.
    """

    def __init__(self, data_shape=(28, 28, 1), latent_dim=8, filters=(32, 64), hidden_units=256,
                 reconstruction="bernoulli", regularization_weight=1.0, kernel_scales=KERNEL_SCALES,
                 prior_scale=1.0, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = check_int_tuple(filters, "filters")
        check_divisible(self.data_shape, self.filters)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.reconstruction = check_choice(reconstruction, "reconstruction", RECONSTRUCTIONS)
        self.regularization_weight = check_number(regularization_weight, "regularization_weight", minimum=0,
                                                  description="a non-negative number (lambda)")
        if isinstance(kernel_scales, (int, float)) and not isinstance(kernel_scales, bool):
            kernel_scales = (kernel_scales,)
        try:
            if isinstance(kernel_scales, (str, bytes)):
                raise TypeError(kernel_scales)
            self.kernel_scales = tuple(check_positive_number(s, "kernel_scales entry") for s in kernel_scales)
        except TypeError as err:
            raise ValueError(f"kernel_scales must be a sequence of positive numbers, got {kernel_scales!r}.") from err
        if not self.kernel_scales:
            raise ValueError(f"kernel_scales must hold at least one positive number, got {kernel_scales!r}.")
        self.prior_scale = check_positive_number(prior_scale, "prior_scale")
        self.autoencoder = Autoencoder(self.data_shape, self.filters, self.hidden_units, self.latent_dim,
                                       name="autoencoder")

    def get_config(self):
        config = super().get_config()
        config.update({
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "hidden_units": self.hidden_units,
            "reconstruction": self.reconstruction,
            "regularization_weight": self.regularization_weight,
            "kernel_scales": list(self.kernel_scales),
            "prior_scale": self.prior_scale,
        })
        return config

    def data_options(self, split):
        """Bernoulli cost: dynamic binarization to train, static to evaluate;
        squared L2: the grey levels in [0, 1] as they are."""
        if self.reconstruction == "bernoulli":
            return {"binarize": "dynamic" if split == "train" else "static"}
        return {}

    # ------------------------------------------------------------ components
    @property
    def encoder(self):
        """The deterministic encoder (image -> code)."""
        return self.autoencoder.encoder

    @property
    def decoder(self):
        """The decoder (code -> pixel logits)."""
        return self.autoencoder.decoder

    def prior(self):
        """The prior p(z) = N(0, prior_scale^2 I) as a ``tfd.MultivariateNormalDiag``."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim),
                                          scale_diag=tf.fill([self.latent_dim], self.prior_scale))

    def step_prior_sample(self, batch, salt):
        """Prior draws for a train or test step, one per example of this replica's batch.

        Drawn with :meth:`GenerativeModel.step_noise`, so a 2-replica step
        sees the same draws as the single-device step.
        """
        return self.prior_scale * self.step_noise(batch, (self.latent_dim,), salt=salt)

    def codes(self, x, training=False):
        """float32 codes ``(N, latent_dim)`` of an image batch."""
        return to_float32(self.encoder(x, training=training))

    def reconstruction_cost(self, x, logits):
        """c(x, G(z)) per example, float32 ``(N,)``.

        Args:
            x: float32 images in [0, 1].
            logits: the decoder's pixel logits for the codes of ``x``.

        Returns:
            ``"bernoulli"``: the summed pixel cross-entropy -log p(x | z)
            (nats); ``"squared_l2"``: ||x - sigmoid(logits)||^2.
        """
        logits = to_float32(logits)
        if self.reconstruction == "bernoulli":
            per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        else:
            per_pixel = tf.square(x - tf.sigmoid(logits))
        return tf.reduce_sum(per_pixel, axis=list(range(1, len(self.data_shape) + 1)))

    def mmd_to_prior(self, codes, prior_codes):
        """MMD^2 between the global batch's codes and prior draws (IMQ kernels).

        Under ``tf.distribute`` both are all-gathered first, so every replica
        computes the estimate of the whole global batch, exactly as on one
        device, and the gradient reaching each replica's codes is that of
        the global estimate.

        Args:
            codes: float32 ``(n, latent_dim)`` of this replica.
            prior_codes: float32 ``(n, latent_dim)`` prior draws of this replica.

        Returns:
            float32 scalar tensor.
        """
        bandwidths = imq_bandwidths(self.latent_dim, self.prior_scale, self.kernel_scales)
        return imq_mmd(gathered(codes), gathered(prior_codes), bandwidths)

    def _checked_unconditional(self, y):
        self.label_tensor(y)  # raises: these models take no labels

    # -------------------------------------------------------------- contract
    def call(self, x, training=False):
        """Reconstructs ``x``: the decoded mean image of its code, in [0, 1]."""
        return tf.sigmoid(to_float32(self.autoencoder(x, training=training)))

    def encode_batch(self, x):
        """The deterministic codes of a batch tensor."""
        return self.codes(tf.cast(x, tf.float32))

    def encoder_features_batch(self, x):
        """The encoder's hidden-layer features of a batch tensor."""
        return hidden_features(self.encoder, tf.cast(x, tf.float32))

    def decode_batch(self, z):
        """Mean images (pixel probabilities) of a batch of codes."""
        return tf.sigmoid(to_float32(self.decoder(tf.cast(z, tf.float32), training=False)))

    def sample_batch(self, n, seed, temperature=1.0):
        """Decodes prior samples; returns the mean images in [0, 1].

        Args:
            n: number of images.
            seed: stateless seed tensor of shape [2].
            temperature: multiplies the prior draws (1 samples the prior).

        Raises:
            ValueError: ``temperature`` is not a positive number.
        """
        temperature = check_positive_number(temperature, "temperature")
        return self.decode_batch(temperature * self.prior().sample(n, seed=seed))


@register("wae", family="latent")
class WassersteinAutoencoder(WassersteinCodes, GenerativeModel):
    """WAE-MMD: a deterministic autoencoder whose codes match the prior in MMD.

    The encoder maps x to a code z = E(x), the decoder maps z to pixel
    logits, and the prior is p(z) = N(0, sigma^2 I). Training minimizes

        mean_i c(x_i, G(E(x_i))) + lambda * MMD^2(q(z), p(z))

    where MMD^2 is the unbiased estimate of :func:`imq_mmd` between the
    batch's codes and as many prior draws, with the paper's kernel sum
    k(a, b) = sum_s C_s / (C_s + ||a - b||^2), C_s = 2 d sigma^2 s (Algorithm 2
    of Tolstikhin et al. 2018).

    The MMD is a statistic of the whole batch. Under ``tf.distribute`` the
    codes and prior draws of all replicas are all-gathered before it is
    estimated, so the loss, the tracked ``mmd`` and the update of a
    2-replica step equal those of the single-device step on the same global
    batch (per-replica estimates would be noisier and differ).

    ``regularization_weight`` (lambda) trades reconstruction for matching the
    prior, and its right value depends on the scale of the cost. The paper
    used lambda = 10 with the squared L2 cost on MNIST (a cost of roughly
    10-30 per image). The Bernoulli cost of the same reconstructions is
    several times larger (about 60-100 nats per image) and so are its
    gradients, so the default is 100: with it the MMD term keeps about the
    paper's weight relative to the reconstruction. Pass 10 with
    ``reconstruction="squared_l2"`` for the paper's setting.

    Tracked: ``loss``, ``reconstruction`` (mean cost per example) and
    ``mmd`` (the MMD^2 estimate).

    Args:
        data_shape: image shape (H, W, C); H and W divisible by
            ``2**len(filters)``.
        latent_dim: dimension of the codes.
        filters: channels of the encoder's stride-2 convolutions (mirrored by
            the decoder).
        hidden_units: width of the dense layer on each side.
        reconstruction: ``"bernoulli"`` (binarized data; the VAE's
            reconstruction term, so rows compare) or ``"squared_l2"`` (the
            paper's cost; grey levels in [0, 1]).
        regularization_weight: lambda, the weight of the MMD term (>= 0).
        kernel_scales: the multipliers s of the IMQ kernels' scale.
        prior_scale: standard deviation sigma of the Gaussian prior.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a bad ``latent_dim``, ``filters``, ``hidden_units``,
            ``reconstruction``, ``regularization_weight``, ``kernel_scales``
            or ``prior_scale``, or a ``data_shape`` the convolutions cannot
            map.
    """

    loss_names = ("loss", "reconstruction", "mmd")

    def __init__(self, data_shape=(28, 28, 1), latent_dim=8, filters=(32, 64), hidden_units=256,
                 reconstruction="bernoulli", regularization_weight=100.0, kernel_scales=KERNEL_SCALES,
                 prior_scale=1.0, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, filters=filters, hidden_units=hidden_units,
                         reconstruction=reconstruction, regularization_weight=regularization_weight,
                         kernel_scales=kernel_scales, prior_scale=prior_scale, **kwargs)

    def compute_losses(self, x, y=None, training=False):
        self._checked_unconditional(y)
        z = self.codes(x, training=training)
        logits = self.decoder(z, training=training)
        reconstruction = tf.reduce_mean(self.reconstruction_cost(x, logits))
        mmd = self.mmd_to_prior(z, self.step_prior_sample(tf.shape(x)[0], SALT_PRIOR))
        loss = reconstruction + self.regularization_weight * mmd
        return {"loss": loss, "reconstruction": reconstruction, "mmd": mmd}


@register("wae_gan", family="latent")
class WassersteinAutoencoderGAN(WassersteinCodes, AdversarialModel):
    """WAE-GAN: a deterministic autoencoder whose codes fool a code discriminator.

    Same encoder, decoder, prior and costs as :class:`WassersteinAutoencoder`;
    the divergence between q(z) and p(z) is estimated adversarially
    (Algorithm 1 of Tolstikhin et al. 2018). The code discriminator D (a
    dense network on codes) minimizes -log D(z_p) - log(1 - D(E(x))) with
    z_p ~ p(z); the encoder and decoder then minimize

        mean_i c(x_i, G(E(x_i))) - lambda * mean_i log D(E(x_i))

    (the non-saturating form of the adversarial term). ``generator`` is the
    :class:`Autoencoder` holding the encoder and decoder (what the generator
    optimizer trains) and ``discriminator`` the code discriminator.

    The paper used lambda = 1 with the squared L2 cost on MNIST; the
    Bernoulli cost is several times larger, so the default is 5. Larger
    weights (20-50) made the codes collapse in short runs.

    The discriminator must outpace the encoder. With one discriminator
    update per step (the paper's Algorithm 1) the codes of short runs
    collapsed into a tight cluster that chased the discriminator's
    decision boundary around the prior (their MMD to the prior rose);
    with ``d_steps=5`` (the default), or 3 at twice the encoder's learning
    rate, they spread over the prior. Each discriminator update re-encodes
    the batch, so a step costs about ``d_steps`` extra encoder passes.

    Tracked: ``d_loss``, ``g_loss``, ``reconstruction``, ``adversarial``
    (the non-saturating term), ``mmd`` (a diagnostic, not optimized: the
    IMQ MMD^2 between the batch's codes and prior draws, comparable with
    WAE-MMD's) and the gradient norms ``d_grad_norm`` / ``g_grad_norm``.

    Args:
        data_shape: image shape (H, W, C).
        latent_dim: dimension of the codes.
        filters: channels of the encoder's stride-2 convolutions.
        hidden_units: width of the dense layer on each side.
        reconstruction: ``"bernoulli"`` or ``"squared_l2"``.
        regularization_weight: lambda, the weight of the adversarial term.
        kernel_scales: multipliers of the IMQ kernels of the ``mmd``
            diagnostic.
        prior_scale: standard deviation of the Gaussian prior.
        discriminator_units: hidden widths of the code discriminator.
        d_steps: discriminator updates per autoencoder update (all on the
            same batch with fresh prior draws).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a bad argument (as for :class:`WassersteinAutoencoder`),
            ``discriminator_units`` or ``d_steps``.
    """

    loss_names = ("d_loss", "g_loss", "reconstruction", "adversarial", "mmd", "d_grad_norm", "g_grad_norm")

    def __init__(self, data_shape=(28, 28, 1), latent_dim=8, filters=(32, 64), hidden_units=256,
                 reconstruction="bernoulli", regularization_weight=5.0, kernel_scales=KERNEL_SCALES,
                 prior_scale=1.0, discriminator_units=(256, 256), d_steps=5, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, filters=filters, hidden_units=hidden_units,
                         reconstruction=reconstruction, regularization_weight=regularization_weight,
                         kernel_scales=kernel_scales, prior_scale=prior_scale, d_steps=d_steps, **kwargs)
        self.discriminator_units = check_int_tuple(discriminator_units, "discriminator_units")
        self.discriminator = dense_discriminator(self.discriminator_units)

    def get_config(self):
        config = super().get_config()
        config["discriminator_units"] = list(self.discriminator_units)
        return config

    @property
    def generator(self):
        """The encoder and decoder: the part the generator optimizer trains."""
        return self.autoencoder

    def build_for_data(self):
        """Builds the encoder, the decoder and the code discriminator."""
        if not self.built:
            self.discriminator(tf.zeros((1, self.latent_dim)))
            self(tf.zeros((1,) + self.data_shape), training=False)

    def code_logits(self, z, training=False):
        """The code discriminator's logits (prior vs. encoder), float32 ``(N,)``."""
        return tf.reshape(to_float32(self.discriminator(z, training=training)), [-1])

    def discriminator_losses(self, x, y, step):
        self._checked_unconditional(y)
        codes = tf.stop_gradient(self.codes(x, training=False))
        prior_codes = self.step_prior_sample(tf.shape(x)[0], SALT_D_PRIOR + step)
        d_loss = (tf.reduce_mean(tf.nn.softplus(-self.code_logits(prior_codes, training=True)))
                  + tf.reduce_mean(tf.nn.softplus(self.code_logits(codes, training=True))))
        return {"d_loss": d_loss}

    def generator_losses(self, x, y):
        self._checked_unconditional(y)
        z = self.codes(x, training=True)
        logits = self.decoder(z, training=True)
        reconstruction = tf.reduce_mean(self.reconstruction_cost(x, logits))
        adversarial = tf.reduce_mean(tf.nn.softplus(-self.code_logits(z, training=False)))
        mmd = self.mmd_to_prior(tf.stop_gradient(z), self.step_prior_sample(tf.shape(x)[0], SALT_PRIOR))
        return {"g_loss": reconstruction + self.regularization_weight * adversarial,
                "reconstruction": reconstruction, "adversarial": adversarial, "mmd": tf.stop_gradient(mmd)}
