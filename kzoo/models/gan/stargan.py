"""StarGAN: one generator that translates an image into any of several domains.

Where CycleGAN needs a generator pair per pair of domains, StarGAN trains a
single generator ``G(x, c)`` that takes the image and the one-hot *target*
domain ``c`` (replicated over the image as extra input channels) and one
discriminator with two heads on a shared trunk: ``D_src``, a PatchGAN map
of real/fake scores, and ``D_cls``, logits over the domains. The losses, for
a real image ``x`` of domain ``c_x`` and a random other target ``c``:

* adversarial, Wasserstein with gradient penalty (WGAN-GP, as in the paper):
  the critic maximizes ``D_src(x) - D_src(G(x, c))`` minus
  ``lambda_gp`` times the penalty, the generator maximizes ``D_src(G(x, c))``;
* domain classification: the critic learns ``D_cls(x) = c_x`` on real images
  only, and the generator makes ``D_cls(G(x, c)) = c``;
* reconstruction: ``G(G(x, c), c_x) = x`` in L1 (the cycle loss of
  CycleGAN, through the same generator), so the translation keeps what does
  not belong to the domain, such as the digit;
* optionally identity, ``G(x, c_x) = x`` in L1 (CycleGAN's identity loss,
  not in the StarGAN paper; ``identity_weight``, default 0): an image sent
  into its own domain comes back unchanged, which favours the smallest
  change that reaches another domain.

Networks are CycleGAN's, scaled to 28x28 digits: the ResNet generator (with
the domain-label channels added to its input) and a discriminator of 4x4
stride-2 convolutions with LeakyReLU(0.01) and no normalization (the
penalty is per example), ending in a 3x3 convolution to the patch scores
and a convolution over the whole remaining map to the domain logits.

A training example is a stack of one image per domain (``(H, W, K*C)``,
domain ``k`` in channel block ``k``: the ``domains-five`` dataset of
:mod:`kzoo.data.domains`); every step uses all ``K`` images of each stack,
each sent to a uniformly drawn *other* domain. On stacks whose channels show
the same digit (the held-out splits of ``domains-five``), validation logs
``l1``: the mean absolute error of all ``K (K - 1)`` translations against
their true targets.

References:
    Choi, Choi, Kim, Ha, Kim & Choo, "StarGAN: Unified Generative
    Adversarial Networks for Multi-Domain Image-to-Image Translation",
    CVPR 2018.
    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.base import to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_int_tuple, check_number, check_positive_int
from kzoo.data.domains import FIVE_DOMAINS
from kzoo.models.gan.base import SALT_D_LATENT, SALT_EXTRA, SALT_G_LATENT, interpolation_gradient_penalty
from kzoo.models.gan.cyclegan import resnet_generator
from kzoo.models.gan.translation import TranslationModel

__all__ = ["StarGAN", "two_head_discriminator"]


def two_head_discriminator(image_shape, num_domains, filters=(32, 64, 128), name="discriminator"):
    """StarGAN's discriminator: an image to a map of real/fake scores and to domain logits.

    4x4 stride-2 convolutions with ``filters`` channels and LeakyReLU(0.01),
    no normalization; then ``D_src``, a 3x3 convolution to one score per
    patch, and ``D_cls``, a convolution whose kernel covers the whole
    remaining map, to ``num_domains`` logits (``(32, 64, 128)`` on 28x28: a
    4x4 trunk, a 4x4 score map).

    Args:
        image_shape: ``(H, W, C)``.
        num_domains: number of domain logits.
        filters: channels of the trunk's convolutions.
        name: model name.

    Returns:
        A functional ``keras.Model`` with outputs ``(scores (N, h, w, 1),
        logits (N, num_domains))``.
    """
    image = keras.Input(tuple(image_shape), name="image")
    h = image
    for i, f in enumerate(filters):
        h = keras.layers.Conv2D(f, 4, strides=2, padding="same", name=f"conv_{i}")(h)
        h = keras.layers.LeakyReLU(0.01, name=f"conv_{i}_act")(h)
    scores = keras.layers.Conv2D(1, 3, padding="same", use_bias=False, name="source_scores")(h)
    logits = keras.layers.Conv2D(num_domains, tuple(h.shape[1:3]), use_bias=False, name="domain_logits")(h)
    logits = keras.layers.Flatten(name="domain_logits_flat")(logits)
    return keras.Model(image, [scores, logits], name=name)


@register("stargan", family="gan")
class StarGAN(TranslationModel):
    """StarGAN (Choi et al., 2018): many-domain translation with one generator.

    Tracks ``d_loss`` and ``g_loss`` (totals), ``wasserstein`` (the critic's
    distance estimate on real against translated images),
    ``gradient_penalty`` (unweighted), ``d_classification`` /
    ``g_classification`` (domain cross-entropy of real images and of
    translations against their targets), ``reconstruction`` (L1 of the
    round trip), ``identity`` (L1 of images sent into their own domain;
    0 when ``identity_weight`` is 0), ``real_domain_accuracy`` / ``fake_domain_accuracy`` (how
    often ``D_cls`` names the real domain, and the target of a translation)
    and the gradient norms.

    Args:
        data_shape: one stack ``(H, W, K*C)`` of an image per domain, H and
            W divisible by 4.
        domain_names: the ``K`` domains, in channel order (default the five
            of ``domains-five``: plain, thin, thick, slant left, slant right).
        filters: channels of the generator's first convolution.
        residual_blocks: residual blocks of the generator.
        discriminator_filters: channels of the discriminator's trunk.
        classification_weight: ``lambda_cls`` of the domain-classification
            losses (paper: 1).
        reconstruction_weight: ``lambda_rec`` of the L1 reconstruction loss
            (paper: 10).
        identity_weight: weight of the L1 identity loss (not in the paper:
            0 turns it off).
        gp_weight: ``lambda_gp`` of the gradient penalty (paper: 10).
        d_steps: critic updates per generator update (paper: 5).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a ``data_shape`` that is not a stack of
            ``len(domain_names)`` images, repeated or fewer than two domain
            names, or bad sizes and weights.
    """

    generation_method = "translation of a given image into a chosen domain, one generator pass"
    loss_names = ("d_loss", "g_loss", "wasserstein", "gradient_penalty", "d_classification", "g_classification",
                  "reconstruction", "identity", "real_domain_accuracy", "fake_domain_accuracy", "d_grad_norm", "g_grad_norm")
    #: Validation-only score, against true targets of stacks of one digit.
    paired_names = ("l1",)

    def __init__(self, data_shape=(28, 28, 5), domain_names=FIVE_DOMAINS, filters=32, residual_blocks=4,
                 discriminator_filters=(32, 64, 128), classification_weight=1.0, reconstruction_weight=10.0,
                 identity_weight=0.0, gp_weight=10.0, d_steps=5, **kwargs):
        if isinstance(domain_names, str) or not all(isinstance(d, str) and d for d in domain_names):
            raise ValueError(f"domain_names must be a sequence of non-empty strings, got {domain_names!r}.")
        self.domain_names = tuple(domain_names)
        if len(self.domain_names) < 2 or len(set(self.domain_names)) < len(self.domain_names):
            raise ValueError(f"domain_names must name at least two different domains, got {domain_names!r}.")
        super().__init__(data_shape=data_shape, num_domains=len(self.domain_names), d_steps=d_steps, **kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.residual_blocks = check_positive_int(residual_blocks, "residual_blocks")
        self.discriminator_filters = check_int_tuple(discriminator_filters, "discriminator_filters")
        self.classification_weight = check_number(classification_weight, "classification_weight", minimum=0.0)
        self.reconstruction_weight = check_number(reconstruction_weight, "reconstruction_weight", minimum=0.0)
        self.identity_weight = check_number(identity_weight, "identity_weight", minimum=0.0)
        self.gp_weight = check_number(gp_weight, "gp_weight", minimum=0.0)
        channels = self.image_shape[-1]
        self.generator = resnet_generator(self.image_shape[:2] + (channels + self.num_domains,), self.filters,
                                          self.residual_blocks, name="generator", output_channels=channels)
        self.discriminator = two_head_discriminator(self.image_shape, self.num_domains, self.discriminator_filters)
        self.trackers.update({name: keras.metrics.Mean(name=name) for name in self.paired_names})

    def get_config(self):
        config = super().get_config()
        config.update({"domain_names": list(self.domain_names), "filters": self.filters,
                       "residual_blocks": self.residual_blocks,
                       "discriminator_filters": list(self.discriminator_filters),
                       "classification_weight": self.classification_weight,
                       "reconstruction_weight": self.reconstruction_weight, "identity_weight": self.identity_weight,
                       "gp_weight": self.gp_weight})
        return config

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Two optimizers; default Adam(1e-4, beta_1=0.5, beta_2=0.999) as in the paper."""
        default = {"class_name": "Adam", "config": {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.999}}
        super().compile(d_optimizer=d_optimizer or default, g_optimizer=g_optimizer or dict(default), **kwargs)

    def build_for_data(self):
        """Builds the generator and the discriminator."""
        if self.built:
            return
        self.generator(tf.zeros((1,) + self.image_shape[:2] + (self.image_shape[-1] + self.num_domains,)))
        self.discriminator(tf.zeros((1,) + self.image_shape))
        self(tf.zeros((1,) + self.data_shape), training=False)

    # ------------------------------------------------------------ networks
    def domain_index(self, domain):
        """The index of a domain given by name or index.

        Raises:
            ValueError: an unknown name or an index out of range.
        """
        if isinstance(domain, (str, np.str_)):
            if domain not in self.domain_names:
                raise ValueError(f"Unknown domain {domain!r}; this model knows {', '.join(self.domain_names)}.")
            return self.domain_names.index(domain)
        if isinstance(domain, (bool, np.bool_)) or not isinstance(domain, (int, np.integer)) or not \
                0 <= domain < self.num_domains:
            raise ValueError(f"A domain must be one of {', '.join(self.domain_names)} or an index in "
                             f"[0, {self.num_domains}), got {domain!r}.")
        return int(domain)

    def _into(self, x, target, training=False):
        """Translates data-space images ``x`` into the domains ``target`` (int ``(N,)``); data space out."""
        x = tf.cast(x, tf.float32)
        onehot = tf.one_hot(tf.cast(target, tf.int32), self.num_domains)
        labels = tf.broadcast_to(onehot[:, None, None, :], tf.concat([tf.shape(x)[:3], [self.num_domains]], 0))
        inputs = tf.concat([self.to_network_space(x), labels], axis=-1)
        return self.to_data_space(self.generator(inputs, training=training))

    def _critic(self, x, training=False):
        scores, logits = self.discriminator(self.to_network_space(x), training=training)
        return to_float32(scores), to_float32(logits)

    def _unstack(self, x):
        """``(K*N, H, W, C)`` images, domain-major, and their domain indices, from stacks ``(N, H, W, K*C)``."""
        x = tf.cast(x, tf.float32)
        images = tf.concat(self.split_stack(x), axis=0)
        source = tf.repeat(tf.range(self.num_domains), tf.shape(x)[0])
        return images, source

    def _restack(self, images):
        """The inverse of :meth:`_unstack`'s image part."""
        return tf.concat(tf.split(images, self.num_domains, axis=0), axis=-1)

    def _per_image_noise(self, batch, salt):
        """Uniform noise of each image of each stack, domain-major like :meth:`_unstack` (replica-independent)."""
        noise = self.step_noise(batch, (self.num_domains,), salt=salt, distribution="uniform")
        return tf.reshape(tf.transpose(noise), [-1])

    def _random_targets(self, source, batch, salt):
        """A uniformly drawn domain other than ``source`` for every image."""
        shift = 1 + tf.cast(tf.floor(self._per_image_noise(batch, salt) * (self.num_domains - 1)), tf.int32)
        return (source + tf.minimum(shift, self.num_domains - 1)) % self.num_domains

    def call(self, x, training=False):
        """Translations of a batch of stacks, as a stack: block ``k`` is image ``k - 1`` sent into domain ``k``."""
        images, source = self._unstack(x)
        target = (source + 1) % self.num_domains
        moved = self._into(images, target, training)
        blocks = tf.reshape(moved, tf.concat([[self.num_domains, -1], tf.shape(moved)[1:]], 0))
        return self._restack(tf.reshape(tf.roll(blocks, shift=1, axis=0), tf.shape(moved)))

    # ---------------------------------------------------------- training
    def _classification(self, logits, labels):
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32))
        return loss, accuracy

    def discriminator_losses(self, x, y, step):
        del y
        batch = tf.shape(x)[0]
        real, source = self._unstack(x)
        target = self._random_targets(source, batch, SALT_D_LATENT + step)
        fake = tf.stop_gradient(self._into(real, target, training=True))
        real_scores, real_logits = self._critic(real, training=True)
        fake_scores, _ = self._critic(fake, training=True)
        distance = tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores)
        classification, accuracy = self._classification(real_logits, source)
        penalty = interpolation_gradient_penalty(
            lambda z: self.discriminator(z, training=True)[0], self.to_network_space(real),
            self.to_network_space(fake), self._per_image_noise(batch, SALT_EXTRA + step),
            getattr(self, "d_optimizer", None))
        d_loss = -distance + self.classification_weight * classification + self.gp_weight * penalty
        return {"d_loss": d_loss, "wasserstein": distance, "gradient_penalty": penalty,
                "d_classification": classification, "real_domain_accuracy": accuracy}

    def generator_losses(self, x, y):
        del y
        real, source = self._unstack(x)
        target = self._random_targets(source, tf.shape(x)[0], SALT_G_LATENT)
        fake = self._into(real, target, training=True)
        fake_scores, fake_logits = self._critic(fake, training=True)
        adversarial = -tf.reduce_mean(fake_scores)
        classification, accuracy = self._classification(fake_logits, target)
        reconstruction = tf.reduce_mean(tf.abs(self._into(fake, source, training=True) - real))
        g_loss = (adversarial + self.classification_weight * classification
                  + self.reconstruction_weight * reconstruction)
        if self.identity_weight:
            identity = tf.reduce_mean(tf.abs(self._into(real, source, training=True) - real))
            g_loss += self.identity_weight * identity
        else:
            identity = tf.zeros(())
        return {"g_loss": g_loss, "g_classification": classification, "reconstruction": reconstruction,
                "identity": identity, "fake_domain_accuracy": accuracy}

    def test_step(self, data):
        x, y = self._checked_inputs(data)
        logs = dict(to_float32(self.discriminator_losses(x, y, 0)))
        logs.update(to_float32(self.generator_losses(x, y)))
        images, source = self._unstack(x)
        blocks = tf.reshape(images, tf.concat([[self.num_domains, -1], tf.shape(images)[1:]], 0))
        errors = []
        for shift in range(1, self.num_domains):  # every source -> target pair, against the same digit's target
            target_images = tf.reshape(tf.roll(blocks, shift=-shift, axis=0), tf.shape(images))
            moved = self._into(images, (source + shift) % self.num_domains)
            errors.append(tf.reduce_mean(tf.abs(moved - target_images)))
        logs["l1"] = tf.add_n(errors) / float(len(errors))
        return self._update_trackers(logs)

    # ------------------------------------------------------------ inference
    def _target_array(self, target, n):
        if isinstance(target, (str, np.str_, int, np.integer)) and not isinstance(target, (bool, np.bool_)):
            return np.full((n,), self.domain_index(target), np.int32)
        targets = list(target) if not isinstance(target, np.ndarray) else list(target.reshape(-1))
        if len(targets) != n:
            raise ValueError(f"target must be one domain or one per image ({n}), got {len(targets)} targets.")
        return np.array([self.domain_index(t) for t in targets], np.int32)

    def translate(self, x, target, batch_size=256):
        """Translates images into a target domain (any source: the generator does not need it).

        Args:
            x: images ``(N, H, W, C)`` in ``[0, 1]``.
            target: a domain name or index for all images, or one per image.
            batch_size: images per call.

        Returns:
            float32 numpy array ``(N, H, W, C)`` in ``[0, 1]``.

        Raises:
            ValueError: an unknown target, a wrong number of targets, or
                images of another shape or range.
        """
        x = self.check_images(x)
        targets = self._target_array(target, len(x))
        return self.map_batches(lambda batch, labels, _: self._into(batch, labels), x, targets,
                                check_positive_int(batch_size, "batch_size"))

    def reconstruct(self, x, source, target, batch_size=256):
        """There and back: ``G(G(x, target), source)``, the round trip the reconstruction loss trains.

        Args:
            x: images ``(N, H, W, C)`` in ``[0, 1]`` of domain ``source``.
            source: their domain (name, index, or one per image).
            target: the domain visited (name, index, or one per image).
            batch_size: images per call.

        Returns and Raises as :meth:`translate`.
        """
        return self.translate(self.translate(x, target, batch_size), source, batch_size)

    def translation_grid(self, source):
        """Images for a preview grid: per stack, one image and its translation into every domain.

        Row ``i`` takes the image of domain ``i mod K`` of stack ``i``, so
        the rows cycle through the source domains; its columns are that
        image, then ``G(x, 0), ..., G(x, K - 1)``.

        Args:
            source: stacks ``(N, H, W, K*C)`` in ``[0, 1]``.

        Returns:
            ``(images, K + 1)``: float32 ``((K + 1) N, H, W, C)``, a row per
            stack, and the number of columns.

        Raises:
            ValueError: stacks of another shape or range.
        """
        stacks = self.check_stacks(source)
        images = np.split(stacks, self.num_domains, axis=-1)
        x = np.stack([images[i % self.num_domains][i] for i in range(len(stacks))])
        columns = [x] + [self.translate(x, k) for k in range(self.num_domains)]
        return np.stack(columns, axis=1).reshape((-1,) + self.image_shape), len(columns)
