"""Coupling layers: affine (RealNVP, Glow) and rational-quadratic spline.

A coupling layer splits its input into a conditioning part ``x_a``, left
unchanged, and a transformed part ``x_b``; a network of ``x_a`` gives the
parameters of an elementwise invertible map of ``x_b``. The Jacobian is
triangular, so its log-determinant is the sum of the elementwise log
slopes, and the inverse costs one network pass.

Masks (``mask``):

* ``"checkerboard"`` (images): ``x_a`` is the pixels where
  ``(row + column + parity)`` is even; the network sees ``x * b`` and the
  mask ``b`` itself as an extra channel.
* ``"channel"`` (images) and ``"half"`` (vectors): ``x_a`` is the first
  half of the last axis (``parity=1``: the second half).

Transforms (``transform``):

* ``"affine"``: ``z_b = x_b * exp(log_s) + t``. ``scale_function="tanh"``
  gives ``log_s = a * tanh(raw)`` with a learned per-unit bound ``a``
  (RealNVP); ``"sigmoid"`` gives ``exp(log_s) = sigmoid(raw + 2)`` (Glow).
* ``"spline"`` (``"channel"``/``"half"`` masks): a monotone rational-
  quadratic spline on ``[-spline_bound, spline_bound]`` with ``num_bins``
  bins, identity outside, computed by ``tfp.bijectors.RationalQuadraticSpline``
  (neural spline flows).

The last layer of every network starts at zero, so an affine tanh or a
spline coupling starts as the identity. Networks run under the global dtype
policy; their outputs are cast to float32 before any log-determinant.

References:
    Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
    ICLR 2017.
    Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1
    Convolutions", NeurIPS 2018.
    Durkan, Bekasov, Murray & Papamakarios, "Neural Spline Flows",
    NeurIPS 2019.
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import keras

from kzoo.core.validation import check_choice, check_non_negative_int, check_positive_int, check_positive_number
from kzoo.layers.flow_layer import FlowLayer

tfb = tfp.bijectors

MASKS = ("checkerboard", "channel", "half")
TRANSFORMS = ("affine", "spline")
SCALE_FUNCTIONS = ("tanh", "sigmoid")


def checkerboard(height, width, parity=0):
    """The float32 ``(H, W, 1)`` mask that is 1 where ``(row + column + parity)`` is even."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return (((rows + cols + parity) % 2) == 0).astype(np.float32)[:, :, None]


