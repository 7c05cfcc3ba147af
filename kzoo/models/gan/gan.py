"""The original GAN: MLP generator and discriminator.

:class:`GAN` is the model of Goodfellow et al. with a choice of generator
loss: ``"minimax"`` minimizes log(1 - D(G(z))) (the value function itself,
whose gradient vanishes when D confidently rejects the samples: it
saturates), ``"non_saturating"`` minimizes -log D(G(z)) (same fixed point,
strong gradients early in training).

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
"""

import numpy as np
import keras

from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_int_tuple
from kzoo.models.gan.base import LOSSES, GANModel

__all__ = ["GAN"]


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


@register("gan", family="gan")
class GAN(GANModel):
    """The original GAN with MLP generator and discriminator.

    G: z ~ N(0, I) -> Dense + LeakyReLU layers -> data (tanh to [0, 1] for
    images, linear for vectors). D: Dense + LeakyReLU layers -> one logit.
    D minimizes -log D(x) - log(1 - D(G(z))); G minimizes log(1 - D(G(z)))
    (``adversarial_loss="minimax"``, Goodfellow et al.'s value function) or
    -log D(G(z)) (``"non_saturating"``, their suggested fix). With
    ``d_steps=k`` each generator update follows k discriminator updates
    (Algorithm 1).

    Args:
        data_shape: per-example shape: images ``(H, W, C)`` or vectors
            such as ``(2,)``.
        latent_dim: dimension of z.
        adversarial_loss: ``"minimax"`` or ``"non_saturating"`` (generator
            losses with the logistic discriminator loss) or ``"hinge"``
            (both sides).
        d_steps: discriminator updates per generator update.
        hidden_units: generator layer widths; the discriminator uses them in
            reverse order.
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies (images only).
        **kwargs: ``r1_gamma`` (the R1 penalty, see :class:`GANModel`) and
            ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``adversarial_loss``, ``hidden_units``, ``latent_dim``,
            ``d_steps``, ``ema_decay`` or ``augment``.
    """

    renamed_arguments = {"loss": "adversarial_loss"}

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, adversarial_loss="non_saturating", d_steps=1,
                 hidden_units=(256, 512), ema_decay=None, augment=None, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=d_steps, ema_decay=ema_decay,
                         augment=augment, **kwargs)
        # Stored apart from keras.Model.loss, which compile() overwrites.
        self.adversarial_loss = check_choice(adversarial_loss, "adversarial_loss", LOSSES)
        self.hidden_units = check_int_tuple(hidden_units, "hidden_units")
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        config.update({"adversarial_loss": self.adversarial_loss, "hidden_units": list(self.hidden_units)})
        return config

    def make_generator(self, name):
        return mlp_generator(self.data_shape, self.hidden_units, name=name)

    def make_discriminator(self, name):
        return mlp_discriminator(tuple(reversed(self.hidden_units)), name=name)
