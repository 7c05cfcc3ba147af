"""PixelRNN: autoregressive image models with two-dimensional LSTM layers.

Both variants of van den Oord et al. (2016) are implemented, on top of a 7x7
mask-A convolution and followed by mask-B 1x1 output layers, with residual
connections around every recurrent layer:

* **Row LSTM** processes the image row by row (a ``tf.scan`` over rows). The
  gates of row ``r`` are ``input_to_state(x_r) + state_to_state(h_{r-1})``:
  a masked ``1 x k`` convolution (mask B) of the layer input along the
  current row plus an unmasked ``k``-wide 1-D convolution of the previous
  row's hidden state. The receptive field is a triangle above the pixel
  (plus the pixels to its left).
* **Diagonal BiLSTM** skews the feature map (row ``r`` shifted right by
  ``r``) so that the diagonals of the image become columns, and scans them
  with a column LSTM whose state-to-state convolution is ``2 x 1`` (the
  pixel to the left and the pixel above). It runs in both directions (the
  right-to-left one on the mirrored image) and shifts the right-to-left
  output down by one row before adding it, so every pixel sees the whole
  context above it and to its left, without leaking the future. (As that
  direction only reaches rows above, it also reads the image itself, so the
  last pixel of the previous row is in the context too: with mask-A features
  alone it would be missing.)

Sampling: ``"compiled"`` recomputes the network for every sub-pixel inside
one ``tf.function``; for the Row LSTM a ``"cached"`` sampler keeps every
layer's LSTM state of the previous row and recomputes only the current row
per sub-pixel.

References:
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016 (Row LSTM, Diagonal BiLSTM, residual connections;
    binarized MNIST NLL 79.20 nats with the Diagonal BiLSTM).
"""

import tensorflow as tf
import keras

from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_non_negative_int, check_odd, check_positive_int
from kzoo.layers.masked_conv import MaskedConv2D, tap_gather_indices
from kzoo.models.autoregressive.gated_pixelcnn import shift_down
from kzoo.models.autoregressive.base import PixelModel, check_channel_groups

__all__ = ["PixelRNN"]

LAYER_TYPES = ("row_lstm", "diagonal_bilstm")


def lstm_update(gates, c_prev):
    """One LSTM cell update.

    Args:
        gates: ``(..., 4U)`` pre-activations ``[input, forget, output,
            candidate]``; masked layers producing them use
            ``output_splits=4`` so that unit ``u`` of every gate belongs to
            the same colour group.
        c_prev: previous cell state ``(..., U)``.

    Returns:
        ``(h, c)``.
    """
    i, f, o, g = tf.split(gates, 4, axis=-1)
    c = tf.sigmoid(f) * c_prev + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, c


def skew(t):
    """Shifts row ``r`` of ``(N, H, W, F)`` right by ``r``: ``(N, H, W + H - 1, F)``, zero-filled."""
    height, width, features = t.shape[1], t.shape[2], t.shape[3]
    n = tf.shape(t)[0]
    padded = tf.pad(t, [[0, 0], [0, 0], [0, height], [0, 0]])
    flat = tf.reshape(padded, tf.stack([n, height * (width + height), features]))
    flat = tf.slice(flat, [0, 0, 0], [-1, height * (width + height - 1), -1])
    return tf.reshape(flat, tf.stack([n, height, width + height - 1, features]))


def unskew(t, width):
    """Inverse of :func:`skew`: ``(N, H, W + H - 1, F)`` back to ``(N, H, W, F)``."""
    height, features = t.shape[1], t.shape[3]
    n = tf.shape(t)[0]
    flat = tf.reshape(t, tf.stack([n, height * (width + height - 1), features]))
    flat = tf.pad(flat, [[0, 0], [0, height], [0, 0]])
    return tf.slice(tf.reshape(flat, tf.stack([n, height, width + height, features])), [0, 0, 0, 0],
                    [-1, -1, width, -1])


