"""Base of adversarial models: two optimizers that survive save and load.

``compile(d_optimizer=..., g_optimizer=...)`` sets one optimizer for the
discriminator (or critic) and one for the generator. Under a
``mixed_float16`` policy both are wrapped in ``LossScaleOptimizer``. Both are
serialized by :meth:`AdversarialModel.get_compile_config` and rebuilt on the
right variables by :meth:`AdversarialModel.compile_from_config`, so a
``.keras`` file restores both optimizers' state and training resumes where
it stopped.

The shared ``train_step`` alternates ``d_steps`` discriminator updates with
one generator update (Goodfellow et al., "Generative Adversarial Nets",
NeurIPS 2014, Algorithm 1); models supply :meth:`discriminator_losses` and
:meth:`generator_losses`. Each update goes through
:func:`kzoo.core.base.apply_scaled_gradients`, so loss scaling and replica
scaling are handled in one place. A model whose ``loss_names`` include
``"d_grad_norm"`` / ``"g_grad_norm"`` gets the global gradient norm of each
update tracked under that name (the mean over the ``d_steps`` updates for
the discriminator), and :meth:`AdversarialModel.after_generator_update` runs
after each generator update (for a moving average of its weights).
"""

import tensorflow as tf
import keras

from kzoo.core.base import GenerativeModel, apply_scaled_gradients, replica_count, to_float32
from kzoo.core.validation import check_positive_int


def _with_loss_scale(optimizer, policy_name):
    optimizer = keras.optimizers.get(optimizer)
    if policy_name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


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
        return {name: tracker.result() for name, tracker in self.trackers.items() if name in losses}

    def test_step(self, data):
        x, y = self._checked_inputs(data)
        logs = dict(to_float32(self.discriminator_losses(x, y, 0)))
        logs.update(to_float32(self.generator_losses(x, y)))
        return self._update_trackers(logs)
