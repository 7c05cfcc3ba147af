"""InfoGAN: a GAN whose latent codes are made interpretable without labels.

The generator input is ``[z, c_cat, c_cont]``: noise z ~ N(0, I), a
one-hot categorical code c_cat ~ Cat(K) and continuous codes
c_cont ~ U(-1, 1). An auxiliary head Q, sharing the discriminator's
convolutional body, predicts the codes from an image; both networks
maximize the variational lower bound on the mutual information
I(c; G(z, c)) >= E[log Q(c | G(z, c))] + H(c), i.e. minimize the
cross-entropy of the categorical code plus the Gaussian negative
log-likelihood (unit variance) of the continuous codes. On MNIST the
categorical code with K = 10 comes to capture digit identity although no
label is used: :meth:`InfoGAN.category_accuracy` measures this with the
best one-to-one map between categories and classes (Hungarian algorithm).

References:
    Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN:
    Interpretable Representation Learning by Information Maximizing
    Generative Adversarial Nets", NeurIPS 2016.
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.base import seed_pair, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import (check_choice, check_data_batch, check_int_tuple, check_non_negative_int, check_number,
                                  check_positive_int)
from kzoo.models.gan.dcgan import dcgan_initializer, check_image_filters, conv_body, conv_generator
from kzoo.metrics.clustering import clustering_accuracy
from kzoo.models.gan.base import (SALT_AUG_FAKE, SALT_AUG_G, SALT_AUG_REAL, SALT_D_LATENT, SALT_G_LATENT, LOSSES,
                                  GANModel)

__all__ = ["InfoGAN"]


class InfoDiscriminator(keras.layers.Layer):
    """A DCGAN discriminator body with two heads: the D logit and Q's codes.

    Returns ``(logits (N,), q (N, num_categories + num_continuous))``: the
    categorical logits followed by the means of the continuous codes.

    Args:
        filters: channels of the body's stride-2 convolutions.
        num_categories: K of the categorical code.
        num_continuous: number of continuous codes.
        q_units: width of Q's hidden layer.
        **kwargs: layer arguments.
    """

    def __init__(self, filters, num_categories, num_continuous, q_units=128, **kwargs):
        super().__init__(**kwargs)
        self.body = conv_body(filters, norm="batch")
        self.d_head = keras.layers.Dense(1, kernel_initializer=dcgan_initializer(), name="logit")
        self.q_head = keras.Sequential([
            keras.layers.Dense(q_units, use_bias=False, name="q_hidden"),
            keras.layers.BatchNormalization(momentum=0.9, synchronized=True, name="q_norm"),
            keras.layers.LeakyReLU(0.2, name="q_act"),
            keras.layers.Dense(num_categories + num_continuous, name="q_codes"),
        ], name="q_head")

    def call(self, x, training=False):
        features = self.body(x, training=training)
        return to_float32(self.d_head(features))[:, 0], to_float32(self.q_head(features, training=training))


@register("infogan", family="gan")
class InfoGAN(GANModel):
    """InfoGAN with DCGAN networks, a categorical and continuous codes.

    ``latent_dim`` (read-only) is the full generator input width
    ``noise_dim + num_categories + num_continuous``; ``decode`` takes such
    vectors (the layout is ``[z, one-hot category, continuous codes]``) and
    :meth:`make_latents` builds them from chosen codes.

    Args:
        data_shape: image shape ``(H, W, C)``.
        noise_dim: dimension of the incompressible noise z.
        num_categories: K of the categorical code (10 for digits).
        num_continuous: number of continuous codes, each U(-1, 1).
        info_weight: weight lambda of the mutual-information term (in both
            the D/Q and the G loss).
        continuous_weight: weight of the continuous codes' term inside it.
        adversarial_loss: ``"minimax"``, ``"non_saturating"`` (generator
            losses) or ``"hinge"`` (both sides).
        d_steps: discriminator updates per generator update.
        filters: generator channels (see :class:`kzoo.models.gan.DCGAN`).
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies.
        **kwargs: ``r1_gamma`` (the R1 penalty, see :class:`GANModel`) and
            ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad sizes, weights or any other argument.
    """

    loss_names = GANModel.loss_names + ("info_loss",)

    renamed_arguments = {"loss": "adversarial_loss"}

    def __init__(self, data_shape=(28, 28, 1), noise_dim=62, num_categories=10, num_continuous=2, info_weight=1.0,
                 continuous_weight=0.5, adversarial_loss="non_saturating", d_steps=1, filters=(64, 32),
                 ema_decay=None, augment=None, **kwargs):
        noise_dim = check_positive_int(noise_dim, "noise_dim")
        num_categories = check_positive_int(num_categories, "num_categories")
        num_continuous = check_non_negative_int(num_continuous, "num_continuous")
        super().__init__(data_shape=data_shape, latent_dim=noise_dim + num_categories + num_continuous,
                         d_steps=d_steps, ema_decay=ema_decay, augment=augment, **kwargs)
        self.noise_dim = noise_dim
        self.num_categories = num_categories
        self.num_continuous = int(num_continuous)
        self.info_weight = check_number(info_weight, "info_weight", minimum=0)
        self.continuous_weight = check_number(continuous_weight, "continuous_weight", minimum=0)
        self.adversarial_loss = check_choice(adversarial_loss, "adversarial_loss", LOSSES)
        self.filters = check_int_tuple(filters, "filters")
        check_image_filters(self.data_shape, self.filters, type(self).__name__)
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        del config["latent_dim"]
        config.update({"noise_dim": self.noise_dim, "num_categories": self.num_categories,
                       "num_continuous": self.num_continuous, "info_weight": self.info_weight,
                       "continuous_weight": self.continuous_weight, "adversarial_loss": self.adversarial_loss,
                       "filters": list(self.filters)})
        return config

    def make_generator(self, name):
        return conv_generator(self.data_shape, self.filters, name=name)

    def make_discriminator(self, name):
        return InfoDiscriminator(tuple(reversed(self.filters)), self.num_categories, self.num_continuous, name=name)

    # ------------------------------------------------------------ codes
    def prior_sample(self, noise_fn, n):
        z = noise_fn((self.noise_dim,), "normal", 0)
        u = noise_fn((1,), "uniform", 1)[:, 0]
        category = tf.minimum(tf.cast(tf.floor(u * self.num_categories), tf.int32), self.num_categories - 1)
        parts = [z, tf.one_hot(category, self.num_categories, dtype=tf.float32)]
        if self.num_continuous:
            parts.append(2.0 * noise_fn((self.num_continuous,), "uniform", 2) - 1.0)
        return tf.concat(parts, axis=-1)

    def split_latents(self, latents):
        """Splits generator inputs into ``(z, category one-hot, continuous)``."""
        return tf.split(latents, [self.noise_dim, self.num_categories, self.num_continuous], axis=-1)

    def make_latents(self, category, continuous=None, n=None, seed=None):
        """Generator inputs with chosen codes and prior noise.

        Args:
            category: int or int array ``(n,)`` of categorical codes.
            continuous: None (drawn from U(-1, 1)), or an array
                ``(num_continuous,)`` or ``(n, num_continuous)``.
            n: number of vectors (default: the length of ``category``).
            seed: None or an int for the noise.

        Returns:
            float32 numpy array ``(n, latent_dim)`` for :meth:`decode`.

        Raises:
            ValueError: categories outside ``[0, num_categories)`` or codes of
                the wrong shape.
        """
        category = np.atleast_1d(np.asarray(category))
        n = len(category) if n is None else check_positive_int(n, "n")
        category = np.broadcast_to(category, (n,)).astype(np.int64)
        if category.min() < 0 or category.max() >= self.num_categories:
            raise ValueError(f"category must lie in [0, {self.num_categories - 1}], got {category.tolist()}.")
        latents = self.sample_latents(n, seed=seed)
        latents[:, self.noise_dim:self.noise_dim + self.num_categories] = np.eye(self.num_categories)[category]
        if continuous is not None and self.num_continuous:
            continuous = np.asarray(continuous, np.float32)
            try:
                latents[:, self.noise_dim + self.num_categories:] = np.broadcast_to(continuous,
                                                                                    (n, self.num_continuous))
            except ValueError as err:
                raise ValueError(f"continuous must have shape ({self.num_continuous},) or (n, "
                                 f"{self.num_continuous}), got {continuous.shape}.") from err
        return latents

    # ------------------------------------------------------------ networks
    def discriminator_logits(self, x, labels=None, training=False):
        return self.discriminator(self.to_network_space(x), training=training)[0]

    def q_outputs(self, x, training=False):
        """Q's categorical logits and continuous means for data-space ``x``."""
        _, q = self.discriminator(self.to_network_space(x), training=training)
        return q[:, :self.num_categories], q[:, self.num_categories:]

    def info_loss(self, latents, q):
        """Negative variational MI bound (up to H(c)): CE(c_cat) + w * Gaussian NLL(c_cont)."""
        _, category, continuous = self.split_latents(latents)
        logits, means = q[:, :self.num_categories], q[:, self.num_categories:]
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=category, logits=logits))
        if self.num_continuous:
            loss += self.continuous_weight * tf.reduce_mean(tf.reduce_sum(0.5 * tf.square(continuous - means), -1))
        return loss

    def discriminator_losses(self, x, y, step):
        batch = tf.shape(x)[0]
        fake, latents = self.fake_batch(batch, None, salt=SALT_D_LATENT + step)
        fake = tf.stop_gradient(fake)
        real = self.augmented(x, SALT_AUG_REAL + step)
        real_logits, _ = self.discriminator(self.to_network_space(real), training=True)
        fake_logits, q = self.discriminator(self.to_network_space(self.augmented(fake, SALT_AUG_FAKE + step)),
                                            training=True)
        adversarial = self.d_loss_terms(real_logits, fake_logits) + self.r1_penalty(
            real, lambda v: self.discriminator(self.to_network_space(v), training=True)[0])
        return {"d_loss": adversarial + self.info_weight * self.info_loss(latents, q),
                "d_real": self.score_summary(real_logits), "d_fake": self.score_summary(fake_logits)}

    def generator_losses(self, x, y):
        fake, latents = self.fake_batch(tf.shape(x)[0], None, salt=SALT_G_LATENT)
        fake_logits, q = self.discriminator(self.to_network_space(self.augmented(fake, SALT_AUG_G)), training=True)
        info = self.info_loss(latents, q)
        return {"g_loss": self.g_loss_terms(fake_logits) + self.info_weight * info, "info_loss": info}

    # ------------------------------------------------------------ inference
    def predict_category(self, x, batch_size=256):
        """Q's most likely categorical code for each (real) image.

        Args:
            x: array ``(N,) + data_shape`` in [0, 1].
            batch_size: images per call.

        Returns:
            int numpy array ``(N,)``.
        """
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        out = []
        for start in range(0, len(x), batch_size):
            logits, _ = self.q_outputs(tf.constant(x[start:start + batch_size]))
            out.append(np.argmax(np.asarray(logits), axis=-1))
        return np.concatenate(out)

    def category_accuracy(self, x, labels, batch_size=256):
        """Unsupervised accuracy of the categorical code against true labels.

        Args:
            x: images ``(N,) + data_shape``.
            labels: int array ``(N,)`` of true classes.
            batch_size: images per call.

        Returns:
            ``(accuracy, mapping)`` from
            :func:`kzoo.models.gan.clustering_accuracy` (category -> class).
        """
        return clustering_accuracy(labels, self.predict_category(x, batch_size), self.num_categories)

    def generate(self, n, seed=None, batch_size=256, category=None, **kwargs):
        """Draws ``n`` images, optionally all with one categorical code.

        Args:
            n: number of images.
            seed: None or an int.
            batch_size: images per call.
            category: None (codes from the prior) or an int in
                ``[0, num_categories)`` for every image.
            **kwargs: passed to :meth:`GANModel.generate`.

        Returns:
            float32 numpy array ``(n,) + data_shape`` in [0, 1].
        """
        if category is None:
            return super().generate(n, seed=seed, batch_size=batch_size, **kwargs)
        n = check_positive_int(n, "n")
        seed_pair(seed)
        return self.decode(self.make_latents(category, n=n, seed=seed), batch_size=batch_size)
