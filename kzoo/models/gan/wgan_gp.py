"""WGAN-GP: a Wasserstein critic with a gradient penalty.

The critic f estimates the Wasserstein-1 distance
``E[f(x)] - E[f(G(z))]`` over 1-Lipschitz functions; instead of clipping
weights, the Lipschitz constraint is enforced softly by penalizing
``lambda * (||grad f(x_hat)||_2 - 1)^2`` at points ``x_hat`` uniformly on
lines between real and generated examples. The critic takes ``d_steps``
(the paper's ``n_critic``) updates per generator update and has no batch
normalization (the penalty is per example).

The penalty is a gradient of a gradient ("double backprop"), loss-scaled
under ``mixed_float16`` (:func:`kzoo.models.gan.base.interpolation_gradient_penalty`,
shared with StarGAN); the outer gradient is scaled by the optimizer as usual. Under
``MirroredStrategy`` each replica penalizes its own examples, and the
interpolation weights come from :meth:`~kzoo.core.GenerativeModel.step_noise`,
so a 2-replica step equals the single-device step.

References:
    Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017.
    Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, "Improved Training of
    Wasserstein GANs", NeurIPS 2017.
"""

import tensorflow as tf

from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_int_tuple, check_number
from kzoo.models.gan.dcgan import check_image_filters, conv_discriminator, conv_generator
from kzoo.models.gan.base import (SALT_AUG_FAKE, SALT_AUG_REAL, SALT_D_LATENT, SALT_EXTRA, GANModel,
                                  interpolation_gradient_penalty)
from kzoo.models.gan.gan import mlp_discriminator, mlp_generator

__all__ = ["WGANGP"]

ARCHITECTURES = ("conv", "mlp")
CRITIC_NORMS = ("none", "layer")


@register("wgan_gp", family="gan")
class WGANGP(GANModel):
    """Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

    Tracks ``d_loss`` (critic loss, penalty included), ``g_loss``,
    ``d_real`` / ``d_fake`` (mean critic values), ``wasserstein`` (their
    difference, the critic's distance estimate), ``gradient_penalty``
    (unweighted) and the gradient norms.

    Args:
        data_shape: images ``(H, W, C)`` or vectors such as ``(2,)``.
        latent_dim: dimension of z.
        d_steps: critic updates per generator update (the paper's
            ``n_critic``).
        gp_weight: lambda of the penalty.
        architecture: ``"conv"`` (DCGAN-style, images only), ``"mlp"`` or
            None (conv for images, MLP for vectors).
        filters: conv generator channels (the critic uses them reversed).
        hidden_units: MLP generator widths (the critic uses them reversed).
        critic_norm: ``"none"`` or ``"layer"`` normalization in the conv
            critic (never batch norm: it breaks the per-example penalty).
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies (images only).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``d_steps``, ``gp_weight``, ``architecture`` or
            any other argument.
    """

    loss_names = GANModel.loss_names + ("wasserstein", "gradient_penalty")
    renamed_arguments = {"n_critic": "d_steps"}

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, d_steps=5, gp_weight=10.0, architecture=None,
                 filters=(64, 32), hidden_units=(256, 256), critic_norm="none", ema_decay=None, augment=None,
                 **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=d_steps, ema_decay=ema_decay,
                         augment=augment, **kwargs)
        self.gp_weight = check_number(gp_weight, "gp_weight", minimum=0)
        if self.r1_gamma:
            raise ValueError(f"WGAN-GP's critic is penalized by gp_weight; r1_gamma must be 0, got {self.r1_gamma}.")
        if architecture is None:
            architecture = "conv" if self.is_image else "mlp"
        self.architecture = check_choice(architecture, "architecture", ARCHITECTURES)
        self.filters = check_int_tuple(filters, "filters")
        self.hidden_units = check_int_tuple(hidden_units, "hidden_units")
        self.critic_norm = check_choice(critic_norm, "critic_norm", CRITIC_NORMS)
        if self.architecture == "conv":
            check_image_filters(self.data_shape, self.filters, type(self).__name__)
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        config.update({"gp_weight": self.gp_weight, "architecture": self.architecture,
                       "filters": list(self.filters), "hidden_units": list(self.hidden_units),
                       "critic_norm": self.critic_norm})
        return config

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Two optimizers; default Adam(1e-4, beta_1=0.5, beta_2=0.9) as in the paper."""
        default = {"class_name": "Adam", "config": {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9}}
        super().compile(d_optimizer=d_optimizer or default, g_optimizer=g_optimizer or dict(default), **kwargs)

    def make_generator(self, name):
        if self.architecture == "conv":
            return conv_generator(self.data_shape, self.filters, name=name)
        return mlp_generator(self.data_shape, self.hidden_units, name=name)

    def make_discriminator(self, name):
        if self.architecture == "conv":
            return conv_discriminator(tuple(reversed(self.filters)), norm=self.critic_norm, name=name)
        return mlp_discriminator(tuple(reversed(self.hidden_units)), name=name)

    # ------------------------------------------------------------ losses
    def score_summary(self, logits):
        return tf.reduce_mean(logits)

    def gradient_penalty(self, real, fake, epsilon, training=True):
        """The unweighted penalty at ``real + epsilon * (fake - real)`` in the critic's input space, float32.

        Images are mapped to [-1, 1] first; see
        :func:`kzoo.models.gan.base.interpolation_gradient_penalty`.

        Args:
            real: data-space batch.
            fake: data-space batch of the same shape.
            epsilon: ``(N,)`` interpolation weights in [0, 1].
            training: mode of the critic's layers.

        Returns:
            float32 scalar tensor.
        """
        return interpolation_gradient_penalty(lambda z: self.discriminator(z, training=training),
                                              self.to_network_space(real), self.to_network_space(fake), epsilon,
                                              getattr(self, "d_optimizer", None))

    def discriminator_losses(self, x, y, step):
        batch = tf.shape(x)[0]
        fake, _ = self.fake_batch(batch, None, salt=SALT_D_LATENT + step)
        fake = tf.stop_gradient(fake)
        real = self.augmented(x, SALT_AUG_REAL + step)
        fake = self.augmented(fake, SALT_AUG_FAKE + step)
        real_values = self.discriminator_logits(real, training=True)
        fake_values = self.discriminator_logits(fake, training=True)
        epsilon = self.step_noise(batch, (), salt=SALT_EXTRA + step, distribution="uniform")
        penalty = self.gradient_penalty(real, fake, epsilon)
        distance = tf.reduce_mean(real_values) - tf.reduce_mean(fake_values)
        return {"d_loss": -distance + self.gp_weight * penalty, "d_real": tf.reduce_mean(real_values),
                "d_fake": tf.reduce_mean(fake_values), "wasserstein": distance, "gradient_penalty": penalty}

    def g_loss_terms(self, fake_logits):
        return -tf.reduce_mean(fake_logits)

