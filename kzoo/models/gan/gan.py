"""The original GAN (MLP generator and discriminator) and the family's base.

:class:`GANModel` is what every kzoo GAN shares: data mapping (images in
[0, 1] outside, [-1, 1] inside the networks; vectors untouched), a latent
prior and the public latent API (``latent_dim``, ``sample_latents``,
``decode``/``generate_from_latents``, ``generate``), the tracked
diagnostics (``d_real``, ``d_fake``, ``d_grad_norm``, ``g_grad_norm``), an
optional exponential moving average (EMA) of the generator's weights and
optional differentiable augmentation (:class:`kzoo.layers.DiffAugment`).

:class:`GAN` is the model of Goodfellow et al. with a choice of generator
loss: ``"minimax"`` minimizes log(1 - D(G(z))) (the value function itself,
whose gradient vanishes when D confidently rejects the samples: it
saturates), ``"non_saturating"`` minimizes -log D(G(z)) (same fixed point,
strong gradients early in training).

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    Yazici et al., "The Unusual Effectiveness of Averaging in GAN
    Training", ICLR 2019 (generator EMA).
    Zhao et al., "Differentiable Augmentation for Data-Efficient GAN
    Training", NeurIPS 2020.
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.adversarial import AdversarialModel
from kzoo.core.base import seed_pair, to_float32
from kzoo.core.ema import check_ema_decay, copy_variables, freeze, update_moving_average
from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_data_batch, check_positive_int
from kzoo.layers.diff_augment import POLICIES, DiffAugment

LOSSES = ("minimax", "non_saturating")

# Salts of step_noise: each random draw of a train step gets its own stream.
_SALT_G_LATENT = 0
_SALT_D_LATENT = 1  # + discriminator step
_SALT_AUG_G = 50
_SALT_AUG_REAL = 60  # + discriminator step
_SALT_AUG_FAKE = 80  # + discriminator step
_SALT_EXTRA = 100  # models' own draws (gradient penalty ...), + d step


def check_augment(augment):
    """Validates the ``augment`` argument of a GAN.

    Args:
        augment: None (off), or a comma-separated string / sequence of
            DiffAugment policies (``"color"``, ``"translation"``,
            ``"cutout"``).

    Returns:
        None or a tuple of policy names.

    Raises:
        ValueError: unknown policy names.
    """
    if augment is None or augment == "" or augment == ():
        return None
    if isinstance(augment, str):
        augment = [a for a in augment.split(",") if a]
    augment = tuple(augment)
    unknown = [a for a in augment if a not in POLICIES]
    if unknown or not augment:
        raise ValueError(f"augment must be None or a list of {', '.join(map(repr, POLICIES))}, got {augment!r}.")
    return augment


def check_units(units, name):
    """Validates a tuple of layer widths (positive ints, at least one)."""
    if isinstance(units, (int, np.integer)) and not isinstance(units, bool):
        units = (units,)
    try:
        units = tuple(check_positive_int(u, f"{name} entry") for u in units)
    except TypeError as err:
        raise ValueError(f"{name} must be a sequence of positive ints, got {units!r}.") from err
    if not units:
        raise ValueError(f"{name} must name at least one layer width, got {units!r}.")
    return units


def mlp_generator(data_shape, hidden_units, name="generator"):
    """An MLP from the latent vector to raw outputs of ``data_shape``.

    Hidden layers are Dense + LeakyReLU(0.2); the output is linear (the model
    applies tanh for images).
    """
    layers = []
    for i, units in enumerate(hidden_units):
        layers += [keras.layers.Dense(units, name=f"dense_{i}"), keras.layers.LeakyReLU(0.2, name=f"act_{i}")]
    layers += [keras.layers.Dense(int(np.prod(data_shape)), name="output"),
               keras.layers.Reshape(tuple(data_shape), name="reshape")]
    return keras.Sequential(layers, name=name)


def mlp_body(hidden_units, name="discriminator_body"):
    """The feature extractor of an MLP discriminator (flatten, Dense + LeakyReLU)."""
    layers = [keras.layers.Flatten(name="flatten")]
    for i, units in enumerate(hidden_units):
        layers += [keras.layers.Dense(units, name=f"dense_{i}"), keras.layers.LeakyReLU(0.2, name=f"act_{i}")]
    return keras.Sequential(layers, name=name)


def mlp_discriminator(hidden_units, name="discriminator"):
    """An MLP discriminator giving one logit per example, shape ``(N, 1)``."""
    body = mlp_body(hidden_units)
    return keras.Sequential(body.layers + [keras.layers.Dense(1, name="logit")], name=name)


def clustering_accuracy(labels, clusters, num_clusters=None):
    """Accuracy of a clustering under the best one-to-one cluster-to-class map.

    The map is found by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) on the contingency table, as
    in the unsupervised-classification evaluations of InfoGAN and
    clustering papers.

    Args:
        labels: int array ``(N,)`` of true classes.
        clusters: int array ``(N,)`` of cluster indices.
        num_clusters: number of clusters (default: inferred).

    Returns:
        ``(accuracy, mapping)``: a float in [0, 1] and a dict cluster ->
        class.

    Raises:
        ValueError: the arrays differ in length, are empty or hold negative
            values.
    """
    from scipy.optimize import linear_sum_assignment

    labels = np.asarray(labels).astype(np.int64).ravel()
    clusters = np.asarray(clusters).astype(np.int64).ravel()
    if labels.shape != clusters.shape or labels.size == 0:
        raise ValueError(f"labels and clusters must be non-empty and of equal length, got {labels.shape} "
                         f"and {clusters.shape}.")
    if labels.min() < 0 or clusters.min() < 0:
        raise ValueError("labels and clusters must be non-negative integers.")
    size = max(labels.max() + 1, clusters.max() + 1, num_clusters or 0)
    table = np.zeros((size, size), np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-table)
    accuracy = float(table[rows, cols].sum()) / labels.size
    return accuracy, {int(r): int(c) for r, c in zip(rows, cols)}


class GANModel(AdversarialModel):
    """Base of the kzoo GAN family.

    Subclasses set ``self.generator`` (latent vector -> raw output of
    ``data_shape``) and ``self.discriminator`` in ``__init__`` through
    :meth:`make_generator` / :meth:`make_discriminator`, then call
    :meth:`_finish_init`. They may override :meth:`discriminator_logits`,
    :meth:`prior_sample` and the two loss methods.

    Images (``data_shape`` of rank 3) are in [0, 1] outside the model; the
    generator ends in tanh and the discriminator sees images mapped to
    [-1, 1]. Vectors (e.g. ``data_shape=(2,)``) pass unchanged and the
    generator's output is linear.

    Args:
        data_shape: per-example shape.
        latent_dim: dimension of the generator input z ~ N(0, I).
        d_steps: discriminator updates per generator update.
        ema_decay: None, or the decay of an exponential moving average of
            the generator's weights (e.g. 0.999) used for sampling (warmed
            up, see :meth:`ema_rate`).
        augment: None, or DiffAugment policies applied to real and fake
            images before the discriminator in both updates (images only).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``latent_dim``, ``ema_decay`` or ``augment``, or
            ``augment`` on non-image data.
    """

    loss_names = ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm")

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, d_steps=1, ema_decay=None, augment=None, **kwargs):
        super().__init__(data_shape=data_shape, d_steps=d_steps, **kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.ema_decay = check_ema_decay(ema_decay)
        self.augment = check_augment(augment)
        if self.augment and not self.is_image:
            raise ValueError(f"augment needs image data (H, W, C), got data_shape {self.data_shape}.")
        self.augmenter = DiffAugment(self.augment, name="diff_augment") if self.augment else None

    def _finish_init(self):
        """Creates the EMA copy of the generator once ``make_generator`` works."""
        self.generator = self.make_generator("generator")
        self.discriminator = self.make_discriminator("discriminator")
        self.ema_generator = None
        if self.ema_decay is not None:
            self.ema_generator = self.make_generator("ema_generator")
            self.ema_generator.trainable = False

    def get_config(self):
        config = super().get_config()
        config.update({"latent_dim": self.latent_dim, "ema_decay": self.ema_decay,
                       "augment": list(self.augment) if self.augment else None})
        return config

    # ------------------------------------------------------------ networks
    def make_generator(self, name):
        """Returns a new generator network (latent vector -> raw output)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_generator().")

    def make_discriminator(self, name):
        """Returns a new discriminator network."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_discriminator().")

    @property
    def is_image(self):
        """True for image data ``(H, W, C)`` (tanh output, [-1, 1] inside)."""
        return len(self.data_shape) == 3

    @property
    def generator_input_dim(self):
        """Width of the generator's input vector."""
        return self.latent_dim

    def build_for_data(self):
        """Builds the generator, the discriminator and the EMA copy."""
        if self.built:
            return
        z = tf.zeros((1, self.generator_input_dim))
        labels = tf.zeros((1,), tf.int32) if self.is_conditional else None
        self._generator_call(self.generator, z, labels, training=False)
        self(tf.zeros((1,) + self.data_shape), labels=labels, training=False)
        if self.ema_generator is not None:
            self._generator_call(self.ema_generator, z, labels, training=False)
            copy_variables(self.ema_generator.weights, self.generator.weights)
            freeze(self.ema_generator)

    def ema_rate(self):
        """The EMA decay of this step, warmed up: ``min(ema_decay, (1 + t) / (10 + t))``.

        ``t`` is the number of generator updates so far. Without the
        warm-up a decay of 0.999 would keep about 26% of the initial
        weights after 1,330 updates.
        """
        step = tf.cast(self.step_counter(), tf.float32)
        return tf.minimum(tf.constant(self.ema_decay, tf.float32), (1.0 + step) / (10.0 + step))

    def after_generator_update(self):
        if self.ema_generator is not None:
            update_moving_average(self.ema_generator.weights, self.generator.weights, self.ema_rate())

    # -------------------------------------------------------- data mapping
    def to_network_space(self, x):
        """Data space -> discriminator input ([0, 1] -> [-1, 1] for images)."""
        x = tf.cast(x, tf.float32)
        return 2.0 * x - 1.0 if self.is_image else x

    def to_data_space(self, raw):
        """Raw generator output -> data space (tanh then [0, 1] for images)."""
        raw = to_float32(raw)
        return 0.5 * (tf.tanh(raw) + 1.0) if self.is_image else raw

    def _generator_call(self, generator, z, labels, training):
        del labels
        return generator(z, training=training)

    def generator_output(self, z, labels=None, training=False, averaged=False):
        """Generated examples in data space for latent vectors ``z``.

        Args:
            z: float ``(N, generator_input_dim)``.
            labels: int32 ``(N,)`` for a conditional model.
            training: batch-norm mode of the generator.
            averaged: use the EMA generator (if the model has one).

        Returns:
            float32 tensor ``(N,) + data_shape``.
        """
        generator = self.ema_generator if (averaged and self.ema_generator is not None) else self.generator
        return self.to_data_space(self._generator_call(generator, tf.cast(z, tf.float32), labels, training))

    def discriminator_logits(self, x, labels=None, training=False):
        """Discriminator logits (critic values) of data-space ``x``, float32 ``(N,)``."""
        del labels
        return tf.reshape(to_float32(self.discriminator(self.to_network_space(x), training=training)), [-1])

    def call(self, x, labels=None, training=False):
        """The discriminator's logits (critic values) for a data-space batch."""
        return self.discriminator_logits(x, self.label_tensor(labels), training=training)

    # ---------------------------------------------------------- training
    def prior_sample(self, noise_fn, n):
        """Latent vectors from the prior.

        Args:
            noise_fn: ``noise_fn(shape, distribution, stream)`` returning
                float32 noise of shape ``(n,) + shape`` (``distribution``
                ``"normal"`` or ``"uniform"``; each ``stream`` index is an
                independent draw).
            n: batch size (tensor or int).

        Returns:
            float32 ``(n, generator_input_dim)``.
        """
        del n
        return noise_fn((self.latent_dim,), "normal", 0)

    def _step_latents(self, batch, salt):
        def noise(shape, distribution, stream):
            return self.step_noise(batch, shape, salt=salt + 1000 * stream, distribution=distribution)
        return self.prior_sample(noise, batch)

    def augmented(self, x, salt):
        """DiffAugment of a data-space image batch (identity when off)."""
        if self.augmenter is None:
            return x
        noise = self.step_noise(tf.shape(x)[0], (self.augmenter.noise_dims,), salt=salt, distribution="uniform")
        return self.augmenter(x, noise=noise, training=True)

    def fake_batch(self, batch, labels, salt, training=True):
        """Generated data-space examples for one update, with their latents."""
        z = self._step_latents(batch, salt)
        return self.generator_output(z, labels, training=training), z

    def d_loss_terms(self, real_logits, fake_logits):
        """The discriminator's loss -log D(x) - log(1 - D(G(z)))."""
        return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))

    def g_loss_terms(self, fake_logits):
        """The generator's loss for its ``loss`` choice."""
        if getattr(self, "adversarial_loss", "non_saturating") == "minimax":
            # log(1 - D(G(z))) = -softplus(logit): minimized, saturates.
            return -tf.reduce_mean(tf.nn.softplus(fake_logits))
        return tf.reduce_mean(tf.nn.softplus(-fake_logits))

    def score_summary(self, logits):
        """Mean of D's output reported as d_real / d_fake (a probability)."""
        return tf.reduce_mean(tf.sigmoid(logits))

    def discriminator_losses(self, x, y, step):
        labels = self.label_tensor(y)
        batch = tf.shape(x)[0]
        fake, _ = self.fake_batch(batch, labels, salt=_SALT_D_LATENT + step)
        fake = tf.stop_gradient(fake)
        real_logits = self.discriminator_logits(self.augmented(x, _SALT_AUG_REAL + step), labels, training=True)
        fake_logits = self.discriminator_logits(self.augmented(fake, _SALT_AUG_FAKE + step), labels, training=True)
        return {"d_loss": self.d_loss_terms(real_logits, fake_logits),
                "d_real": self.score_summary(real_logits), "d_fake": self.score_summary(fake_logits)}

    def generator_losses(self, x, y):
        labels = self.label_tensor(y)
        fake, _ = self.fake_batch(tf.shape(x)[0], labels, salt=_SALT_G_LATENT)
        fake_logits = self.discriminator_logits(self.augmented(fake, _SALT_AUG_G), labels, training=True)
        return {"g_loss": self.g_loss_terms(fake_logits)}

    # ---------------------------------------------------------- sampling
    def _prior_batch(self, n, seed):
        def noise(shape, distribution, stream):
            draw = tf.random.stateless_normal if distribution == "normal" else tf.random.stateless_uniform
            return draw((n,) + tuple(shape), tf.random.experimental.stateless_fold_in(seed, stream))
        return self.prior_sample(noise, n)

    def sample_batch(self, n, seed, labels=None):
        """Generator outputs (EMA generator if any) for prior draws, data space."""
        if labels is not None:
            labels = tf.constant(labels, tf.int32)
        return self.generator_output(self._prior_batch(n, seed), labels, averaged=True)

    def sample_latents(self, n, seed=None, batch_size=256):
        """Draws latent vectors from the prior.

        ``decode(sample_latents(n, seed))`` equals ``generate(n, seed)``
        (same ``batch_size``).

        Args:
            n: number of vectors.
            seed: None or an int.
            batch_size: as in :meth:`generate`.

        Returns:
            float32 numpy array ``(n, generator_input_dim)``.

        Raises:
            ValueError: bad ``n``, ``batch_size`` or seed.
        """
        n = check_positive_int(n, "n")
        batch_size = check_positive_int(batch_size, "batch_size")
        base = seed_pair(seed)
        chunks = []
        for index, start in enumerate(range(0, n, batch_size)):
            size = min(batch_size, n - start)
            chunks.append(np.asarray(self._prior_batch(size, tf.stack([base[0], base[1] + index]))))
        return np.concatenate(chunks, axis=0).astype(np.float32)

    def decode(self, z, labels=None, batch_size=256):
        """Maps given latent vectors to samples (for interpolation and arithmetic).

        Args:
            z: array ``(N, generator_input_dim)``.
            labels: class per vector for a conditional model (None cycles
                through the classes).
            batch_size: vectors per generator call.

        Returns:
            float32 numpy array ``(N,) + data_shape`` (images in [0, 1]).

        Raises:
            ValueError: ``z`` of the wrong shape or with NaN/Inf, or bad
                labels.
        """
        z = check_data_batch(z, (self.generator_input_dim,), what="z")
        batch_size = check_positive_int(batch_size, "batch_size")
        labels = self.check_labels(labels, len(z))
        out = []
        for start in range(0, len(z), batch_size):
            chunk_labels = None if labels is None else tf.constant(labels[start:start + batch_size])
            out.append(np.asarray(self.generator_output(tf.constant(z[start:start + batch_size]), chunk_labels,
                                                        averaged=True), dtype=np.float32))
        return np.concatenate(out, axis=0)

    generate_from_latents = decode

    def discriminate(self, x, labels=None, batch_size=256):
        """Discriminator logits (critic values) of data-space examples.

        Args:
            x: array ``(N,) + data_shape``.
            labels: class per example for a conditional model.
            batch_size: examples per call.

        Returns:
            float32 numpy array ``(N,)``.
        """
        x = check_data_batch(x, self.data_shape, what="x")
        labels = self.check_labels(labels, len(x), cycle_missing=False)
        out = []
        for start in range(0, len(x), batch_size):
            chunk_labels = None if labels is None else tf.constant(labels[start:start + batch_size])
            out.append(np.asarray(self.discriminator_logits(tf.constant(x[start:start + batch_size]), chunk_labels)))
        return np.concatenate(out).astype(np.float32)