class ResidualConvNetwork(keras.layers.Layer):
    """The image coupling network: 3x3 conv, residual blocks, 1x1 conv, 3x3 conv.

    Each residual block adds ``conv1x1(relu(conv3x3(relu(h))))`` to ``h``
    (the deep conditioners of RealNVP widen the receptive field; with no
    blocks this is Glow's three-layer network). The output convolution
    starts at zero, so the coupling starts as the identity.

    Args:
        hidden: channels of every hidden layer.
        out_channels: output channels (parameters per transformed unit).
        num_blocks: residual blocks between the first and the 1x1 layer.
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    def __init__(self, hidden, out_channels, num_blocks=0, **kwargs):
        super().__init__(**kwargs)
        self.conv_in = keras.layers.Conv2D(hidden, 3, padding="same", activation="relu", name="conv_in")
        self.block_convs = [keras.layers.Conv2D(hidden, 3, padding="same", name=f"block_{i}_conv3x3")
                            for i in range(num_blocks)]
        self.block_mixers = [keras.layers.Conv2D(hidden, 1, padding="same", name=f"block_{i}_conv1x1")
                             for i in range(num_blocks)]
        self.conv_hidden = keras.layers.Conv2D(hidden, 1, padding="same", activation="relu", name="conv_hidden")
        self.conv_out = keras.layers.Conv2D(out_channels, 3, padding="same", kernel_initializer="zeros",
                                            name="conv_out")

    def build(self, input_shape):
        hidden_shape = tuple(input_shape[:-1]) + (self.conv_in.filters,)
        self.conv_in.build(input_shape)
        for conv, mixer in zip(self.block_convs, self.block_mixers):
            conv.build(hidden_shape)
            mixer.build(hidden_shape)
        self.conv_hidden.build(hidden_shape)
        self.conv_out.build(hidden_shape)

    def call(self, x):
        h = self.conv_in(x)
        for conv, mixer in zip(self.block_convs, self.block_mixers):
            h = h + mixer(tf.nn.relu(conv(tf.nn.relu(h))))
        return self.conv_out(self.conv_hidden(h))


def _conv_network(hidden, out_channels, name, num_blocks=0):
    if num_blocks:
        return ResidualConvNetwork(hidden, out_channels, num_blocks, name=name)
    return keras.Sequential([
        keras.layers.Conv2D(hidden, 3, padding="same", activation="relu", name="conv_in"),
        keras.layers.Conv2D(hidden, 1, padding="same", activation="relu", name="conv_hidden"),
        keras.layers.Conv2D(out_channels, 3, padding="same", kernel_initializer="zeros", name="conv_out"),
    ], name=name)


def _dense_network(hidden, num_hidden, out_units, name):
    layers = [keras.layers.Dense(hidden, activation="relu", name=f"dense_{i}") for i in range(num_hidden)]
    layers.append(keras.layers.Dense(out_units, kernel_initializer="zeros", name="dense_out"))
    return keras.Sequential(layers, name=name)


@keras.saving.register_keras_serializable(package="kzoo")
class Coupling(FlowLayer):
    """An affine or spline coupling layer (see the module docstring).

    Args:
        mask: ``"checkerboard"``, ``"channel"`` (images ``(H, W, C)``) or
            ``"half"`` (vectors ``(D,)``).
        parity: 0 or 1, which part is left unchanged.
        hidden_units: channels (images) or units (vectors) of the network.
        num_hidden: hidden dense layers of a vector network.
        num_blocks: residual blocks of an image network (0: the three-layer
            network of Glow).
        transform: ``"affine"`` or ``"spline"``.
        scale_function: ``"tanh"`` or ``"sigmoid"`` (affine only).
        num_bins: spline bins.
        spline_bound: the spline acts on ``[-spline_bound, spline_bound]``.
        **kwargs: ``name`` for ``keras.layers.Layer``.

    Raises:
        ValueError: a bad option, a spline with a checkerboard mask, an input
            the mask cannot split (one channel for ``"channel"``, one unit for
            ``"half"``).
    """

    def __init__(self, mask="half", parity=0, hidden_units=64, num_hidden=2, num_blocks=0, transform="affine",
                 scale_function="tanh", num_bins=8, spline_bound=4.0, **kwargs):
        super().__init__(**kwargs)
        self.mask = check_choice(mask, "mask", MASKS)
        self.parity = check_choice(parity, "parity", (0, 1))
        for name, value in self.check_network_arguments(
                hidden_units=hidden_units, num_hidden=num_hidden, num_blocks=num_blocks, transform=transform,
                scale_function=scale_function, num_bins=num_bins, spline_bound=spline_bound).items():
            setattr(self, name, value)
        if self.transform == "spline" and self.mask == "checkerboard":
            raise ValueError("transform='spline' needs mask='channel' or 'half', got mask='checkerboard'.")

    @staticmethod
    def check_network_arguments(hidden_units=64, num_hidden=2, num_blocks=0, transform="affine",
                                scale_function="tanh", num_bins=8, spline_bound=4.0):
        """Validates the arguments that shape a coupling's network and transform.

        The flows that build couplings (RealNVP, Glow) call this with their
        own arguments, so each option is checked in one place.

        Args:
            hidden_units, num_hidden, num_blocks, transform, scale_function,
            num_bins, spline_bound: as in :class:`Coupling`.

        Returns:
            A dict of the normalized values, keyed by argument name.

        Raises:
            ValueError: a value of the wrong type or out of range.
        """
        return {
            "hidden_units": check_positive_int(hidden_units, "hidden_units"),
            "num_hidden": check_positive_int(num_hidden, "num_hidden"),
            "num_blocks": check_non_negative_int(num_blocks, "num_blocks"),
            "transform": check_choice(transform, "transform", TRANSFORMS),
            "scale_function": check_choice(scale_function, "scale_function", SCALE_FUNCTIONS),
            "num_bins": check_positive_int(num_bins, "num_bins"),
            "spline_bound": check_positive_number(spline_bound, "spline_bound"),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"mask": self.mask, "parity": self.parity, "hidden_units": self.hidden_units,
                       "num_hidden": self.num_hidden, "num_blocks": self.num_blocks, "transform": self.transform,
                       "scale_function": self.scale_function, "num_bins": self.num_bins,
                       "spline_bound": self.spline_bound})
        return config

    # ------------------------------------------------------------- building
    def _params_per_unit(self):
        return 2 if self.transform == "affine" else 3 * self.num_bins - 1

    def build(self, input_shape):
        shape = tuple(int(d) for d in input_shape[1:])
        image = len(shape) == 3
        if self.mask in ("checkerboard", "channel") and not image:
            raise ValueError(f"mask={self.mask!r} needs image inputs (H, W, C), got per-example shape {shape}.")
        if self.mask == "half" and len(shape) != 1:
            raise ValueError(f"mask='half' needs vector inputs (D,), got per-example shape {shape}.")
        units = shape[-1]
        if self.mask != "checkerboard" and units < 2:
            raise ValueError(f"mask={self.mask!r} splits the last axis, which needs size >= 2, got {units}.")
        self._split = units // 2
        if self.mask == "checkerboard":
            self._mask = checkerboard(shape[0], shape[1], self.parity)
            transformed = units
            net_in = shape[:-1] + (units + 1,)
        else:
            kept = self._split if self.parity == 0 else units - self._split
            transformed = units - kept
            net_in = shape[:-1] + (kept,)
        self._transformed = transformed
        out = transformed * self._params_per_unit()
        if image:
            self.network = _conv_network(self.hidden_units, out, name="network", num_blocks=self.num_blocks)
        else:
            self.network = _dense_network(self.hidden_units, self.num_hidden, out, name="network")
        self.network.build((None,) + net_in)
        if self.transform == "affine" and self.scale_function == "tanh":
            self.scale_bound = self.add_weight(shape=(transformed,), initializer="ones", name="scale_bound")

    # ----------------------------------------------------------------- math
    def _halves(self, x):
        first, second = x[..., : self._split], x[..., self._split :]
        return (first, second) if self.parity == 0 else (second, first)

    def _join(self, kept, changed):
        return tf.concat([kept, changed] if self.parity == 0 else [changed, kept], axis=-1)

    def _network_params(self, conditioner):
        params = tf.cast(self.network(conditioner), tf.float32)
        shape = tf.concat([tf.shape(params)[:-1], [self._transformed, self._params_per_unit()]], axis=0)
        return tf.reshape(params, shape)

    def _affine(self, params):
        shift, raw = params[..., 0], params[..., 1]
        if self.scale_function == "tanh":
            log_scale = tf.convert_to_tensor(self.scale_bound) * tf.tanh(raw)
        else:
            log_scale = tf.math.log_sigmoid(raw + 2.0)
        return shift, log_scale

    def _spline(self, params):
        bins, bound = self.num_bins, self.spline_bound
        min_size = 1e-3
        widths = min_size + (2 * bound - bins * min_size) * tf.nn.softmax(params[..., :bins], axis=-1)
        heights = min_size + (2 * bound - bins * min_size) * tf.nn.softmax(params[..., bins : 2 * bins], axis=-1)
        # softplus(offset) + min_size == 1: zero parameters give unit slopes (the identity).
        slopes = min_size + tf.nn.softplus(params[..., 2 * bins :] + math.log(math.expm1(1.0 - min_size)))
        return tfb.RationalQuadraticSpline(widths, heights, slopes, range_min=-bound)

    def _sum_per_example(self, values):
        return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)

    def forward(self, x, training=False):
        del training
        x = tf.cast(x, tf.float32)
        if self.mask == "checkerboard":
            b = tf.constant(self._mask)
            params = self._network_params(tf.concat([x * b, tf.broadcast_to(b, tf.shape(x[..., :1]))], -1))
            shift, log_scale = self._affine(params)
            log_scale = log_scale * (1.0 - b)
            z = b * x + (1.0 - b) * (x * tf.exp(log_scale) + shift)
            return z, self._sum_per_example(log_scale)
        kept, changed = self._halves(x)
        params = self._network_params(kept)
        if self.transform == "affine":
            shift, log_scale = self._affine(params)
            return self._join(kept, changed * tf.exp(log_scale) + shift), self._sum_per_example(log_scale)
        spline = self._spline(params)
        log_det = spline.forward_log_det_jacobian(changed, event_ndims=0)
        return self._join(kept, spline.forward(changed)), self._sum_per_example(log_det)

    def inverse(self, z):
        z = tf.cast(z, tf.float32)
        if self.mask == "checkerboard":
            b = tf.constant(self._mask)
            params = self._network_params(tf.concat([z * b, tf.broadcast_to(b, tf.shape(z[..., :1]))], -1))
            shift, log_scale = self._affine(params)
            return b * z + (1.0 - b) * (z - shift) * tf.exp(-log_scale)
        kept, changed = self._halves(z)
        params = self._network_params(kept)
        if self.transform == "affine":
            shift, log_scale = self._affine(params)
            return self._join(kept, (changed - shift) * tf.exp(-log_scale))
        return self._join(kept, self._spline(params).inverse(changed))