@keras.saving.register_keras_serializable(package="kzoo")
class RowLSTM(keras.layers.Layer):
    """Row LSTM layer of PixelRNN: an LSTM over rows with convolutional gates.

    Args:
        units: LSTM units ``U`` (divisible by ``channel_groups``).
        kernel_size: odd width ``k`` of the input-to-state (masked, along the
            row) and state-to-state (previous row) convolutions.
        channel_groups: colour groups of the masks (1 for grey images).
        **kwargs: ``name``, ``dtype`` for ``keras.layers.Layer``.

    Raises:
        ValueError: bad ``units``, ``kernel_size`` or ``channel_groups``.
    """

    def __init__(self, units, kernel_size=3, channel_groups=1, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.kernel_size = check_odd(kernel_size, "kernel_size")
        self.channel_groups = check_positive_int(channel_groups, "channel_groups")
        self.input_to_state = MaskedConv2D(4 * self.units, (1, self.kernel_size), "B", self.channel_groups,
                                           output_splits=4, name="input_to_state")
        self.state_to_state = keras.layers.Conv1D(4 * self.units, self.kernel_size, padding="same",
                                                  use_bias=False, name="state_to_state")

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.state_to_state.build((None, input_shape[2], self.units))

    def initial_state(self, n, width):
        zeros = tf.zeros(tf.stack([n, width, self.units]), self.compute_dtype)
        return zeros, zeros

    def row_step(self, row_gates, state):
        """Advances one row: ``row_gates`` ``(N, W, 4U)`` from ``input_to_state``.

        Returns ``(h, c)`` of the row, each ``(N, W, U)``.
        """
        h_prev, c_prev = state
        return lstm_update(row_gates + self.state_to_state(h_prev), c_prev)

    def call(self, inputs):
        gates = self.input_to_state(inputs)
        rows = tf.transpose(gates, [1, 0, 2, 3])
        h, _ = tf.scan(lambda state, row: self.row_step(row, state), rows,
                       initializer=self.initial_state(tf.shape(inputs)[0], inputs.shape[2]))
        return tf.transpose(h, [1, 0, 2, 3])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "kernel_size": self.kernel_size, "channel_groups": self.channel_groups})
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class DiagonalBiLSTM(keras.layers.Layer):
    """Diagonal BiLSTM layer of PixelRNN.

    Each direction: a 1x1 input-to-state convolution, the skewed map scanned
    column by column with a causal ``2 x 1`` state-to-state convolution
    (state of the pixel to the left and of the pixel above), then unskewed.
    The left-to-right direction uses a mask-B input-to-state convolution.
    The right-to-left direction runs on the mirrored map, is mirrored back
    and shifted down by one row before the two are summed; as it then only
    reaches rows above, it needs no mask and may also read a ``context`` map
    that includes each pixel itself (the image): without it, the last pixel
    of row ``r - 1`` could only reach row ``r`` through features to the
    right of the pixel being predicted, and the dependency field would not
    be complete.

    Args:
        units: LSTM units ``U`` per direction (divisible by
            ``channel_groups``).
        channel_groups: colour groups of the masks.
        context_channels: channels of the ``context`` map given to ``call``
            (0 for none).
        **kwargs: ``name``, ``dtype`` for ``keras.layers.Layer``.

    Raises:
        ValueError: bad ``units``, ``channel_groups`` or
            ``context_channels``.
    """

    def __init__(self, units, channel_groups=1, context_channels=0, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.channel_groups = check_positive_int(channel_groups, "channel_groups")
        self.context_channels = check_non_negative_int(context_channels, "context_channels")
        self.input_to_state = [
            MaskedConv2D(4 * self.units, 1, "B", self.channel_groups, output_splits=4,
                         name="input_to_state_forward"),
            keras.layers.Conv2D(4 * self.units, 1, name="input_to_state_backward"),
        ]
        self.state_to_state = [keras.layers.Conv1D(4 * self.units, 2, padding="causal", use_bias=False,
                                                   name=f"state_to_state_{d}") for d in ("forward", "backward")]

    def build(self, input_shape):
        self.input_to_state[0].build(input_shape)
        self.input_to_state[1].build(tuple(input_shape[:-1]) + (input_shape[-1] + self.context_channels,))
        for layer in self.state_to_state:
            layer.build((None, input_shape[1], self.units))

    def _direction(self, gates, direction):
        width = gates.shape[2]
        columns = tf.transpose(skew(gates), [2, 0, 1, 3])
        conv = self.state_to_state[direction]
        zeros = tf.zeros(tf.stack([tf.shape(gates)[0], gates.shape[1], self.units]), self.compute_dtype)

        def step(state, column):
            h_prev, c_prev = state
            return lstm_update(column + conv(h_prev), c_prev)

        h, _ = tf.scan(step, columns, initializer=(zeros, zeros))
        return unskew(tf.transpose(h, [1, 2, 0, 3]), width)

    def call(self, inputs, context=None):
        if (context is None) != (self.context_channels == 0):
            raise ValueError(f"{self.name} was built with context_channels={self.context_channels}; pass a "
                             "context map exactly when context_channels > 0.")
        forward = self._direction(self.input_to_state[0](inputs), 0)
        backward_inputs = inputs if context is None else tf.concat([inputs, tf.cast(context, inputs.dtype)], -1)
        gates = self.input_to_state[1](tf.reverse(backward_inputs, axis=[2]))
        backward = tf.reverse(self._direction(gates, 1), axis=[2])
        return forward + shift_down(backward)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "channel_groups": self.channel_groups,
                       "context_channels": self.context_channels})
        return config


