"""Adversarial autoencoder: a deterministic autoencoder whose code distribution is matched to a prior by a GAN.

An adversarial autoencoder (AAE) trains an encoder q(z|x) and a decoder
p(x|z) to reconstruct the data, while a discriminator on codes tells samples
of a chosen prior p(z) from the codes of real data and the encoder learns to
fool it. The aggregate code distribution q(z) = E_x q(z|x) is thus pulled
towards p(z), so decoding prior samples generates data. Three variants
share one class:

* unsupervised (section 2): the prior is a standard normal, a mixture of 10
  Gaussians on a circle, or a swiss roll (:mod:`kzoo.models.latent.priors`);
* supervised (``num_classes=K``, section 2.3 and figure 4): the
  discriminator also sees the example's one-hot label (with an extra slot
  for unlabeled examples, label -1), and the prior draw paired with an
  example of class ``c`` comes from class ``c``'s part of the mixture or
  the roll, so the label decides where in the prior a code lands;
* semi-supervised (``semi_supervised=True``, section 5 and figure 8): the
  encoder outputs a class distribution y (softmax over ``num_classes``) and
  a style code z; the decoder reconstructs from [y, z]; one discriminator
  matches y to a uniform categorical prior (one-hot samples) and another
  matches z to the prior; a cross-entropy on the labeled examples of each
  batch (labels ``-1`` are unlabeled and masked out) teaches y the classes.
  Beyond the paper, ``augment`` (DiffAugment of the encoder's input) and a
  consistency term on y (KL to the clean image's prediction, or confident
  pseudo-labels with ``consistency_threshold``) make use of the unlabeled
  images when they are few.

References:
    Makhzani, Shlens, Jaitly, Goodfellow & Frey, "Adversarial
    Autoencoders", arXiv:1511.05644, 2015.
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (the
    non-saturating generator loss).
    Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
    Consistency and Confidence", NeurIPS 2020 (the pseudo-label term).
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.base import LatentCodes, replica_count, seed_pair, step_logs, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import (check_bool, check_choice, check_data_batch, check_int_tuple, check_number,
                                  check_optional, check_positive_int)
from kzoo.layers.diff_augment import DiffAugment
from kzoo.models.gan.base import AdversarialModel
from kzoo.models.latent import priors as P
from kzoo.models.latent.networks import check_divisible, conv_decoder, conv_encoder, dense_discriminator, hidden_features

__all__ = ["AdversarialAutoencoder"]

# Salts of ``step_noise``, per discriminator update ``s``: SALT_STRIDE * s + one of these.
SALT_COMPONENT = 1  # uniform: the prior's mixture component
SALT_PRIOR = 2  # normal: the draw within the component
SALT_CATEGORY = 3  # uniform: the categorical prior's class (semi-supervised)
SALT_AUGMENT = 4  # uniform: the encoder input's augmentation
SALT_STRIDE = 10
#: The generator update's ``step`` in the salts above (after every discriminator update's).
GENERATOR_STEP = 1000

BASE_LOSSES = ("d_loss", "g_loss", "reconstruction", "adversarial", "d_real", "d_fake", "d_grad_norm",
               "g_grad_norm")
SEMI_LOSSES = BASE_LOSSES + ("supervised", "accuracy", "consistency")
#: Key of the number of labeled examples in a step's logs (weights the supervised trackers).
_LABELED = "_labeled_examples"


def _seeded_noise(n, seed):
    """``noise(shape, distribution, stream)`` for :meth:`AdversarialAutoencoder.prior_codes` outside a train step:
    ``n`` stateless draws per stream, each stream folded into ``seed``."""

    def noise(shape, distribution, stream):
        draw = tf.random.stateless_normal if distribution == "normal" else tf.random.stateless_uniform
        return draw((n,) + tuple(shape), tf.random.experimental.stateless_fold_in(seed, stream))

    return noise


class _Autoencoder(keras.Model):
    """The encoder and decoder of an AAE: the part the generator optimizer trains.

    Args:
        encoder: image -> raw code (``num_classes`` class logits first for a
            semi-supervised model, then the style code).
        decoder: code -> per-pixel Bernoulli logits.
        num_classes: None, or the class head's width (semi-supervised).
    """

    def __init__(self, encoder, decoder, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.num_classes = num_classes

    def encode(self, x, training=False):
        """Returns ``(class_logits or None, code)``; the code includes the class probabilities first."""
        raw = to_float32(self.encoder(x, training=training))
        if self.num_classes is None:
            return None, raw
        logits = raw[:, : self.num_classes]
        return logits, tf.concat([tf.nn.softmax(logits), raw[:, self.num_classes :]], axis=-1)

    def pixel_logits(self, code, training=False):
        return to_float32(self.decoder(code, training=training))

    def call(self, x, training=False):
        return self.pixel_logits(self.encode(x, training=training)[1], training=training)


class _CodeDiscriminators(keras.Model):
    """The two discriminators of a semi-supervised AAE, on [y, z]: one logit each, ``(N, 2)``.

    Args:
        num_classes: width of y (the first columns of the code).
        hidden_units: hidden widths of both discriminators.
    """

    def __init__(self, num_classes, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.category = dense_discriminator(hidden_units, name="category_discriminator")
        self.style = dense_discriminator(hidden_units, name="style_discriminator")

    def call(self, codes, training=False):
        y, z = codes[:, : self.num_classes], codes[:, self.num_classes :]
        return tf.concat([to_float32(self.category(y, training=training)),
                          to_float32(self.style(z, training=training))], axis=-1)


@register("aae", family="latent")
class AdversarialAutoencoder(LatentCodes, AdversarialModel):
    """Adversarial autoencoder on the shared convolutional encoder and decoder.

    The encoder gives a deterministic code (no noise), the decoder Bernoulli
    pixel logits (for binarized images; dynamic binarization to train,
    static to evaluate, as the VAE). Each train step makes ``d_steps``
    updates of the code discriminator D on prior samples (real) against the
    encoder's codes (fake, gradient stopped), -log D(z_prior) - log(1 -
    D(z_data)), then one update of the encoder and decoder (``generator``)
    minimizing

        reconstruction_weight * E[-log p(x | z(x))]
        + adversarial_weight * E[-log D(z(x))]
        (+ supervised_weight * E_labeled[-log y_label(x)], semi-supervised)

    where the reconstruction term is the Bernoulli negative log-likelihood
    summed over pixels and averaged over the batch (the VAE's reconstruction
    term) and the adversarial term is the non-saturating loss of the encoder
    fooling D. The paper alternates a reconstruction phase and a
    regularization phase; one joint generator update per step is the common
    equivalent with adaptive optimizers. The prior draws come from
    :meth:`step_noise`, so a multi-replica step equals the single-device one.

    Codes: :meth:`encode` returns the code and :meth:`decode` decodes codes,
    neither taking labels (the encoder sees only the image; the decoder only
    the code). For a semi-supervised model the code is ``[y, z]``: the
    ``num_classes`` class probabilities followed by the ``latent_dim`` style
    code, so :attr:`code_dim` is ``num_classes + latent_dim``; for the other
    variants it is ``latent_dim``. ``generate(n, labels=...)`` decodes prior
    draws: for a supervised model the labels pick the prior's part, for a
    semi-supervised one the one-hot y (z from the prior); None cycles through
    the classes. The model has no likelihood, so no ``log_prob``.

    ``self.generator`` holds the encoder and decoder (``generator.encoder``,
    ``generator.decoder``); ``self.discriminator`` is the code discriminator
    (semi-supervised: a container of the two, ``discriminator.category`` and
    ``discriminator.style``, giving one logit each).

    Args:
        data_shape: per-example image shape (H, W, C); H and W divisible by
            ``2**len(filters)``.
        latent_dim: dimension of the code z (the style code of a
            semi-supervised model).
        filters: channels of the encoder's stride-2 convolutions (the
            decoder mirrors them).
        hidden_units: width of the dense layer of the encoder and decoder.
        discriminator_units: hidden widths of the code discriminator(s).
        prior: ``"normal"``, ``"mixture"`` (10 Gaussians on a circle in the
            first two dimensions) or ``"swiss_roll"`` (see
            :mod:`kzoo.models.latent.priors`; the last two need
            ``latent_dim >= 2``). A supervised model needs one of the last
            two (its classes split the components).
        reconstruction_weight: weight of the reconstruction term (default
            1: nats per image).
        adversarial_weight: weight of the encoder's adversarial term (per
            discriminator). The default 1 is the plain sum of the two terms;
            the reconstruction term is summed over pixels (tens of nats for
            MNIST), so a larger weight pulls the codes harder towards the
            prior at some cost in reconstruction.
        supervised_weight: weight of the cross-entropy on labeled examples
            (semi-supervised only; default 10, as labels are few and the
            cross-entropy is a few nats against a reconstruction term of
            tens of nats).
        num_classes: None (unsupervised), or the number of classes: a
            supervised model (labels for D and the prior), or with
            ``semi_supervised`` the width of y. Mixture priors need
            ``num_classes <= 10`` (the circle's components).
        semi_supervised: the semi-supervised variant (needs
            ``num_classes``).
        labeled_per_class: semi-supervised only: None trains on every label
            the data has; an int makes :meth:`data_options` keep that many
            labels per class of the training split (fixed seed) and mark the
            others -1 (``kzoo train`` reads it).
        d_steps: discriminator updates per generator update.
        augment: None, or DiffAugment policies (:class:`kzoo.layers.DiffAugment`,
            e.g. ``"translation"``) applied to the encoder's input in every
            training update: the autoencoder reconstructs the augmented
            image, the discriminators see its code and the class head is
            taught on augmented labeled images (validation steps see the
            images unchanged).
        consistency_weight: semi-supervised only: weight of the
            consistency term E_x KL(y(x) || y(augment(x))) over every
            training example, labeled or not, with the clean image's class
            distribution held fixed as the target (needs ``augment``; 0
            turns it off, the paper's objective).
        consistency_threshold: None for the KL term above; a probability
            in (0, 1) replaces it with pseudo-labels (Sohn et al. 2020,
            FixMatch): the cross-entropy of y(augment(x)) against the clean
            image's most probable class, on the examples whose clean
            prediction reaches that probability, averaged over the batch.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a bad number, an unknown prior, ``consistency_weight``
            without ``augment`` or ``semi_supervised``,
            ``consistency_threshold`` without ``consistency_weight``, ``latent_dim < 2`` for
            a structured prior, ``semi_supervised`` without ``num_classes``,
            ``labeled_per_class`` without ``semi_supervised``, a supervised
            model with the normal prior or more classes than components, or
            a ``data_shape`` the convolutions cannot map.
    """

    def __init__(self, data_shape=(28, 28, 1), latent_dim=8, filters=(32, 64), hidden_units=256,
                 discriminator_units=(256, 256), prior="normal", reconstruction_weight=1.0, adversarial_weight=1.0,
                 supervised_weight=10.0, num_classes=None, semi_supervised=False, labeled_per_class=None, d_steps=1,
                 augment=None, consistency_weight=0.0, consistency_threshold=None, **kwargs):
        semi_supervised = check_bool(semi_supervised, "semi_supervised")
        object.__setattr__(self, "_semi", semi_supervised)  # read by loss_names during the base __init__
        super().__init__(data_shape=data_shape, d_steps=d_steps, **kwargs)
        self.semi_supervised = semi_supervised
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = check_int_tuple(filters, "filters")
        check_divisible(self.data_shape, self.filters)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.discriminator_units = check_int_tuple(discriminator_units, "discriminator_units")
        self.prior = check_choice(prior, "prior", P.PRIORS)
        self.reconstruction_weight = check_number(reconstruction_weight, "reconstruction_weight", minimum=0,
                                                  exclusive_minimum=True, description="a positive number")
        self.adversarial_weight = check_number(adversarial_weight, "adversarial_weight", minimum=0,
                                               description="a non-negative number")
        self.supervised_weight = check_number(supervised_weight, "supervised_weight", minimum=0,
                                              description="a non-negative number")
        self.num_classes = check_optional(check_number, num_classes, "num_classes", integer=True, minimum=2,
                                          description="None or an integer >= 2")
        self.labeled_per_class = check_optional(check_positive_int, labeled_per_class, "labeled_per_class")
        if self.semi_supervised and self.num_classes is None:
            raise ValueError("semi_supervised=True needs num_classes (the width of the class head y), got "
                             "num_classes=None.")
        if self.labeled_per_class is not None and not self.semi_supervised:
            raise ValueError(f"labeled_per_class={self.labeled_per_class} applies to the semi-supervised variant "
                             "only; pass semi_supervised=True (and num_classes) or labeled_per_class=None.")
        self.augment = None if augment in (None, "", ()) else DiffAugment.check_policy(augment, "augment")
        self.consistency_weight = check_number(consistency_weight, "consistency_weight", minimum=0,
                                               description="a non-negative number")
        if self.consistency_weight > 0 and not (self.semi_supervised and self.augment):
            raise ValueError(f"consistency_weight={self.consistency_weight} compares the class head on clean and "
                             "augmented images: it needs semi_supervised=True and augment (e.g. 'translation'), got "
                             f"semi_supervised={self.semi_supervised}, augment={augment!r}.")
        self.consistency_threshold = check_optional(
            check_number, consistency_threshold, "consistency_threshold", minimum=0, maximum=1,
            exclusive_minimum=True, exclusive_maximum=True, description="None or a probability in (0, 1)")
        if self.consistency_threshold is not None and self.consistency_weight == 0:
            raise ValueError(f"consistency_threshold={self.consistency_threshold} sets the pseudo-labels of the "
                             "consistency term: it needs consistency_weight > 0, got 0.")
        self.augmenter = DiffAugment(self.augment, name="diff_augment") if self.augment else None
        # Validates the prior's dimension and, for the supervised variant, its split into classes.
        P.make_prior(self.prior, self.latent_dim, num_classes=self.supervised_classes)

        encoder_outputs = self.latent_dim + (self.num_classes if self.semi_supervised else 0)
        self.generator = _Autoencoder(
            conv_encoder(self.filters, self.hidden_units, encoder_outputs),
            conv_decoder(self.data_shape, self.filters, self.hidden_units, self.data_shape[-1]),
            num_classes=self.num_classes if self.semi_supervised else None, name="autoencoder")
        if self.semi_supervised:
            self.discriminator = _CodeDiscriminators(self.num_classes, self.discriminator_units,
                                                     name="code_discriminators")
        else:
            self.discriminator = dense_discriminator(self.discriminator_units)

    @property
    def loss_names(self):
        """The tracked scalars (the semi-supervised variant adds ``supervised`` and ``accuracy``)."""
        return SEMI_LOSSES if self.__dict__.get("_semi") else BASE_LOSSES

    def get_config(self):
        config = super().get_config()
        config.update({
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "hidden_units": self.hidden_units,
            "discriminator_units": list(self.discriminator_units),
            "prior": self.prior,
            "reconstruction_weight": self.reconstruction_weight,
            "adversarial_weight": self.adversarial_weight,
            "supervised_weight": self.supervised_weight,
            "num_classes": self.num_classes,
            "semi_supervised": self.semi_supervised,
            "labeled_per_class": self.labeled_per_class,
            "augment": list(self.augment) if self.augment else None,
            "consistency_weight": self.consistency_weight,
            "consistency_threshold": self.consistency_threshold,
        })
        return config

    # ------------------------------------------------------------ structure
    @property
    def supervised_classes(self):
        """``num_classes`` for the supervised variant (labels split the prior), else None."""
        return None if self.semi_supervised else self.num_classes

    @property
    def code_dim(self):
        """Width of the codes :meth:`encode` returns and :meth:`decode` takes."""
        return self.latent_dim + (self.num_classes if self.semi_supervised else 0)

    def prior_distribution(self):
        """The code prior p(z) (the style prior of a semi-supervised model), a TFP distribution."""
        return P.make_prior(self.prior, self.latent_dim)

    def data_options(self, split):
        """Dynamic binarization to train, static to evaluate; a semi-supervised model with
        ``labeled_per_class`` keeps only that many training labels per class."""
        options = {"binarize": "dynamic" if split == "train" else "static"}
        if split == "train" and self.labeled_per_class is not None:
            options["labeled_per_class"] = self.labeled_per_class
        return options

    def _discriminator_width(self):
        if self.supervised_classes is not None:
            return self.latent_dim + self.num_classes + 1
        return self.code_dim

    def build_for_data(self):
        """Builds the encoder, the decoder and the discriminator(s)."""
        if self.built:
            return
        # The discriminator first: the model's own first call then finds every sub-network built.
        self.discriminator(tf.zeros((1, self._discriminator_width())), training=False)
        self(tf.zeros((1,) + self.data_shape), training=False)

    # ---------------------------------------------------------- components
    def _label_planes(self, labels):
        """One-hot labels with an extra last slot for unlabeled (-1) examples (supervised variant)."""
        labels = tf.cast(labels, tf.int32)
        return tf.one_hot(tf.where(labels < 0, self.num_classes, labels), self.num_classes + 1)

    def discriminator_logits(self, codes, labels=None, training=False):
        """D's logits for codes: ``(N, 1)``, or ``(N, 2)`` (category, style) when semi-supervised.

        Args:
            codes: float32 ``(N, code_dim)``.
            labels: int32 ``(N,)`` for the supervised variant (-1 unlabeled).
            training: network mode.
        """
        inputs = tf.cast(codes, tf.float32)
        if self.supervised_classes is not None:
            inputs = tf.concat([inputs, self._label_planes(labels)], axis=-1)
        return tf.reshape(to_float32(self.discriminator(inputs, training=training)), [tf.shape(codes)[0], -1])

    def prior_codes(self, labels, noise):
        """Codes drawn from the prior, from given noise.

        Args:
            labels: int32 ``(N,)``: the supervised variant's class of each
                draw (-1: the whole prior), or the semi-supervised variant's
                y (-1: drawn from the uniform categorical); None otherwise.
            noise: ``noise(shape, distribution, stream)`` returning float32
                noise ``(N,) + shape`` (``"normal"`` or ``"uniform"``; each
                stream an independent draw).

        Returns:
            float32 ``(N, code_dim)``.
        """
        if self.supervised_classes is not None:
            prior = P.class_prior(self.prior, self.latent_dim, labels, self.num_classes)
        else:
            prior = self.prior_distribution()
        uniform = tf.reshape(noise((1,), "uniform", SALT_COMPONENT), [-1])
        z = P.sample_with_noise(prior, uniform, noise((self.latent_dim,), "normal", SALT_PRIOR))
        if not self.semi_supervised:
            return z
        drawn = tf.reshape(noise((1,), "uniform", SALT_CATEGORY), [-1]) * self.num_classes
        drawn = tf.minimum(tf.cast(drawn, tf.int32), self.num_classes - 1)
        classes = drawn if labels is None else tf.where(tf.cast(labels, tf.int32) >= 0,
                                                        tf.cast(labels, tf.int32), drawn)
        return tf.concat([tf.one_hot(classes, self.num_classes), z], axis=-1)

    def _step_prior_codes(self, batch, labels, step):
        def noise(shape, distribution, stream):
            return self.step_noise(batch, shape, salt=SALT_STRIDE * step + stream, distribution=distribution)
        # The semi-supervised categorical prior ignores the data's labels (it is a prior over y).
        return self.prior_codes(None if self.semi_supervised else labels, noise)

    def reconstruction_nll(self, x, pixel_logits):
        """Bernoulli negative log-likelihood of each image, summed over pixels: float32 ``(N,)``."""
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(x, tf.float32), logits=pixel_logits)
        return tf.reduce_sum(tf.reshape(losses, [tf.shape(x)[0], -1]), axis=-1)

    def supervised_terms(self, class_logits, labels):
        """The masked cross-entropy of the semi-supervised variant.

        Only examples with a label >= 0 count; the sum is divided by the
        number of labeled examples of the *global* batch (all replicas), so
        a multi-replica step equals the single-device one. With no labeled
        example the term is 0 and has zero gradient.

        Args:
            class_logits: float32 ``(N, num_classes)``.
            labels: int ``(N,)``, -1 for unlabeled examples.

        Returns:
            ``(loss, local_mean, accuracy, local_count)``: the term to
            minimize (scaled for replica averaging), this replica's mean
            cross-entropy and accuracy over its labeled examples (0 when it
            has none), and its number of labeled examples (float32).
        """
        labels = tf.cast(labels, tf.int32)
        mask = tf.cast(labels >= 0, tf.float32)
        safe = tf.maximum(labels, 0)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=class_logits) * mask
        correct = tf.cast(tf.equal(tf.argmax(class_logits, axis=-1, output_type=tf.int32), safe), tf.float32) * mask
        count = tf.reduce_sum(mask)
        total = count
        context = tf.distribute.get_replica_context()
        if replica_count() > 1 and context is not None:
            total = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        loss = float(replica_count()) * tf.reduce_sum(cross_entropy) / tf.maximum(total, 1.0)
        local = tf.maximum(count, 1.0)
        return loss, tf.reduce_sum(cross_entropy) / local, tf.reduce_sum(correct) / local, count

    # ------------------------------------------------------------- training
    def encoder_input(self, x, step, training=True):
        """The image the encoder sees in update ``step``: ``x`` DiffAugmented in training steps, else ``x``.

        Args:
            x: float32 image batch in [0, 1].
            step: the discriminator update's index, or :data:`GENERATOR_STEP`.
            training: False (a validation step) leaves ``x`` unchanged.
        """
        x = tf.cast(x, tf.float32)
        if self.augmenter is None or not training:
            return x
        noise = self.step_noise(tf.shape(x)[0], (self.augmenter.noise_dims,), salt=SALT_STRIDE * step + SALT_AUGMENT,
                                distribution="uniform")
        return self.augmenter(x, noise=noise, training=True)

    def consistency_term(self, clean_logits, augmented_logits):
        """The consistency term over the batch, the clean prediction a fixed target: float32 scalar.

        Mean KL(y(x) || y(augment(x))), or with ``consistency_threshold``
        the pseudo-label cross-entropy (zero for examples whose clean
        prediction is less confident than the threshold).
        """
        clean_logits = tf.stop_gradient(clean_logits)
        log_predicted = tf.nn.log_softmax(augmented_logits)
        if self.consistency_threshold is None:
            log_target = tf.nn.log_softmax(clean_logits)
            return tf.reduce_mean(tf.reduce_sum(tf.exp(log_target) * (log_target - log_predicted), axis=-1))
        confident = tf.cast(tf.reduce_max(tf.nn.softmax(clean_logits), axis=-1) >= self.consistency_threshold,
                            tf.float32)
        pseudo = tf.one_hot(tf.argmax(clean_logits, axis=-1), tf.shape(clean_logits)[-1])
        return tf.reduce_mean(confident * -tf.reduce_sum(pseudo * log_predicted, axis=-1))

    def discriminator_losses(self, x, y, step, training=True):
        labels = self.label_tensor(y)
        _, fake = self.generator.encode(self.encoder_input(x, step, training), training=True)
        fake = tf.stop_gradient(fake)
        real = self._step_prior_codes(tf.shape(x)[0], labels, step)
        real_logits = self.discriminator_logits(real, labels, training=True)
        fake_logits = self.discriminator_logits(fake, labels, training=True)
        d_loss = tf.reduce_sum(tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits), axis=0))
        return {"d_loss": d_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

    def generator_losses(self, x, y, training=True):
        labels = self.label_tensor(y)
        seen = self.encoder_input(x, GENERATOR_STEP, training)
        class_logits, codes = self.generator.encode(seen, training=True)
        reconstruction = tf.reduce_mean(self.reconstruction_nll(seen, self.generator.pixel_logits(codes, training=True)))
        fake_logits = self.discriminator_logits(codes, labels, training=True)
        adversarial = tf.reduce_sum(tf.reduce_mean(tf.nn.softplus(-fake_logits), axis=0))
        g_loss = self.reconstruction_weight * reconstruction + self.adversarial_weight * adversarial
        logs = {"reconstruction": reconstruction, "adversarial": adversarial}
        if self.semi_supervised:
            supervised, mean_ce, accuracy, count = self.supervised_terms(class_logits, labels)
            g_loss = g_loss + self.supervised_weight * supervised
            logs.update({"supervised": mean_ce, "accuracy": accuracy, _LABELED: count})
            if self.consistency_weight > 0 and training:
                clean_logits, _ = self.generator.encode(tf.cast(x, tf.float32), training=True)
                consistency = self.consistency_term(clean_logits, class_logits)
                g_loss = g_loss + self.consistency_weight * consistency
                logs["consistency"] = consistency
        logs["g_loss"] = g_loss
        return logs

    def _update_trackers(self, losses):
        # The supervised scalars are means over labeled examples: weight them by their count.
        for name, tracker in self.trackers.items():
            if name not in losses:
                continue
            if name in ("supervised", "accuracy") and _LABELED in losses:
                tracker.update_state(losses[name], sample_weight=losses[_LABELED])
            else:
                tracker.update_state(losses[name])
        return step_logs({name: tracker.result() for name, tracker in self.trackers.items() if name in losses})

    def test_step(self, data):
        """Validation: the losses on the images as given (no augmentation, no consistency term)."""
        x, y = self._checked_inputs(data)
        logs = dict(to_float32(self.discriminator_losses(x, y, 0, training=False)))
        logs.update(to_float32(self.generator_losses(x, y, training=False)))
        return self._update_trackers(logs)

    # ------------------------------------------------------------ contract
    def call(self, x, training=False):
        """Reconstructs ``x``: the decoder's pixel probabilities for the encoder's code."""
        return tf.sigmoid(self.generator(tf.cast(x, tf.float32), training=training))

    def encode_batch(self, x, **kwargs):
        del kwargs
        return self.generator.encode(tf.cast(x, tf.float32))[1]

    def encoder_features_batch(self, x, **kwargs):
        del kwargs
        return hidden_features(self.generator.encoder, tf.cast(x, tf.float32))

    def decode_batch(self, z, **kwargs):
        del kwargs
        return tf.sigmoid(self.generator.pixel_logits(tf.cast(z, tf.float32)))

    @property
    def codes_take_labels(self):
        """False: the encoder sees only the image and the code alone decides the decoded image."""
        return False

    def sample_batch(self, n, seed, labels=None):
        """Decodes prior codes (class ``labels`` for the supervised and semi-supervised variants)."""
        if labels is not None:
            labels = tf.constant(labels, tf.int32)
        return self.decode_batch(self.prior_codes(labels, _seeded_noise(n, seed)))

    def sample_codes(self, n, seed=None, labels=None):
        """Prior codes; ``decode(sample_codes(n, seed))`` equals ``generate(n, seed)`` for ``n <= 256``.

        Args:
            n: number of codes.
            seed: None or an int.
            labels: as for :meth:`generate`.

        Returns:
            float32 numpy array ``(n, code_dim)``.
        """
        n = check_positive_int(n, "n")
        labels = self.check_labels(labels, n)
        noise = _seeded_noise(n, seed_pair(seed))
        return np.asarray(self.prior_codes(None if labels is None else tf.constant(labels), noise), np.float32)

    # ------------------------------------------------------ classification
    def class_probabilities(self, x, batch_size=256):
        """The class head's probabilities y(x) of a semi-supervised model.

        Args:
            x: array ``(N,) + data_shape`` in [0, 1].
            batch_size: examples per encoder call.

        Returns:
            float32 numpy array ``(N, num_classes)``; rows sum to 1.

        Raises:
            ValueError: the model is not semi-supervised, or bad ``x``.
        """
        if not self.semi_supervised:
            raise ValueError(f"class_probabilities needs a semi-supervised model (semi_supervised=True), got "
                             f"semi_supervised={self.semi_supervised}.")
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        return self.map_batches(lambda batch, _, __: tf.nn.softmax(self.generator.encode(batch)[0]), x, None,
                                check_positive_int(batch_size, "batch_size"))

    @property
    def can_classify(self):
        """True for the semi-supervised variant, whose class head :meth:`classify` reads."""
        return self.semi_supervised

    def classify(self, x, batch_size=256):
        """The most probable class of each example (semi-supervised models).

        Args:
            x: array ``(N,) + data_shape`` in [0, 1].
            batch_size: examples per encoder call.

        Returns:
            int numpy array ``(N,)``.

        Raises:
            ValueError: as :meth:`class_probabilities`.
        """
        return np.argmax(self.class_probabilities(x, batch_size=batch_size), axis=-1).astype(np.int64)
