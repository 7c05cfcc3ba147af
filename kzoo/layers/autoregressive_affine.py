"""Masked autoregressive affine transforms: the steps of MAF and IAF.

A MADE network (:class:`kzoo.layers.MaskedDense` layers, the same masked
layer MADE uses) gives, for every dimension ``i``, a shift ``m_i`` and a
log-scale ``a_i`` that depend only on the dimensions before ``i`` in the
layer's ordering.

* MAF (``inverse_autoregressive=False``), data to noise in one pass:
  ``z_i = (x_i - m_i(x_<i)) * exp(-a_i(x_<i))``, ``log|det| = -sum a_i``;
  noise to data (sampling) needs ``D`` sequential passes, done by
  ``tfp.bijectors.MaskedAutoregressiveFlow`` driven by this layer's network.
* IAF (``inverse_autoregressive=True``), the inverse map: sampling is one
  pass, ``x_i = (z_i - m_i(z_<i)) * exp(-a_i(z_<i))``, and the density
  (data to noise) needs ``D`` passes (the TFP bijector's forward).

The log-scales are soft-clamped, ``a = c * tanh(raw / c)`` with
``c = log_scale_bound``, and the output layer starts at zero, so the layer
starts as the identity.

References:
    Papamakarios, Pavlakou & Murray, "Masked Autoregressive Flow for Density
    Estimation", NeurIPS 2017.
    Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling, "Improved
    Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016.
    Germain, Gregor, Murray & Larochelle, "MADE: Masked Autoencoder for
    Distribution Estimation", ICML 2015.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import keras

from kzoo.core.validation import check_choice, check_non_negative_int, check_positive_int, check_positive_number
from kzoo.layers.flow_layer import FlowLayer
from kzoo.layers.masked_dense import MaskedDense

tfb = tfp.bijectors

ORDERS = ("natural", "reversed")


def autoregressive_degrees(num_dims, hidden_units, order="natural", seed=0):
    """Degrees of a single-mask MADE: inputs 1..D (or D..1) and random hidden degrees.

    Args:
        num_dims: ``D``.
        hidden_units: sizes of the hidden layers.
        order: ``"natural"`` (dimension ``i`` has degree ``i + 1``) or
            ``"reversed"``.
        seed: non-negative int for the hidden degrees.

    Returns:
        ``(input_degrees, [hidden_degrees, ...])`` as int numpy arrays.
    """
    rng = np.random.default_rng([seed, 1])
    inputs = np.arange(1, num_dims + 1)
    if order == "reversed":
        inputs = inputs[::-1].copy()
    hidden, previous = [], inputs
    for units in hidden_units:
        low = int(previous.min())
        high = max(num_dims - 1, low)
        if num_dims == 1:
            previous = np.full(units, 1)
        else:
            previous = np.resize(np.arange(low, high + 1), units) if units >= high - low + 1 else \
                rng.integers(low, high + 1, size=units)
        hidden.append(previous)
    return inputs, hidden


@keras.saving.register_keras_serializable(package="kzoo")
class MaskedAutoregressiveAffine(FlowLayer):
    """One MAF (or IAF) step on vectors ``(N, D)``.

    Args:
        hidden_units: sizes of the masked hidden layers.
        order: ``"natural"`` or ``"reversed"`` ordering of the dimensions.
        inverse_autoregressive: ``False`` for MAF (one-pass density),
            ``True`` for IAF (one-pass sampling).
        log_scale_bound: soft bound ``c`` of the log-scales.
        seed: non-negative int for the hidden degrees.
        **kwargs: ``name`` for ``keras.layers.Layer``.

    Raises:
        ValueError: a bad option or a non-vector input.
    """

    def __init__(self, hidden_units=(256, 256), order="natural", inverse_autoregressive=False,
                 log_scale_bound=5.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(hidden_units, (int, np.integer)) and not isinstance(hidden_units, bool):
            hidden_units = (hidden_units,)
        self.hidden_units = tuple(check_positive_int(h, "hidden_units entry") for h in hidden_units)
        self.order = check_choice(order, "order", ORDERS)
        self.inverse_autoregressive = bool(inverse_autoregressive)
        self.log_scale_bound = check_positive_number(log_scale_bound, "log_scale_bound")
        self.seed = check_non_negative_int(seed, "seed")

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_units": list(self.hidden_units), "order": self.order,
                       "inverse_autoregressive": self.inverse_autoregressive,
                       "log_scale_bound": self.log_scale_bound, "seed": self.seed})
        return config

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"MaskedAutoregressiveAffine needs vector inputs (N, D), got {input_shape}.")
        dims = int(input_shape[-1])
        self.num_dims = dims
        inputs, hidden = autoregressive_degrees(dims, self.hidden_units, self.order, self.seed)
        layers, in_dim, previous = [], dims, inputs
        for index, (units, degrees) in enumerate(zip(self.hidden_units, hidden)):
            layer = MaskedDense(units, activation="relu", name=f"hidden_{index}")
            layer.build((None, in_dim))
            layer.set_degrees(previous, degrees)
            layers.append(layer)
            in_dim, previous = units, degrees
        self.hidden_layers = layers
        self.output_layer = MaskedDense(2 * dims, strict=True, kernel_initializer="zeros", name="shift_log_scale")
        self.output_layer.build((None, in_dim))
        self.output_layer.set_degrees(previous, np.repeat(inputs, 2))

    def shift_and_log_scale(self, x):
        """The float32 ``(shift, log_scale)``, each ``(N, D)``, of the dimensions given their predecessors."""
        hidden = x
        for layer in self.hidden_layers:
            hidden = layer(hidden)
        params = tf.cast(self.output_layer(hidden), tf.float32)
        params = tf.reshape(params, [-1, self.num_dims, 2])
        bound = self.log_scale_bound
        return params[..., 0], bound * tf.tanh(params[..., 1] / bound)

    def _tfp_bijector(self):
        """``tfb.MaskedAutoregressiveFlow`` whose forward solves ``y = x * exp(a(y)) + m(y)``."""
        return tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=lambda y, **_: self.shift_and_log_scale(y))

    def _one_pass(self, v):
        shift, log_scale = self.shift_and_log_scale(v)
        return (v - shift) * tf.exp(-log_scale), -tf.reduce_sum(log_scale, axis=-1)

    def forward(self, x, training=False):
        del training
        x = tf.cast(x, tf.float32)
        if not self.inverse_autoregressive:
            return self._one_pass(x)
        z = self._tfp_bijector().forward(x)
        _, log_scale = self.shift_and_log_scale(z)
        return z, tf.reduce_sum(log_scale, axis=-1)

    def inverse(self, z):
        z = tf.cast(z, tf.float32)
        if self.inverse_autoregressive:
            return self._one_pass(z)[0]
        return self._tfp_bijector().forward(z)