@register("gan", family="gan")
class GAN(GANModel):
    """The original GAN with MLP generator and discriminator.

    G: z ~ N(0, I) -> Dense + LeakyReLU layers -> data (tanh to [0, 1] for
    images, linear for vectors). D: Dense + LeakyReLU layers -> one logit.
    D minimizes -log D(x) - log(1 - D(G(z))); G minimizes log(1 - D(G(z)))
    (``loss="minimax"``, Goodfellow et al.'s value function) or
    -log D(G(z)) (``loss="non_saturating"``, their suggested fix). With
    ``d_steps=k`` each generator update follows k discriminator updates
    (Algorithm 1).

    Args:
        data_shape: per-example shape: images ``(H, W, C)`` or vectors
            such as ``(2,)``.
        latent_dim: dimension of z.
        loss: ``"minimax"`` or ``"non_saturating"``.
        d_steps: discriminator updates per generator update.
        hidden_units: generator layer widths; the discriminator uses them in
            reverse order.
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies (images only).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``loss``, ``hidden_units``, ``latent_dim``,
            ``d_steps``, ``ema_decay`` or ``augment``.
    """

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, loss="non_saturating", d_steps=1,
                 hidden_units=(256, 512), ema_decay=None, augment=None, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=d_steps, ema_decay=ema_decay,
                         augment=augment, **kwargs)
        # Stored apart from keras.Model.loss, which compile() overwrites.
        self.adversarial_loss = check_choice(loss, "loss", LOSSES)
        self.hidden_units = check_units(hidden_units, "hidden_units")
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        config.update({"loss": self.adversarial_loss, "hidden_units": list(self.hidden_units)})
        return config

    def make_generator(self, name):
        return mlp_generator(self.data_shape, self.hidden_units, name=name)

    def make_discriminator(self, name):
        return mlp_discriminator(tuple(reversed(self.hidden_units)), name=name)
