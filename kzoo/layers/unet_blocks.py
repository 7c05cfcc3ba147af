"""Building blocks of diffusion U-Nets: time embedding, residual, attention, resampling.

Every block is a Keras 3 layer with its constructor arguments as config, so a
network assembled from them saves and reloads with ``model.weights.h5``.
Normalization and attention follow the DDPM U-Net (group normalization, swish,
the timestep embedding added between the two convolutions of a residual
block, single-head self-attention at low resolution).

References:
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020
    (Appendix B: the U-Net).
    Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (sinusoidal
    position embedding).
    Wu & He, "Group Normalization", ECCV 2018.
"""

import math

import tensorflow as tf
import keras

from kzoo.core.validation import check_positive_int


def sinusoidal_embedding(t, dim, max_period=10_000.0):
    """Sinusoidal embedding of (integer or real) timesteps.

    Args:
        t: tensor of shape (N,).
        dim: embedding size (a positive even int).
        max_period: the longest wavelength.

    Returns:
        float32 tensor of shape (N, dim): ``[sin(t f_k), cos(t f_k)]`` with
        frequencies ``f_k = max_period ** (-k / (dim / 2))``.

    Raises:
        ValueError: ``dim`` is not a positive even int.
    """
    dim = check_positive_int(dim, "dim")
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}.")
    half = dim // 2
    freqs = tf.exp(-math.log(max_period) * tf.range(half, dtype=tf.float32) / half)
    args = tf.cast(tf.reshape(t, [-1]), tf.float32)[:, None] * freqs[None]
    return tf.concat([tf.sin(args), tf.cos(args)], axis=-1)


def _groups(channels, groups):
    """The largest divisor of ``channels`` not above ``groups``."""
    g = min(groups, channels)
    while channels % g:
        g -= 1
    return g


@keras.saving.register_keras_serializable(package="kzoo")
class TimeEmbedding(keras.layers.Layer):
    """Sinusoidal features of the timestep followed by a two-layer MLP.

    Args:
        dim: output size.
        frequency_dim: size of the sinusoidal features (even).
        **kwargs: ``keras.layers.Layer`` arguments.

    Raises:
        ValueError: ``dim`` or ``frequency_dim`` is not a positive int (or
            ``frequency_dim`` is odd).
    """

    def __init__(self, dim, frequency_dim=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = check_positive_int(dim, "dim")
        self.frequency_dim = check_positive_int(frequency_dim or dim, "frequency_dim")
        if self.frequency_dim % 2:
            raise ValueError(f"frequency_dim must be even, got {self.frequency_dim}.")
        self.hidden = keras.layers.Dense(self.dim, activation="swish", name="hidden")
        self.out = keras.layers.Dense(self.dim, name="out")

    def build(self, input_shape):
        self.hidden.build((None, self.frequency_dim))
        self.out.build((None, self.dim))
        self.built = True

    def call(self, t):
        features = tf.cast(sinusoidal_embedding(t, self.frequency_dim), self.compute_dtype)
        return self.out(self.hidden(features))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        config = super().get_config()
        config.update({"dim": self.dim, "frequency_dim": self.frequency_dim})
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class ResidualBlock(keras.layers.Layer):
    """GroupNorm-swish-conv twice, with the embedding added in between.

    ``out = skip(x) + conv2(drop(act(norm2(conv1(act(norm1(x))) + W e)))))``
    where ``e`` is the (time, class) embedding and ``skip`` is a 1x1
    convolution when the channel count changes.

    Args:
        filters: output channels.
        dropout: dropout rate before the second convolution.
        groups: number of normalization groups (reduced to a divisor of the
            channel count).
        **kwargs: ``keras.layers.Layer`` arguments.

    Raises:
        ValueError: bad ``filters``, ``groups`` or ``dropout``.
    """

    def __init__(self, filters, dropout=0.0, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.groups = check_positive_int(groups, "groups")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)

    def build(self, input_shape):
        x_shape, e_shape = input_shape
        channels = int(x_shape[-1])
        self.norm1 = keras.layers.GroupNormalization(_groups(channels, self.groups), name="norm1")
        self.norm1.build(x_shape)
        self.conv1 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv1")
        self.conv1.build(x_shape)
        self.embed = keras.layers.Dense(self.filters, name="embed")
        self.embed.build(e_shape)
        inner = tuple(x_shape[:-1]) + (self.filters,)
        self.norm2 = keras.layers.GroupNormalization(_groups(self.filters, self.groups), name="norm2")
        self.norm2.build(inner)
        self.drop = keras.layers.Dropout(self.dropout)
        self.conv2 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv2")
        self.conv2.build(inner)
        self.skip = None
        if channels != self.filters:
            self.skip = keras.layers.Conv2D(self.filters, 1, name="skip")
            self.skip.build(x_shape)
        self.built = True

    def call(self, inputs, training=False):
        x, e = inputs
        h = self.conv1(tf.nn.silu(self.norm1(x)))
        h = h + self.embed(tf.nn.silu(e))[:, None, None, :]
        h = self.conv2(self.drop(tf.nn.silu(self.norm2(h)), training=training))
        return (x if self.skip is None else self.skip(x)) + h

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "dropout": self.dropout, "groups": self.groups})
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class SpatialSelfAttention(keras.layers.Layer):
    """Single-head self-attention over the pixels of a feature map, residual.

    Args:
        groups: normalization groups.
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    def __init__(self, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.groups = check_positive_int(groups, "groups")

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.norm = keras.layers.GroupNormalization(_groups(channels, self.groups), name="norm")
        self.norm.build(input_shape)
        self.qkv = keras.layers.Dense(3 * channels, name="qkv")
        self.qkv.build((None, None, channels))
        self.proj = keras.layers.Dense(channels, name="proj")
        self.proj.build((None, None, channels))
        self.built = True

    def call(self, x):
        shape = tf.shape(x)
        channels = x.shape[-1]
        h = tf.reshape(self.norm(x), [shape[0], shape[1] * shape[2], channels])
        q, k, v = tf.split(self.qkv(h), 3, axis=-1)
        weights = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * (float(channels) ** -0.5), axis=-1)
        out = self.proj(tf.matmul(weights, v))
        return x + tf.reshape(out, shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["groups"] = self.groups
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class Downsample(keras.layers.Layer):
    """Halves height and width with a stride-2 3x3 convolution (channels kept)."""

    def build(self, input_shape):
        self.conv = keras.layers.Conv2D(int(input_shape[-1]), 3, strides=2, padding="same", name="conv")
        self.conv.build(input_shape)
        self.built = True

    def call(self, x):
        return self.conv(x)

    def compute_output_shape(self, input_shape):
        h, w = input_shape[1], input_shape[2]
        return (input_shape[0], None if h is None else (h + 1) // 2, None if w is None else (w + 1) // 2,
                input_shape[-1])


@keras.saving.register_keras_serializable(package="kzoo")
class Upsample(keras.layers.Layer):
    """Doubles height and width (nearest neighbour) then a 3x3 convolution."""

    def build(self, input_shape):
        self.conv = keras.layers.Conv2D(int(input_shape[-1]), 3, padding="same", name="conv")
        shape = (input_shape[0], None, None, input_shape[-1])
        self.conv.build(shape)
        self.built = True

    def call(self, x):
        x = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
        return self.conv(x)

    def compute_output_shape(self, input_shape):
        h, w = input_shape[1], input_shape[2]
        return (input_shape[0], None if h is None else 2 * h, None if w is None else 2 * w, input_shape[-1])
