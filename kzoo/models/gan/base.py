"""Base of the adversarial family: two optimizers, the alternating step, and the GAN machinery.

:class:`AdversarialModel` is what every model trained against a
discriminator (or critic) shares. ``compile(d_optimizer=..., g_optimizer=...)``
sets one optimizer for each side; under a ``mixed_float16`` policy both are
wrapped in ``LossScaleOptimizer``. Both are serialized by
:meth:`AdversarialModel.get_compile_config` and rebuilt on the right
variables by :meth:`AdversarialModel.compile_from_config`, so a ``.keras``
file restores both optimizers' state and training resumes where it stopped.
Its ``train_step`` alternates ``d_steps`` discriminator updates with one
generator update (Goodfellow et al. 2014, Algorithm 1); models supply
:meth:`AdversarialModel.discriminator_losses` and
:meth:`AdversarialModel.generator_losses`. Each update goes through
:func:`kzoo.core.base.apply_scaled_gradients`, so loss scaling and replica
scaling are handled in one place. A model whose ``loss_names`` include
``"d_grad_norm"`` / ``"g_grad_norm"`` gets the global gradient norm of each
update tracked under that name (the mean over the ``d_steps`` updates for
the discriminator), and :meth:`AdversarialModel.after_generator_update` runs
after each generator update.

:class:`GANModel` adds what every noise-to-data GAN shares: data mapping
(images in [0, 1] outside, [-1, 1] inside the networks; vectors untouched),
a latent prior and the public latent API (``latent_dim``,
``sample_latents``, ``decode``/``generate_from_latents``, ``generate``), the
tracked diagnostics (``d_real``, ``d_fake``, ``d_grad_norm``,
``g_grad_norm``), an optional exponential moving average (EMA) of the
generator's weights and optional differentiable augmentation
(:class:`kzoo.layers.DiffAugment`).

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    Yazici et al., "The Unusual Effectiveness of Averaging in GAN
    Training", ICLR 2019 (generator EMA).
    Zhao et al., "Differentiable Augmentation for Data-Efficient GAN
    Training", NeurIPS 2020.
    Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do
    actually Converge?", ICML 2018 (the R1 penalty).
    Lim & Ye, "Geometric GAN", 2017 (the hinge loss).
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.base import (GenerativeModel, apply_scaled_gradients, replica_count, seed_pair, step_logs,
                            to_float32)
from kzoo.core.ema import check_ema_decay, copy_variables, freeze, update_moving_average, warmed_up_decay
from kzoo.core.validation import check_data_batch, check_number, check_positive_int
from kzoo.layers.diff_augment import DiffAugment

__all__ = ["AdversarialModel", "GANModel", "input_gradient_squared_norms", "interpolation_gradient_penalty",
           "zero_centred_gradient_penalty"]

#: Adversarial losses of :meth:`GANModel.d_loss_terms` / :meth:`GANModel.g_loss_terms`: ``"minimax"`` minimizes
#: log(1 - D(G(z))) (saturates), ``"non_saturating"`` minimizes -log D(G(z)) (both with the logistic D loss);
#: ``"hinge"``: D minimizes relu(1 - D(x)) + relu(1 + D(G(z))), G minimizes -D(G(z)) (Lim & Ye 2017).
LOSSES = ("minimax", "non_saturating", "hinge")

# Salts of ``step_noise``: each random draw of a train step gets its own stream.
SALT_G_LATENT = 0
SALT_D_LATENT = 1  # + discriminator step
SALT_AUG_G = 50
SALT_AUG_REAL = 60  # + discriminator step
SALT_AUG_FAKE = 80  # + discriminator step
SALT_EXTRA = 100  # models' own draws (gradient penalty ...), + d step


def _with_loss_scale(optimizer, policy_name):
    optimizer = keras.optimizers.get(optimizer)
    if policy_name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def input_gradient_squared_norms(critic, x, optimizer=None):
    """``||d sum critic(x) / d x_i||^2`` per example, float32 ``(N,)``: what gradient penalties are made of.

    The critic's output (a scalar per example, or a map of patch scores) is
    summed before the gradient. The result is differentiable (a penalty on
    it is a gradient of a gradient). Under a loss-scaled critic optimizer
    (``mixed_float16``) the inner gradient is taken of the scaled sum and
    unscaled in float32, so a float16 critic's input gradient does not
    underflow (an overflow gives a non-finite loss, and the
    ``LossScaleOptimizer`` skips the step and lowers its scale).

    Args:
        critic: callable from a batch to the critic's output.
        x: the batch ``(N, ...)`` the gradient is taken at.
        optimizer: the critic's optimizer (its loss scale is used), or None.

    Returns:
        float32 tensor ``(N,)``.
    """
    x = tf.cast(x, tf.float32)
    with tf.GradientTape() as inner:
        inner.watch(x)
        total = tf.reduce_sum(to_float32(critic(x)))
        scaled = optimizer.scale_loss(total) if optimizer is not None else total
    grads = tf.cast(inner.gradient(scaled, x), tf.float32)
    if optimizer is not None:
        grads = grads / tf.cast(optimizer.scale_loss(tf.constant(1.0)), tf.float32)
    return tf.reduce_sum(tf.square(grads), axis=list(range(1, len(x.shape))))


def interpolation_gradient_penalty(critic, real, fake, epsilon, optimizer=None):
    """The unweighted WGAN-GP penalty ``mean((||grad critic(x_hat)|| - 1)^2)``, float32.

    ``x_hat = real + epsilon * (fake - real)`` per example (Gulrajani et al.
    2017); gradients as in :func:`input_gradient_squared_norms`.

    Args:
        critic: callable from a network-space batch to the critic's output.
        real: network-space real batch ``(N, ...)``.
        fake: network-space generated batch of the same shape.
        epsilon: ``(N,)`` interpolation weights in ``[0, 1]``.
        optimizer: the critic's optimizer (its loss scale is used), or None.

    Returns:
        float32 scalar tensor.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    epsilon = tf.reshape(tf.cast(epsilon, tf.float32), [-1] + [1] * (len(real.shape) - 1))
    norms = tf.sqrt(input_gradient_squared_norms(critic, real + epsilon * (fake - real), optimizer) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def zero_centred_gradient_penalty(critic, real, optimizer=None):
    """The unweighted R1 penalty ``mean(||grad critic(x)||^2)`` at real examples, float32 (Mescheder et al. 2018).

    Penalizing the discriminator's gradient on the data (weight
    ``gamma / 2``) keeps it from pushing the generator past the data
    distribution; gradients as in :func:`input_gradient_squared_norms`.

    Args:
        critic: callable from a batch to the discriminator's logits.
        real: real batch ``(N, ...)``.
        optimizer: the discriminator's optimizer (its loss scale is used), or None.

    Returns:
        float32 scalar tensor.
    """
    return tf.reduce_mean(input_gradient_squared_norms(critic, real, optimizer))


class AdversarialModel(GenerativeModel):
    """A generator and a discriminator trained with two optimizers.

    Subclasses create ``self.generator`` and ``self.discriminator`` (Keras
    layers or models), list their tracked scalars in ``loss_names`` (which
    must include ``"d_loss"`` and ``"g_loss"``) and implement
    :meth:`discriminator_losses`, :meth:`generator_losses` and
    :meth:`build_for_data`.

    Args:
        data_shape: per-example shape.
        d_steps: discriminator updates per generator update (``k`` in
            Algorithm 1 of the GAN paper). All ``d_steps`` updates see the
            same real batch with fresh generator noise.
        **kwargs: passed to :class:`GenerativeModel`.

    Raises:
        ValueError: ``d_steps`` is not a positive int.
    """

    loss_names = ("d_loss", "g_loss")

    def __init__(self, data_shape=(28, 28, 1), d_steps=1, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.d_steps = check_positive_int(d_steps, "d_steps")

    def get_config(self):
        config = super().get_config()
        config["d_steps"] = self.d_steps
        return config

    # -------------------------------------------------------- optimizers
    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Configures the two optimizers.

        Args:
            d_optimizer: discriminator optimizer (instance, name or config);
                default Adam(2e-4, beta_1=0.5).
            g_optimizer: generator optimizer; same default.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``).

        Raises:
            ValueError: ``optimizer=`` is passed (use the two named ones).
        """
        if kwargs.get("optimizer") is not None:
            raise ValueError(
                f"{type(self).__name__} trains with two optimizers: pass d_optimizer= and g_optimizer=, "
                f"not optimizer={kwargs['optimizer']!r}."
            )
        kwargs.pop("optimizer", None)
        keras.Model.compile(self, optimizer=None, **kwargs)
        policy = self.dtype_policy.name
        default = {"class_name": "Adam", "config": {"learning_rate": 2e-4, "beta_1": 0.5}}
        self.d_optimizer = _with_loss_scale(d_optimizer or default, policy)
        self.g_optimizer = _with_loss_scale(g_optimizer or dict(default), policy)

    def get_compile_config(self):
        if getattr(self, "d_optimizer", None) is None:
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
        )
        if self.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.g_optimizer.build(self.generator.trainable_variables)

    # ---------------------------------------------------------- training
    def step_counter(self):
        """Training steps taken so far: the generator optimizer's iterations."""
        optimizer = getattr(self, "g_optimizer", None)
        return optimizer.iterations if optimizer is not None else 0

    def discriminator_losses(self, x, y, step):
        """Returns a dict with ``"d_loss"`` (and any other tracked scalars).

        Args:
            x: real batch.
            y: labels or None.
            step: index of this discriminator update within the train step
                (use it as the ``salt`` of :meth:`step_noise`).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement discriminator_losses().")

    def generator_losses(self, x, y):
        """Returns a dict with ``"g_loss"`` (and any other tracked scalars)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generator_losses().")

    def gradient_norm(self, gradients):
        """Global L2 norm of a step's gradients, as a float32 scalar.

        Under ``tf.distribute`` each replica holds the gradient of its share
        of the loss; they are summed over replicas first, so the norm equals
        the single-device one. Non-finite gradients (a step skipped by
        dynamic loss scaling under ``mixed_float16``) report 0: no update was
        applied.

        Args:
            gradients: list of float32 gradients (``None`` entries ignored),
                as returned by :func:`kzoo.core.base.apply_scaled_gradients`.

        Returns:
            float32 scalar tensor.
        """
        gradients = [g for g in gradients if g is not None]
        if not gradients:
            return tf.constant(0.0)
        context = tf.distribute.get_replica_context()
        if replica_count() > 1 and context is not None:
            gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        norm = tf.linalg.global_norm(gradients)
        return tf.where(tf.math.is_finite(norm), norm, tf.zeros_like(norm))

    def after_generator_update(self):
        """Hook run after every generator update inside the train step.

        The default does nothing; models that keep an exponential moving
        average of the generator's weights update it here.
        """

    def train_step(self, data):
        x, y = self._checked_inputs(data)
        logs = {}
        d_norms = []
        for step in range(self.d_steps):
            with tf.GradientTape() as tape:
                d_logs = to_float32(self.discriminator_losses(x, y, step))
            grads = apply_scaled_gradients(self.d_optimizer, d_logs["d_loss"], tape,
                                           self.discriminator.trainable_variables)
            if "d_grad_norm" in self.trackers:
                d_norms.append(self.gradient_norm(grads))
            logs.update(d_logs)
        if d_norms:
            logs["d_grad_norm"] = tf.add_n(d_norms) / float(len(d_norms))
        with tf.GradientTape() as tape:
            g_logs = to_float32(self.generator_losses(x, y))
        grads = apply_scaled_gradients(self.g_optimizer, g_logs["g_loss"], tape,
                                       self.generator.trainable_variables)
        if "g_grad_norm" in self.trackers:
            g_logs["g_grad_norm"] = self.gradient_norm(grads)
        logs.update(g_logs)
        self.after_generator_update()
        return self._update_trackers(logs)

    def _update_trackers(self, losses):
        # Gradient norms exist only in train steps: a test step updates and
        # reports the trackers it has values for.
        for name, tracker in self.trackers.items():
            if name in losses:
                tracker.update_state(losses[name])
        return step_logs({name: tracker.result() for name, tracker in self.trackers.items() if name in losses})

    def test_step(self, data):
        x, y = self._checked_inputs(data)
        logs = dict(to_float32(self.discriminator_losses(x, y, 0)))
        logs.update(to_float32(self.generator_losses(x, y)))
        return self._update_trackers(logs)


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
            up, see :func:`kzoo.core.ema.warmed_up_decay`).
        augment: None, or DiffAugment policies applied to real and fake
            images before the discriminator in both updates (images only).
        r1_gamma: weight ``gamma`` of the R1 penalty ``gamma / 2 *
            E ||grad D(x)||^2`` on the (augmented) real examples in every
            discriminator update, the gradient taken in network space
            (images in [-1, 1]); 0 turns it off.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``latent_dim``, ``ema_decay``, ``augment`` or
            ``r1_gamma``, or ``augment`` on non-image data.
    """

    loss_names = ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm")

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, d_steps=1, ema_decay=None, augment=None, r1_gamma=0.0,
                 **kwargs):
        super().__init__(data_shape=data_shape, d_steps=d_steps, **kwargs)
        self.r1_gamma = float(check_number(r1_gamma, "r1_gamma", minimum=0, description="a non-negative number"))
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.ema_decay = check_ema_decay(ema_decay)
        self.augment = None if augment in (None, "", ()) else DiffAugment.check_policy(augment, "augment")
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
                       "augment": list(self.augment) if self.augment else None, "r1_gamma": self.r1_gamma})
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

    def after_generator_update(self):
        """Updates the EMA generator with the warmed-up decay (see :func:`kzoo.core.ema.warmed_up_decay`)."""
        if self.ema_generator is not None:
            update_moving_average(self.ema_generator.weights, self.generator.weights,
                                  warmed_up_decay(self.ema_decay, self.step_counter()))

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
        """The discriminator's loss: -log D(x) - log(1 - D(G(z))), or the hinge loss for ``"hinge"``."""
        if self.adversarial_loss == "hinge":
            return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
        return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))

    def g_loss_terms(self, fake_logits):
        """The generator's loss for its ``adversarial_loss`` choice."""
        if self.adversarial_loss == "hinge":
            return -tf.reduce_mean(fake_logits)
        if self.adversarial_loss == "minimax":
            # log(1 - D(G(z))) = -softplus(logit): minimized, saturates.
            return -tf.reduce_mean(tf.nn.softplus(fake_logits))
        return tf.reduce_mean(tf.nn.softplus(-fake_logits))

    def score_summary(self, logits):
        """Mean of D's output reported as d_real / d_fake (a probability)."""
        return tf.reduce_mean(tf.sigmoid(logits))

    def r1_penalty(self, real, logits_fn):
        """``r1_gamma / 2 * mean ||grad D||^2`` at the real batch, in network space (0 when ``r1_gamma`` is 0).

        Args:
            real: data-space real batch, augmented as the discriminator saw it.
            logits_fn: data-space batch -> the discriminator's logits.

        Returns:
            float32 scalar tensor.
        """
        if not self.r1_gamma:
            return tf.constant(0.0)
        penalty = zero_centred_gradient_penalty(logits_fn, real, getattr(self, "d_optimizer", None))
        # Images enter D as 2x - 1: the gradient in network space is half the data-space one.
        return 0.5 * self.r1_gamma * (0.25 if self.is_image else 1.0) * penalty

    def discriminator_losses(self, x, y, step):
        labels = self.label_tensor(y)
        batch = tf.shape(x)[0]
        fake, _ = self.fake_batch(batch, labels, salt=SALT_D_LATENT + step)
        fake = tf.stop_gradient(fake)
        real = self.augmented(x, SALT_AUG_REAL + step)
        real_logits = self.discriminator_logits(real, labels, training=True)
        fake_logits = self.discriminator_logits(self.augmented(fake, SALT_AUG_FAKE + step), labels, training=True)
        penalty = self.r1_penalty(real, lambda v: self.discriminator_logits(v, labels, training=True))
        return {"d_loss": self.d_loss_terms(real_logits, fake_logits) + penalty,
                "d_real": self.score_summary(real_logits), "d_fake": self.score_summary(fake_logits)}

    def generator_losses(self, x, y):
        labels = self.label_tensor(y)
        fake, _ = self.fake_batch(tf.shape(x)[0], labels, salt=SALT_G_LATENT)
        fake_logits = self.discriminator_logits(self.augmented(fake, SALT_AUG_G), labels, training=True)
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
        return self.map_batches(lambda batch, chunk, _: self.generator_output(batch, chunk, averaged=True), z, labels,
                                batch_size)

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
        x = check_data_batch(x, self.data_shape, what="x", value_range=self.data_range)
        labels = self.check_labels(labels, len(x), cycle_missing=False)
        return self.map_batches(lambda batch, chunk, _: self.discriminator_logits(batch, chunk), x, labels,
                                check_positive_int(batch_size, "batch_size"))