@register("pixelrnn", family="autoregressive")
class PixelRNN(PixelModel):
    """PixelRNN with Row LSTM or Diagonal BiLSTM layers.

    Architecture: a ``first_kernel_size`` mask-A convolution to ``filters``
    channels; ``num_layers`` residual recurrent layers
    ``x <- x + conv1x1(rnn(x))`` (mask B); ReLU, a mask-B 1x1 layer of
    ``head_units``, ReLU and mask-B 1x1 logits. A class-conditional model
    adds a learned class bias to the input of every recurrent layer.

    Args:
        data_shape: image shape ``(H, W, C)``.
        layer_type: ``"row_lstm"`` or ``"diagonal_bilstm"``.
        filters: channels of the residual stream (divisible by C).
        hidden_units: LSTM units of each recurrent layer (divisible by C).
        num_layers: recurrent layers.
        kernel_size: odd width of the Row LSTM convolutions (unused by the
            Diagonal BiLSTM, whose kernels are 1x1 and 2x1).
        first_kernel_size: odd kernel size of the first (mask-A) convolution.
        head_units: channels of the hidden 1x1 layer of the head.
        likelihood: ``"bernoulli"`` or ``"categorical"``.
        num_levels: levels of the categorical likelihood.
        num_classes: None, or the number of classes to condition on.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad sizes, layer type, likelihood, levels or classes.
    """

    def __init__(self, data_shape=(28, 28, 1), layer_type="row_lstm", filters=64, hidden_units=32, num_layers=2,
                 kernel_size=3, first_kernel_size=7, head_units=64, likelihood="bernoulli", num_levels=256,
                 num_classes=None, **kwargs):
        super().__init__(data_shape=data_shape, likelihood=likelihood, num_levels=num_levels,
                         num_classes=num_classes, **kwargs)
        groups = self.channels
        self.layer_type = check_choice(layer_type, "layer_type", LAYER_TYPES)
        self.filters = check_channel_groups(check_positive_int(filters, "filters"), "filters", groups)
        self.hidden_units = check_channel_groups(check_positive_int(hidden_units, "hidden_units"), "hidden_units",
                                                 groups)
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.kernel_size = check_odd(kernel_size, "kernel_size")
        self.first_kernel_size = check_odd(first_kernel_size, "first_kernel_size")
        if self.first_kernel_size == 1 and groups == 1:
            raise ValueError("first_kernel_size=1 gives a mask-A convolution that sees nothing on 1-channel "
                             "images; use 3 or more (7 in the paper).")
        self.head_units = check_channel_groups(check_positive_int(head_units, "head_units"), "head_units", groups)
        self.input_conv = MaskedConv2D(self.filters, self.first_kernel_size, "A", groups, name="input_conv")
        self.rnns, self.projections = [], []
        for l in range(self.num_layers):
            if self.layer_type == "row_lstm":
                self.rnns.append(RowLSTM(self.hidden_units, self.kernel_size, groups, name=f"row_lstm{l}"))
            else:
                self.rnns.append(DiagonalBiLSTM(self.hidden_units, groups, context_channels=groups,
                                                name=f"diagonal_bilstm{l}"))
            self.projections.append(MaskedConv2D(self.filters, 1, "B", groups, name=f"projection{l}"))
        self.head_hidden = MaskedConv2D(self.head_units, 1, "B", groups, name="head_hidden")
        self.head_out = MaskedConv2D(self.output_channels, 1, "B", groups, name="head_out")
        if self.num_classes is not None:
            self.class_bias = [keras.layers.Embedding(self.num_classes, self.filters, name=f"class_bias{l}")
                               for l in range(self.num_layers)]

    @property
    def samplers(self):
        return ("naive", "compiled", "cached") if self.layer_type == "row_lstm" else ("naive", "compiled")

    @property
    def default_sampler(self):
        return "cached" if self.layer_type == "row_lstm" else "compiled"

    def get_config(self):
        config = super().get_config()
        config.update({
            "layer_type": self.layer_type,
            "filters": self.filters,
            "hidden_units": self.hidden_units,
            "num_layers": self.num_layers,
            "kernel_size": self.kernel_size,
            "first_kernel_size": self.first_kernel_size,
            "head_units": self.head_units,
        })
        return config

    def _conditioning(self, labels):
        return self.class_biases(getattr(self, "class_bias", [None] * self.num_layers), labels)

    def _head(self, x):
        return self.head_out(tf.nn.relu(self.head_hidden(tf.nn.relu(x))))

    def network(self, inputs, labels=None, training=False):
        cond = self._conditioning(labels)
        x = self.input_conv(inputs)
        for rnn, projection, bias in zip(self.rnns, self.projections, cond):
            t = x if bias is None else x + bias[:, None, None, :]
            x = x + projection(rnn(t) if self.layer_type == "row_lstm" else rnn(t, context=inputs))
        return self._head(x)

    @tf.function
    def _cached_loop(self, n, labels, seed, temperature):
        """Row LSTM sampler that recomputes only the current row.

        Every layer's ``(h, c)`` of the previous row is kept; for each
        sub-pixel the current row is pushed through the network (the first
        convolution reads its taps from the partly sampled image), and when
        the row is complete the new states are computed from it.
        """
        if self.layer_type != "row_lstm":
            raise ValueError("The cached sampler needs layer_type='row_lstm'.")
        height, width, channels = self.data_shape
        dtype = self.compute_dtype
        cond = self._conditioning(labels)
        table = tap_gather_indices(self.input_conv.tap_offsets(), height, width)
        row_tables = tf.constant(table.reshape(height, width * table.shape[1]))
        taps = table.shape[1]
        first_kernel = self.input_conv.tap_kernel()

        def row_pass(row, image, states):
            """Logits of every pixel of ``row`` and the new per-layer states."""
            values = tf.gather(image, row_tables[row], axis=1)
            values = tf.reshape(values, (n * width, taps, channels))
            x = tf.reshape(self.input_conv.apply_taps(values, first_kernel), (n, 1, width, self.filters))
            new_states = []
            for rnn, projection, bias, state in zip(self.rnns, self.projections, cond, states):
                t = x if bias is None else x + bias[:, None, None, :]
                h, c = rnn.row_step(rnn.input_to_state(t)[:, 0], state)
                new_states.append((h, c))
                x = x + projection(h[:, None])
            return self._reshape_logits(self._head(x)[:, 0]), new_states

        def pixel_body(row, states):
            def body(col, image, samples):
                pos = row * width + col
                values = tf.zeros((n, channels), tf.float32)
                for ch in range(channels):
                    logits, _ = row_pass(row, image, states)
                    value = self._draw(logits[:, col, ch], seed, pos * channels + ch, temperature)
                    values = values + value[:, None] * tf.one_hot(ch, channels, dtype=tf.float32)[None]
                    here = tf.equal(tf.range(height * width + 1), pos)[None, :, None]
                    image = tf.where(here, self.to_network(values)[:, None, :], image)
                return col + 1, image, samples.write(pos, values)

            return body

        def row_body(row, image, samples, states):
            _, image, samples = tf.while_loop(lambda col, *_: col < width, pixel_body(row, states),
                                              [tf.constant(0), image, samples])
            _, states = row_pass(row, image, states)
            return row + 1, image, samples, states

        image = tf.zeros((n, height * width + 1, channels), dtype)
        states = [rnn.initial_state(n, width) for rnn in self.rnns]
        samples = self._zero_slot_array(n, channels, tf.float32)
        _, _, samples, _ = tf.while_loop(lambda row, *_: row < height, row_body,
                                         [tf.constant(0), image, samples, states])
        return self._finish_samples(samples, n)

