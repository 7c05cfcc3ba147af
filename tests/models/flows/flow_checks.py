"""Helpers shared by the flow tests: random weights and brute-force Jacobians."""

import numpy as np
import tensorflow as tf


def randomize_weights(obj, seed=0, scale=0.3):
    """Gives every trainable float weight small random values (so no coupling is the identity)."""
    rng = np.random.default_rng(seed)
    for variable in obj.trainable_weights:
        value = np.asarray(variable)
        variable.assign(value + scale * rng.standard_normal(value.shape).astype(np.float32))


def brute_force_log_det(fn, x):
    """log |det J| of ``fn`` (batch -> batch) at each example of ``x``, by autodiff.

    Args:
        fn: maps a float32 batch ``(N, ...)`` to ``(N, ...)`` of the same size.
        x: float32 numpy batch.

    Returns:
        float64 numpy array ``(N,)``.
    """
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reshape(fn(x), [x.shape[0], -1])
    jacobian = tape.batch_jacobian(y, x)
    jacobian = tf.reshape(jacobian, [x.shape[0], y.shape[1], -1]).numpy().astype(np.float64)
    return np.linalg.slogdet(jacobian)[1]
