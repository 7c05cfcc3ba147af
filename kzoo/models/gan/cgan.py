"""Class-conditional GAN: G(z, y) and a projection discriminator D(x, y).

The generator sees its class as a one-hot vector concatenated to z (Mirza &
Osindero). The discriminator is a projection discriminator (Miyato &
Koyama): with features h = phi(x) of an MLP body, its logit is
``psi(h) + <embed(y), h>``, which corresponds to modelling the log density
ratio log q(y|x)/p(y|x) with a log-linear conditional, and trains more
stably than concatenating y to D's input.

Labels follow the kzoo convention: they are the ``y`` of ``fit(x, y)``;
``generate(n, labels=...)`` takes one class per sample and cycles through
the classes when ``labels`` is None, so ``generate(n)`` is class-balanced
when ``n`` is a multiple of ``num_classes``; training without labels raises.

References:
    Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014.
    Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018.
"""

import tensorflow as tf
import keras

from kzoo.core.base import to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_int_tuple, check_positive_int
from kzoo.models.gan.base import LOSSES, GANModel
from kzoo.models.gan.gan import mlp_body, mlp_generator

__all__ = ["ConditionalGAN"]


class ProjectionDiscriminator(keras.layers.Layer):
    """``logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>`` with an MLP ``phi``.

    Args:
        hidden_units: widths of the MLP body ``phi``.
        num_classes: number of classes of ``y``.
        **kwargs: layer arguments.
    """

    def __init__(self, hidden_units, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.body = mlp_body(hidden_units)
        self.head = keras.layers.Dense(1, name="logit")
        self.embedding = keras.layers.Embedding(num_classes, hidden_units[-1], name="class_embedding")

    def call(self, x, labels, training=False):
        features = self.body(x, training=training)
        unconditional = to_float32(self.head(features))[:, 0]
        projection = tf.reduce_sum(to_float32(self.embedding(labels)) * to_float32(features), axis=-1)
        return unconditional + projection


@register("cgan", family="gan")
class ConditionalGAN(GANModel):
    """Class-conditional MLP GAN with a projection discriminator.

    Args:
        data_shape: per-example shape (images ``(H, W, C)`` or vectors).
        num_classes: number of classes (labels in ``[0, num_classes)``).
        latent_dim: dimension of z.
        adversarial_loss: ``"minimax"`` or ``"non_saturating"`` (generator
            losses with the logistic discriminator loss) or ``"hinge"``
            (both sides).
        d_steps: discriminator updates per generator update.
        hidden_units: generator layer widths; the discriminator body uses
            them in reverse order.
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies (images only).
        **kwargs: ``r1_gamma`` (the R1 penalty, see :class:`GANModel`) and
            ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: ``num_classes`` is not a positive int (a conditional GAN
            needs classes), or another argument is bad.
    """

    renamed_arguments = {"loss": "adversarial_loss"}

    def __init__(self, data_shape=(28, 28, 1), num_classes=10, latent_dim=64, adversarial_loss="non_saturating",
                 d_steps=1, hidden_units=(256, 512), ema_decay=None, augment=None, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=d_steps, ema_decay=ema_decay,
                         augment=augment, **kwargs)
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.adversarial_loss = check_choice(adversarial_loss, "adversarial_loss", LOSSES)
        self.hidden_units = check_int_tuple(hidden_units, "hidden_units")
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "adversarial_loss": self.adversarial_loss,
                       "hidden_units": list(self.hidden_units)})
        return config

    def make_generator(self, name):
        return mlp_generator(self.data_shape, self.hidden_units, name=name)

    def make_discriminator(self, name):
        return ProjectionDiscriminator(tuple(reversed(self.hidden_units)), self.num_classes, name=name)

    def _generator_call(self, generator, z, labels, training):
        condition = tf.one_hot(labels, self.num_classes, dtype=z.dtype)
        return generator(tf.concat([z, condition], axis=-1), training=training)

    def discriminator_logits(self, x, labels=None, training=False):
        return tf.reshape(to_float32(self.discriminator(self.to_network_space(x), labels, training=training)), [-1])
