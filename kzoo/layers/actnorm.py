"""Activation normalization with data-dependent initialization (Glow).

``z = (x - loc) * exp(-log_scale)`` per channel (the last axis), with
``log |det dz/dx| = -(number of positions) * sum(log_scale)``.

Data-dependent initialization: the first training batch sets ``loc`` to the
per-channel mean and ``log_scale`` to the log of the per-channel standard
deviation, so that the layer's output starts with zero mean and unit
variance; after that both are ordinary trainable weights. A non-trainable
``initialized`` flag (saved with the weights) records that this happened,
so a reloaded layer is never re-initialized.

Under ``tf.distribute`` each replica sees only part of the global batch. The
statistics are therefore all-reduced over the replicas (sums and sums of
squares, then divided by the global count), so every replica writes the
same values, which are exactly the statistics of the global batch: a
2-replica first step is identical to the single-device first step on the
same global batch.

Initialization happens only in training calls (``training=True``); an
uninitialized layer called for inference is the identity.

References:
    Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1
    Convolutions", NeurIPS 2018.
"""

import tensorflow as tf
import keras

from kzoo.core.validation import check_positive_number
from kzoo.layers.flow_layer import FlowLayer


def _replica_sum(value):
    context = tf.distribute.get_replica_context()
    if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


@keras.saving.register_keras_serializable(package="kzoo")
class ActNorm(FlowLayer):
    """Per-channel affine normalization initialized from the first training batch.

    Args:
        epsilon: added to the standard deviation at initialization.
        **kwargs: ``name`` for ``keras.layers.Layer``.

    Raises:
        ValueError: ``epsilon`` is not a positive number.
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = check_positive_number(epsilon, "epsilon")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"ActNorm needs a known channel (last) dimension, got input shape {input_shape}.")
        self.loc = self.add_weight(shape=(int(channels),), initializer="zeros", name="loc", aggregation="mean")
        self.log_scale = self.add_weight(shape=(int(channels),), initializer="zeros", name="log_scale",
                                         aggregation="mean")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized",
                                           aggregation="only_first_replica")

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config

    def _positions(self, x):
        """Number of positions sharing one channel's parameters in one example."""
        count = 1
        for d in x.shape[1:-1]:
            count *= int(d)
        return count

    def initialize(self, x):
        """Sets ``loc``/``log_scale`` from the (global) batch ``x`` unless already initialized.

        Args:
            x: float32 batch ``(N, ..., C)``.
        """
        axes = list(range(len(x.shape) - 1))
        flat_count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        total = _replica_sum(tf.stack([tf.reduce_sum(x, axes), tf.reduce_sum(tf.square(x), axes)]))
        count = _replica_sum(flat_count)
        mean = total[0] / count
        variance = tf.maximum(total[1] / count - tf.square(mean), 0.0)
        log_std = tf.math.log(tf.sqrt(variance) + self.epsilon)
        done = self.initialized > 0.5
        self.loc.assign(tf.where(done, self.loc, tf.stop_gradient(mean)))
        self.log_scale.assign(tf.where(done, self.log_scale, tf.stop_gradient(log_std)))
        self.initialized.assign(1.0)

    def forward(self, x, training=False):
        x = tf.cast(x, tf.float32)
        if training:
            self.initialize(x)
        loc = tf.convert_to_tensor(self.loc)
        log_scale = tf.convert_to_tensor(self.log_scale)
        z = (x - loc) * tf.exp(-log_scale)
        log_det = -float(self._positions(x)) * tf.reduce_sum(log_scale)
        return z, tf.fill(tf.shape(x)[:1], log_det)

    def inverse(self, z):
        return tf.cast(z, tf.float32) * tf.exp(tf.convert_to_tensor(self.log_scale)) + \
            tf.convert_to_tensor(self.loc)
