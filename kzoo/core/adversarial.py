"""Base of adversarial models: two optimizers that survive save and load.

``compile(d_optimizer=..., g_optimizer=...)`` sets one optimizer for the
discriminator (or critic) and one for the generator. Under a
``mixed_float16`` policy both are wrapped in ``LossScaleOptimizer``. Both are
serialized by :meth:`AdversarialModel.get_compile_config` and rebuilt on the
right variables by :meth:`AdversarialModel.compile_from_config`, so a
``.keras`` file restores both optimizers' state and training resumes where
it stopped.

Subclasses own ``train_step`` and use :func:`kzoo.core.base.apply_scaled_gradients`
for each of their updates.
"""

import keras

from kzoo.core.base import GenerativeModel


def _with_loss_scale(optimizer, policy_name):
    optimizer = keras.optimizers.get(optimizer)
    if policy_name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class AdversarialModel(GenerativeModel):
    """A generator and a discriminator trained with two optimizers.

    Subclasses set ``self.generator`` and ``self.discriminator`` (Keras
    layers/models) and implement ``train_step``.
    """

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
        if "optimizer" in kwargs:
            raise ValueError(
                f"{type(self).__name__} trains with two optimizers: pass d_optimizer= and g_optimizer=, "
                f"not optimizer={kwargs['optimizer']!r}."
            )
        super().compile(**kwargs)
        policy = self.dtype_policy.name
        default = {"class_name": "Adam", "config": {"learning_rate": 2e-4, "beta_1": 0.5}}
        self.d_optimizer = _with_loss_scale(d_optimizer or default, policy)
        self.g_optimizer = _with_loss_scale(g_optimizer or dict(default), policy)

    def get_compile_config(self):
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
            self.build_optimizers()

    def build_optimizers(self):
        """Creates both optimizers' slot variables on their own variables."""
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
