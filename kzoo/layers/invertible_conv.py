"""Invertible 1x1 convolution with an LU-decomposed kernel (Glow).

A 1x1 convolution multiplies every pixel's channel vector by one ``C x C``
matrix ``W``; the log-determinant of the whole map is
``H * W_spatial * log |det W|``. Writing ``W = P L (U + diag(s))`` with a
fixed permutation ``P``, a unit lower-triangular ``L``, a strictly upper
triangular ``U`` and a diagonal ``s = sign * exp(log_scale)`` makes
``log |det W| = sum(log_scale)``: O(C) instead of O(C^3), and exact.

The kernel starts as a random rotation (seeded by ``seed``) decomposed with
``scipy.linalg.lu``; ``P`` and the signs are stored as non-trainable
weights, so a saved layer reloads exactly. All of it is float32.

References:
    Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1
    Convolutions", NeurIPS 2018, section 3.2.
"""

import numpy as np
import scipy.linalg
import tensorflow as tf
import keras

from kzoo.core.validation import check_non_negative_int
from kzoo.layers.flow_layer import FlowLayer


def random_rotation_lu(channels, seed):
    """LU pieces of a random orthogonal ``channels x channels`` matrix.

    Args:
        channels: matrix size.
        seed: non-negative int.

    Returns:
        ``(P, L, U, sign, log_scale)`` float32 numpy arrays with
        ``P @ L @ (U + diag(sign * exp(log_scale))) == Q``.
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((channels, channels)))
    q = q * np.sign(np.diag(r))[None, :]
    p, lower, upper = scipy.linalg.lu(q)
    s = np.diag(upper)
    return (p.astype(np.float32), lower.astype(np.float32), np.triu(upper, 1).astype(np.float32),
            np.sign(s).astype(np.float32), np.log(np.abs(s)).astype(np.float32))


@keras.saving.register_keras_serializable(package="kzoo")
class InvertibleConv1x1(FlowLayer):
    """Channel mixing ``z = x W`` at every position, ``W`` LU-parameterized.

    Works on any input whose last axis is the channel axis (images
    ``(N, H, W, C)`` or vectors ``(N, C)``).

    Args:
        seed: non-negative int seeding the initial rotation.
        **kwargs: ``name`` for ``keras.layers.Layer``.

    Raises:
        ValueError: bad ``seed``.
    """

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_non_negative_int(seed, "seed")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"InvertibleConv1x1 needs a known channel dimension, got input shape {input_shape}.")
        channels = int(channels)
        p, lower, upper, sign, log_scale = random_rotation_lu(channels, self.seed)
        const = keras.initializers.Constant
        self.permutation = self.add_weight(shape=(channels, channels), initializer=const(p), trainable=False,
                                           name="permutation")
        self.lower = self.add_weight(shape=(channels, channels), initializer=const(lower), name="lower")
        self.upper = self.add_weight(shape=(channels, channels), initializer=const(upper), name="upper")
        self.sign = self.add_weight(shape=(channels,), initializer=const(sign), trainable=False, name="sign")
        self.log_scale = self.add_weight(shape=(channels,), initializer=const(log_scale), name="log_scale")
        self._lower_mask = np.tril(np.ones((channels, channels), np.float32), -1)
        self._upper_mask = np.triu(np.ones((channels, channels), np.float32), 1)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config

    def kernel(self):
        """The ``C x C`` float32 matrix ``W = P L (U + diag(s))``."""
        channels = self._lower_mask.shape[0]
        eye = tf.eye(channels)
        lower = tf.convert_to_tensor(self.lower) * self._lower_mask + eye
        upper = tf.convert_to_tensor(self.upper) * self._upper_mask + tf.linalg.diag(
            tf.convert_to_tensor(self.sign) * tf.exp(tf.convert_to_tensor(self.log_scale)))
        return tf.matmul(tf.convert_to_tensor(self.permutation), tf.matmul(lower, upper))

    def forward(self, x, training=False):
        del training
        x = tf.cast(x, tf.float32)
        positions = 1
        for d in x.shape[1:-1]:
            positions *= int(d)
        z = tf.tensordot(x, self.kernel(), axes=[[-1], [0]])
        log_det = float(positions) * tf.reduce_sum(tf.convert_to_tensor(self.log_scale))
        return z, tf.fill(tf.shape(x)[:1], log_det)

    def inverse(self, z):
        return tf.tensordot(tf.cast(z, tf.float32), tf.linalg.inv(self.kernel()), axes=[[-1], [0]])
