"""The denoising U-Net of the diffusion models, sized for small images.

``UNet((x_t, t[, labels]))`` maps a noisy image and its timestep (and,
optionally, a class label) to a tensor of the image's shape: the predicted
noise (or velocity). The layout follows the DDPM U-Net: a stack of residual
blocks per resolution with skip connections to the mirrored decoder, the
timestep embedding added inside every residual block, self-attention at the
lowest resolutions, and a middle block of residual-attention-residual.

An optional ``patch_size`` folds ``p x p`` pixel patches into channels
before the first convolution (and unfolds them at the end), so the network
runs at ``1/p`` of the resolution: on a CPU this cuts the cost of the
full-resolution convolutions by about ``p**2``.

References:
    Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for
    Biomedical Image Segmentation", MICCAI 2015.
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    Hoogeboom, Heek & Salimans, "simple diffusion: End-to-end diffusion for
    high resolution images", ICML 2023 (patching the input of the U-Net).
"""

import tensorflow as tf
import keras

from kzoo.core.validation import check_positive_int
from kzoo.layers.unet_blocks import Downsample, ResidualBlock, SpatialSelfAttention, TimeEmbedding, Upsample

__all__ = ["UNet"]


@keras.saving.register_keras_serializable(package="kzoo")
class UNet(keras.layers.Layer):
    """A small DDPM-style U-Net predicting a tensor shaped like its input image.

    Args:
        image_shape: ``(H, W, C)``; ``H`` and ``W`` must be divisible by
            ``patch_size * 2**(len(channel_multipliers) - 1)``.
        base_filters: channels of the first level.
        channel_multipliers: channels of each level as multiples of
            ``base_filters``; each level after the first halves the
            resolution.
        num_res_blocks: residual blocks per level on the way down (the way up
            has one more, as in DDPM).
        attention_levels: indices of the levels with self-attention after each
            residual block (the middle block always has one when
            ``middle_attention``).
        middle_attention: self-attention in the middle block.
        dropout: dropout rate inside the residual blocks.
        num_classes: ``None`` or the number of classes; the class embedding
            table has one extra row, the "no label" class used by
            classifier-free guidance.
        patch_size: fold ``p x p`` patches into channels first (1 = off).
        **kwargs: ``keras.layers.Layer`` arguments.

    Raises:
        ValueError: bad sizes, or an image size the levels cannot halve.
    """

    def __init__(self, image_shape=(28, 28, 1), base_filters=32, channel_multipliers=(1, 2, 2), num_res_blocks=1,
                 attention_levels=(2,), middle_attention=True, dropout=0.0, num_classes=None, patch_size=1,
                 **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(check_positive_int(int(d), "image_shape entry") for d in image_shape)
        if len(self.image_shape) != 3:
            raise ValueError(f"image_shape must be (H, W, C), got {tuple(image_shape)}.")
        self.base_filters = check_positive_int(base_filters, "base_filters")
        self.channel_multipliers = tuple(check_positive_int(m, "channel_multipliers entry")
                                         for m in channel_multipliers)
        if not self.channel_multipliers:
            raise ValueError("channel_multipliers is empty; give at least one level, e.g. (1, 2, 2).")
        self.num_res_blocks = check_positive_int(num_res_blocks, "num_res_blocks")
        levels = len(self.channel_multipliers)
        self.attention_levels = tuple(int(a) for a in attention_levels)
        for level in self.attention_levels:
            if not 0 <= level < levels:
                raise ValueError(f"attention_levels entries must lie in [0, {levels}), got {level}.")
        self.middle_attention = bool(middle_attention)
        self.dropout = float(dropout)
        self.num_classes = None if num_classes is None else check_positive_int(num_classes, "num_classes")
        self.patch_size = check_positive_int(patch_size, "patch_size")
        factor = self.patch_size * 2 ** (levels - 1)
        height, width, channels = self.image_shape
        if height % factor or width % factor:
            raise ValueError(f"image_shape {self.image_shape} must have height and width divisible by "
                             f"patch_size * 2**(levels - 1) = {factor}.")

        embed_dim = 4 * self.base_filters
        self.time_embedding = TimeEmbedding(embed_dim, frequency_dim=self.base_filters, name="time_embedding")
        self.class_embedding = None
        if self.num_classes is not None:
            self.class_embedding = keras.layers.Embedding(self.num_classes + 1, embed_dim, name="class_embedding")
        self.conv_in = keras.layers.Conv2D(self.base_filters, 3, padding="same", name="conv_in")
        self.down_blocks, self.up_blocks = [], []
        skip_channels = [self.base_filters]
        filters = self.base_filters
        for level, mult in enumerate(self.channel_multipliers):
            filters = self.base_filters * mult
            for i in range(self.num_res_blocks):
                block = [ResidualBlock(filters, self.dropout, name=f"down{level}_res{i}")]
                if level in self.attention_levels:
                    block.append(SpatialSelfAttention(name=f"down{level}_attn{i}"))
                self.down_blocks.append(block)
                skip_channels.append(filters)
            if level < levels - 1:
                self.down_blocks.append([Downsample(name=f"down{level}_resample")])
                skip_channels.append(filters)
        self.middle = [ResidualBlock(filters, self.dropout, name="mid_res0")]
        if self.middle_attention:
            self.middle.append(SpatialSelfAttention(name="mid_attn"))
        self.middle.append(ResidualBlock(filters, self.dropout, name="mid_res1"))
        for level in reversed(range(levels)):
            filters = self.base_filters * self.channel_multipliers[level]
            for i in range(self.num_res_blocks + 1):
                skip_channels.pop()
                block = [ResidualBlock(filters, self.dropout, name=f"up{level}_res{i}")]
                if level in self.attention_levels:
                    block.append(SpatialSelfAttention(name=f"up{level}_attn{i}"))
                self.up_blocks.append(block)
            if level > 0:
                self.up_blocks.append([Upsample(name=f"up{level}_resample")])
        self.norm_out = keras.layers.GroupNormalization(min(8, self.base_filters), name="norm_out")
        self.conv_out = keras.layers.Conv2D(channels * self.patch_size**2, 3, padding="same", name="conv_out")

    def get_config(self):
        config = super().get_config()
        config.update({
            "image_shape": list(self.image_shape),
            "base_filters": self.base_filters,
            "channel_multipliers": list(self.channel_multipliers),
            "num_res_blocks": self.num_res_blocks,
            "attention_levels": list(self.attention_levels),
            "middle_attention": self.middle_attention,
            "dropout": self.dropout,
            "num_classes": self.num_classes,
            "patch_size": self.patch_size,
        })
        return config

    def build(self, input_shape=None):
        """Builds every variable by running one zero batch through the network."""
        if self.built:
            return
        x = tf.zeros((1,) + self.image_shape)
        labels = None if self.num_classes is None else tf.zeros([1], tf.int32)
        self._forward(x, tf.zeros([1], tf.int32), labels, training=False)
        self.built = True

    def call(self, inputs, training=False):
        """Runs the network.

        Args:
            inputs: a tuple ``(x_t, t)`` or ``(x_t, t, labels)``: images
                ``(N, H, W, C)``, timesteps ``(N,)`` and, for a
                class-conditional network, int labels ``(N,)`` in
                ``[0, num_classes]`` (``num_classes`` meaning "no label").
            training: dropout on.

        Returns:
            A tensor ``(N, H, W, C)`` in the compute dtype.
        """
        x, t, *rest = inputs
        labels = rest[0] if rest else None
        return self._forward(x, t, labels, training)

    def _forward(self, x, t, labels, training):
        x = tf.cast(x, self.compute_dtype)
        if self.patch_size > 1:
            x = tf.nn.space_to_depth(x, self.patch_size)
        emb = self.time_embedding(t)
        if self.class_embedding is not None:
            if labels is None:
                labels = tf.fill(tf.shape(t)[:1], self.num_classes)
            emb = emb + tf.cast(self.class_embedding(labels), emb.dtype)
        h = self.conv_in(x)
        skips = [h]
        for block in self.down_blocks:
            h = self._apply(block, h, emb, training)
            skips.append(h)
        h = self._apply(self.middle, h, emb, training)
        for block in self.up_blocks:
            if isinstance(block[0], ResidualBlock):
                h = tf.concat([h, skips.pop()], axis=-1)
            h = self._apply(block, h, emb, training)
        h = self.conv_out(tf.nn.silu(self.norm_out(h)))
        if self.patch_size > 1:
            h = tf.nn.depth_to_space(h, self.patch_size)
        return h

    @staticmethod
    def _apply(block, h, emb, training):
        for layer in block:
            if isinstance(layer, ResidualBlock):
                h = layer((h, emb), training=training)
            else:
                h = layer(h)
        return h

    def compute_output_shape(self, input_shape):
        return input_shape[0]
