"""Denoising diffusion probabilistic model with a U-Net denoiser.

:class:`DDPM` joins the diffusion base (:class:`~kzoo.models.diffusion.base.DiffusionModel`:
noise schedule, simple loss, DDPM/DDIM samplers, classifier-free guidance,
variational bound) with the :class:`~kzoo.models.diffusion.unet.UNet`
denoiser and an exponential moving average of its weights for sampling.

References:
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021.
    Ho & Salimans, "Classifier-Free Diffusion Guidance", NeurIPS 2021
    Workshop on Deep Generative Models.
"""

import tensorflow as tf

from kzoo.core.base import GenerativeModel
from kzoo.models.diffusion.base import DiffusionModel
from kzoo.core.ema import check_ema_decay, copy_variables, freeze, update_moving_average, warmed_up_decay
from kzoo.core.registry import register
from kzoo.models.diffusion.unet import UNet

__all__ = ["DDPM"]


@register("ddpm", family="diffusion")
class DDPM(DiffusionModel):
    """DDPM with a U-Net, swappable samplers, guidance and an EMA denoiser.

    Training minimizes the simple noise-prediction loss (``fit(x)`` or, with
    ``num_classes``, ``fit(x, y)``); sampling picks its scheduler at call
    time: ``generate(n, sampler="ddim", steps=50)`` or
    ``generate(n, sampler="ddpm")`` (all ``T`` ancestral steps). With
    ``ema_decay`` set, a second U-Net holds the moving average of the weights
    (with the warm-up ``min(decay, (1 + step) / (10 + step))``) and is the one
    used by ``generate`` and ``log_prob``.

    Args:
        data_shape: image shape ``(H, W, C)``; H and W divisible by
            ``patch_size * 2**(len(channel_multipliers) - 1)``.
        base_filters: U-Net channels of the first level.
        channel_multipliers: channels per level as multiples of
            ``base_filters``.
        num_res_blocks: residual blocks per level.
        attention_levels: levels with self-attention.
        middle_attention: self-attention in the middle block.
        dropout: dropout in the residual blocks.
        patch_size: pixel patches folded into channels before the U-Net.
        ema_decay: ``None`` (no averaging) or a decay in [0, 1).
        **kwargs: the diffusion arguments of
            :class:`~kzoo.models.diffusion.base.DiffusionModel` (``num_train_timesteps``,
            ``beta_schedule``, ``prediction_type``, ``num_classes``,
            ``label_dropout``, default ``sampler`` / ``sampling_steps`` /
            ``eta`` / ``spacing`` / ``guidance_scale``, ``clip_sample``)
            and ``name`` / ``dtype``.

    Raises:
        ValueError: bad network, schedule, sampling or EMA arguments.
    """

    def __init__(self, data_shape=(28, 28, 1), base_filters=48, channel_multipliers=(1, 2), num_res_blocks=1,
                 attention_levels=(1,), middle_attention=True, dropout=0.0, patch_size=2, ema_decay=None,
                 **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        if len(self.data_shape) != 3:
            raise ValueError(f"DDPM needs image data_shape (H, W, C), got {tuple(data_shape)}.")
        self.ema_decay = check_ema_decay(ema_decay)
        network = dict(image_shape=self.data_shape, base_filters=base_filters,
                       channel_multipliers=tuple(channel_multipliers), num_res_blocks=num_res_blocks,
                       attention_levels=tuple(attention_levels), middle_attention=middle_attention,
                       dropout=dropout, num_classes=self.num_classes, patch_size=patch_size)
        self.unet = UNet(name="unet", **network)
        self.ema_unet = None
        if self.ema_decay is not None:
            self.ema_unet = UNet(name="ema_unet", **network)
            self.ema_unet.trainable = False

    def get_config(self):
        config = super().get_config()
        net = self.unet
        config.update({
            "base_filters": net.base_filters,
            "channel_multipliers": list(net.channel_multipliers),
            "num_res_blocks": net.num_res_blocks,
            "attention_levels": list(net.attention_levels),
            "middle_attention": net.middle_attention,
            "dropout": net.dropout,
            "patch_size": net.patch_size,
            "ema_decay": self.ema_decay,
        })
        return config

    def build_for_data(self):
        """Builds the U-Net (and its averaged copy, initialised to the same weights)."""
        if self.built:
            return
        self.unet.build()  # both before the model's own call, which would otherwise find unbuilt sublayers
        if self.ema_unet is not None:
            self.ema_unet.build()
            freeze(self.ema_unet)
            copy_variables(self.ema_unet.weights, self.unet.weights)
        GenerativeModel.build_for_data(self)

    # --------------------------------------------------------------- network
    def denoise(self, x_t, t, y=None, training=False):
        if y is None:
            return self.unet((x_t, t), training=training)
        return self.unet((x_t, t, y), training=training)

    def sampling_denoise(self, x_t, t, y=None):
        net = self.ema_unet if self.ema_unet is not None else self.unet
        if y is None:
            return net((x_t, t), training=False)
        return net((x_t, t, y), training=False)

    def call(self, inputs, labels=None, timestep=None, training=False):
        """The network's prediction for images treated as ``x_t``.

        Args:
            inputs: images in [0, 1] (mapped to [-1, 1]), or a tuple
                ``(images, labels)``.
            labels: int labels of a conditional model (None: the "no label"
                class).
            timestep: int timestep (default ``T // 2``).
            training: training mode.

        Returns:
            The predicted noise (or velocity), shaped like the images.
        """
        if isinstance(inputs, (tuple, list)):
            inputs, labels = inputs
        x = 2.0 * tf.cast(inputs, tf.float32) - 1.0
        n = tf.shape(x)[:1]
        t = tf.fill(n, self.num_train_timesteps // 2 if timestep is None else int(timestep))
        if self.num_classes is not None:
            labels = tf.fill(n, self.num_classes) if labels is None else self._label_tensor(labels)
        else:
            labels = self._label_tensor(labels)
        return self.denoise(x, t, labels, training=training)

    # -------------------------------------------------------------- training
    def train_step(self, data):
        logs = super().train_step(data)
        if self.ema_unet is not None:
            update_moving_average(self.ema_unet.weights, self.unet.weights,
                                  warmed_up_decay(self.ema_decay, self.optimizer.iterations))
        return logs
