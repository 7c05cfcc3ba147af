"""Layers of stabilized GAN training: spectral normalization, minibatch standard deviation, equalized learning rate.

:class:`SpectralConv2D` and :class:`SpectralDense` are ``Conv2D`` / ``Dense``
whose kernel is divided by its largest singular value, estimated by one
power iteration per training call (Miyato et al. 2018). The division is
part of the forward pass, so gradients flow through the estimate of sigma
as in the paper (a wrapper that overwrites the kernel variable with W /
sigma drops that term). The power-iteration vector ``u`` is a non-trainable
weight updated in training calls only; it does not depend on the data, so
every replica of a ``MirroredStrategy`` step computes the same update.

:class:`MinibatchStdDev` appends one feature map: the standard deviation of
each feature over a group of examples, averaged (Karras et al. 2018). The
statistic is computed over fixed groups of ``group_size`` consecutive
examples, not over the whole batch, so a replica holding a multiple of
``group_size`` examples of the global batch computes what a single device
does.

:class:`EqualizedConv2D` and :class:`EqualizedDense` draw their kernel
from N(0, 1) and multiply it at run time by He's constant ``gain /
sqrt(fan_in)``, so that Adam's per-parameter step sizes act alike on every
layer; :class:`PixelNorm` scales each pixel's feature vector to unit mean
square (both from Karras et al. 2018).

References:
    Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for
    Generative Adversarial Networks", ICLR 2018.
    Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for
    Improved Quality, Stability, and Variation", ICLR 2018.
"""

import keras
import tensorflow as tf

from kzoo.core.validation import check_positive_int

__all__ = ["EqualizedConv2D", "EqualizedDense", "MinibatchStdDev", "PixelNorm", "SpectralConv2D", "SpectralDense"]


class _SpectralKernel:
    """What both spectral layers share: ``u``, the power iteration and the normalized kernel."""

    def build(self, input_shape):
        super().build(input_shape)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel.shape[-1]), initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=0),
            trainable=False, name="vector_u", aggregation="only_first_replica")

    # Dense / Conv2D store only their kernel and bias (and quantization state) by name; the
    # generic Layer store keeps every variable, u included, in creation order.
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    def normalized_kernel(self, training=False):
        """``kernel / sigma``; a training call also stores the new power-iteration vector ``u``.

        Args:
            training: update ``u`` (one power-iteration step).

        Returns:
            The normalized kernel, in the layer's compute dtype.
        """
        kernel = tf.cast(self.kernel, tf.float32)
        matrix = tf.reshape(kernel, [-1, kernel.shape[-1]])
        u = tf.cast(self.vector_u, tf.float32)
        v = tf.math.l2_normalize(tf.matmul(u, matrix, transpose_b=True), epsilon=1e-12)
        u = tf.math.l2_normalize(tf.matmul(v, matrix), epsilon=1e-12)
        u, v = tf.stop_gradient(u), tf.stop_gradient(v)
        sigma = tf.reduce_sum(tf.matmul(v, matrix) * u)
        if training:
            self.vector_u.assign(u)
        return tf.cast(kernel / sigma, self.compute_dtype)

@keras.saving.register_keras_serializable(package="kzoo")
class SpectralConv2D(_SpectralKernel, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with a spectrally normalized kernel (Miyato et al. 2018).

    Takes the arguments of ``Conv2D``. The kernel, reshaped to
    ``(kh * kw * in, out)``, is divided by its largest singular value before
    the convolution.
    """

    def call(self, inputs, training=False):
        outputs = self.convolution_op(inputs, self.normalized_kernel(training))
        if self.use_bias:
            outputs = outputs + tf.reshape(tf.cast(self.bias, outputs.dtype), [1, 1, 1, -1])
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kzoo")
class SpectralDense(_SpectralKernel, keras.layers.Dense):
    """``keras.layers.Dense`` with a spectrally normalized kernel (Miyato et al. 2018).

    Takes the arguments of ``Dense`` (inputs of rank 2).
    """

    def call(self, inputs, training=False):
        outputs = tf.matmul(inputs, self.normalized_kernel(training))
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kzoo")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the mean standard deviation over groups of examples as one more channel (Karras et al. 2018).

    Consecutive examples are split into groups of ``group_size``; within a
    group the standard deviation of every feature (position and channel) is
    taken over the examples, averaged to one number, and broadcast as an
    extra channel of each example of the group. A discriminator that sees
    it can tell a batch of near-identical samples (mode collapse) from a
    varied one.

    Args:
        group_size: examples per group; a batch must be a multiple of it
            (a batch smaller than it forms one group).
        **kwargs: ``name`` / ``dtype`` of the layer.

    Raises:
        ValueError: ``group_size`` is not a positive int, or (when called)
            a batch that is not a multiple of it.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = check_positive_int(group_size, "group_size")

    def get_config(self):
        config = super().get_config()
        config["group_size"] = self.group_size
        return config

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        batch = tf.shape(x)[0]
        group = tf.minimum(batch, self.group_size)
        tf.debugging.assert_equal(batch % group, 0, message=(
            f"MinibatchStdDev(group_size={self.group_size}) needs a batch that is a multiple of its group size"))
        grouped = tf.reshape(x, tf.concat([[batch // group, group], tf.shape(x)[1:]], axis=0))
        std = tf.sqrt(tf.math.reduce_variance(grouped, axis=1) + 1e-8)
        statistic = tf.repeat(tf.reduce_mean(std, axis=list(range(1, len(x.shape))), keepdims=True), group, axis=0)
        extra = tf.ones_like(x[..., :1]) * statistic
        return tf.cast(tf.concat([x, extra], axis=-1), inputs.dtype)


class _EqualizedKernel:
    """What both equalized layers share: the N(0, 1) kernel and its run-time He scale."""

    def __init__(self, *args, gain=2.0 ** 0.5, **kwargs):
        kwargs.setdefault("kernel_initializer", keras.initializers.RandomNormal(0.0, 1.0))
        super().__init__(*args, **kwargs)
        self.gain = float(gain)

    def get_config(self):
        config = super().get_config()
        config["gain"] = self.gain
        return config

    def scaled_kernel(self):
        """``kernel * gain / sqrt(fan_in)`` in the compute dtype."""
        fan_in = 1
        for size in self.kernel.shape[:-1]:
            fan_in *= int(size)
        return tf.cast(self.kernel, self.compute_dtype) * tf.cast(self.gain / fan_in ** 0.5, self.compute_dtype)


@keras.saving.register_keras_serializable(package="kzoo")
class EqualizedConv2D(_EqualizedKernel, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with an equalized learning rate (Karras et al. 2018).

    Takes the arguments of ``Conv2D`` and ``gain`` (default sqrt(2), for
    leaky-ReLU layers; 1 for linear outputs).
    """

    def call(self, inputs):
        outputs = self.convolution_op(inputs, self.scaled_kernel())
        if self.use_bias:
            outputs = outputs + tf.reshape(tf.cast(self.bias, outputs.dtype), [1, 1, 1, -1])
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kzoo")
class EqualizedDense(_EqualizedKernel, keras.layers.Dense):
    """``keras.layers.Dense`` with an equalized learning rate (Karras et al. 2018).

    Takes the arguments of ``Dense`` (inputs of rank 2) and ``gain``.
    """

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.scaled_kernel())
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kzoo")
class PixelNorm(keras.layers.Layer):
    """Scales each position's feature vector to unit mean square (Karras et al. 2018).

    ``x / sqrt(mean(x^2) + 1e-8)``, the mean over the last axis.
    """

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        x = x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-8)
        return tf.cast(x, inputs.dtype)
