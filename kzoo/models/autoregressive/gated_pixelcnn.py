"""Gated PixelCNN: vertical and horizontal stacks without a blind spot.

A plain PixelCNN's stacked masked kernels never reach part of the context
above and to the right of a pixel (the "blind spot"). The Gated PixelCNN
splits every layer into two stacks:

* the *vertical* stack convolves a ``(k//2 + 1) x k`` window of the rows
  above and the current row, so its receptive field is a full rectangle of
  rows; it never feeds back into pixels of its own row except shifted down
  by one row;
* the *horizontal* stack convolves a ``1 x (k//2 + 1)`` masked window of the
  current row (mask A in the first layer) and adds, through a 1x1
  convolution, the vertical stack's pre-activation *shifted down by one
  row* (so it only brings in rows strictly above).

Each stack uses the gated activation ``tanh(W_f * x) * sigmoid(W_g * x)``,
the horizontal stack has residual connections, and a class-conditional
model adds a learned class bias to every pre-activation (the ``V^T h`` term
of the paper with ``h`` a one-hot label).

The cached sampler computes the horizontal stack once per pixel, reading
its taps from per-layer caches, and the vertical stack once per finished
row (its row-``r`` output feeds row ``r + 1``).

References:
    van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu,
    "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016.
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016 (masked convolutions).
"""

import tensorflow as tf
import keras

from kzoo.core.registry import register
from kzoo.core.validation import check_odd, check_positive_int
from kzoo.layers.masked_conv import MaskedConv2D
from kzoo.models.autoregressive.base import PixelModel, check_channel_groups

__all__ = ["GatedPixelCNN"]


def gate(pre):
    """Gated activation ``tanh(a) * sigmoid(b)`` of a ``2F``-channel map ``[a, b]``.

    Masked layers feeding it use ``output_splits=2``, so channel ``i`` of
    ``a`` and of ``b`` belong to the same colour group.
    """
    a, b = tf.split(pre, 2, axis=-1)
    return tf.tanh(a) * tf.sigmoid(b)


def shift_down(t):
    """Shifts a feature map ``(N, H, W, F)`` down by one row (zeros enter at the top).

    Written as a roll and a row mask: both have cheap gradients (a strided
    slice's gradient is several times slower on CPU).
    """
    height = t.shape[1]
    keep = tf.reshape(tf.cast(tf.range(height) > 0, t.dtype), (1, height, 1, 1))
    return tf.roll(t, 1, axis=1) * keep


@register("gated_pixelcnn", family="autoregressive")
class GatedPixelCNN(PixelModel):
    """Gated PixelCNN with vertical and horizontal stacks (no blind spot).

    Layer ``l`` (kernel ``k = first_kernel_size`` for ``l = 0``, else
    ``kernel_size``):

    * ``v_pre = conv_{(k//2+1) x k}(v) [+ class bias]``, ``v <- gate(v_pre)``;
    * ``h_pre = masked_conv_{1 x k}(h) + conv1x1(shift_down(v_pre))
      [+ class bias]``, ``h <- h + conv1x1(gate(h_pre))`` (no residual in
      the first layer, whose input is the image).

    Then ReLU, a 1x1 layer of ``head_units``, ReLU and 1x1 logits, all with
    mask B so colour channels stay ordered. With
    ``R = first_kernel_size//2 + (L - 1)(kernel_size//2)`` after ``L``
    layers, the receptive field of pixel ``(r, c)`` is exactly every pixel
    of rows ``r - R - 1`` to ``r - 1`` within ``R`` columns of ``c`` (a full
    rectangle: no blind spot) and the ``R`` pixels to its left.

    Args:
        data_shape: image shape ``(H, W, C)``.
        filters: channels of both stacks (divisible by C).
        num_layers: gated layers.
        kernel_size: odd kernel size of layers after the first.
        first_kernel_size: odd kernel size of the first layer.
        head_units: channels of the hidden 1x1 layer of the head.
        likelihood: ``"bernoulli"`` or ``"categorical"``.
        num_levels: levels of the categorical likelihood.
        num_classes: None, or the number of classes to condition on.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad sizes, likelihood, levels or classes.
    """

    samplers = ("naive", "compiled", "cached")
    default_sampler = "cached"

    def __init__(self, data_shape=(28, 28, 1), filters=64, num_layers=8, kernel_size=3, first_kernel_size=7,
                 head_units=64, likelihood="bernoulli", num_levels=256, num_classes=None, **kwargs):
        super().__init__(data_shape=data_shape, likelihood=likelihood, num_levels=num_levels,
                         num_classes=num_classes, **kwargs)
        groups = self.channels
        self.filters = check_channel_groups(check_positive_int(filters, "filters"), "filters", groups)
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.kernel_size = check_odd(kernel_size, "kernel_size")
        self.first_kernel_size = check_odd(first_kernel_size, "first_kernel_size")
        if self.first_kernel_size == 1 and groups == 1:
            raise ValueError("first_kernel_size=1 gives a first layer that sees nothing on 1-channel images; "
                             "use 3 or more (7 in the paper).")
        self.head_units = check_channel_groups(check_positive_int(head_units, "head_units"), "head_units", groups)
        two_f = 2 * self.filters
        self.v_convs, self.links, self.h_convs, self.h_outs = [], [], [], []
        for l, k in enumerate(self.layer_kernels()):
            self.v_convs.append(keras.layers.Conv2D(two_f, (k // 2 + 1, k), padding="valid", name=f"vertical{l}"))
            self.links.append(keras.layers.Conv2D(two_f, 1, name=f"link{l}"))
            self.h_convs.append(MaskedConv2D(two_f, (1, k), "A" if l == 0 else "B", groups, output_splits=2,
                                             name=f"horizontal{l}"))
            self.h_outs.append(MaskedConv2D(self.filters, 1, "B", groups, name=f"horizontal{l}_out"))
        self.head_hidden = MaskedConv2D(self.head_units, 1, "B", groups, name="head_hidden")
        self.head_out = MaskedConv2D(self.output_channels, 1, "B", groups, name="head_out")
        if self.num_classes is not None:
            self.class_bias_v = [keras.layers.Embedding(self.num_classes, two_f, name=f"class_bias_vertical{l}")
                                 for l in range(self.num_layers)]
            self.class_bias_h = [keras.layers.Embedding(self.num_classes, two_f, name=f"class_bias_horizontal{l}")
                                 for l in range(self.num_layers)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "num_layers": self.num_layers,
            "kernel_size": self.kernel_size,
            "first_kernel_size": self.first_kernel_size,
            "head_units": self.head_units,
        })
        return config

    def layer_kernels(self):
        """Kernel size of each gated layer."""
        return [self.first_kernel_size] + [self.kernel_size] * (self.num_layers - 1)

    def _conditioning(self, labels):
        unconditioned = [None] * self.num_layers
        return (self.class_biases(getattr(self, "class_bias_v", unconditioned), labels),
                self.class_biases(getattr(self, "class_bias_h", unconditioned), labels))

    @staticmethod
    def _pad_vertical(v, k):
        return tf.pad(v, [[0, 0], [k // 2, 0], [k // 2, k // 2], [0, 0]])

    def _head(self, h):
        return self.head_out(tf.nn.relu(self.head_hidden(tf.nn.relu(h))))

    def network(self, inputs, labels=None, training=False):
        cond_v, cond_h = self._conditioning(labels)
        v = h = inputs
        for l, k in enumerate(self.layer_kernels()):
            v_pre = self.v_convs[l](self._pad_vertical(v, k))
            if cond_v[l] is not None:
                v_pre = v_pre + cond_v[l][:, None, None, :]
            h_pre = self.h_convs[l](h) + self.links[l](shift_down(v_pre))
            if cond_h[l] is not None:
                h_pre = h_pre + cond_h[l][:, None, None, :]
            out = self.h_outs[l](gate(h_pre))
            h = out if l == 0 else h + out
            v = gate(v_pre)
        return self._head(h)

    @tf.function
    def _cached_loop(self, n, labels, seed, temperature):
        """Row/pixel-incremental sampler.

        Within a row, each horizontal layer is evaluated at the new pixel
        only, from cached inputs at the pixels to its left. When a row is
        complete, the vertical stack is evaluated on that row only (from
        cached rows above) and its shifted, linked pre-activations are kept
        for the next row.
        """
        height, width, channels = self.data_shape
        dtype = self.compute_dtype
        kernels_of_layers = self.layer_kernels()
        pad = max(kernels_of_layers) // 2
        cond_v, cond_h = self._conditioning(labels)
        tables = [self._tap_table(layer) for layer in self.h_convs]
        tap_kernels = {id(layer): layer.tap_kernel()
                       for layer in self.h_convs + self.h_outs + [self.head_hidden, self.head_out]}
        in_features = [channels] + [self.filters] * (self.num_layers - 1)

        def point(layer, value):
            return layer.apply_taps(value[:, None, :], tap_kernels[id(layer)])

        def chain(pos, col, current, h_caches, links):
            h = current
            inputs = []
            for l in range(self.num_layers):
                inputs.append(h)
                taps = self._taps(self.h_convs[l], h_caches[l], tables[l], pos, h)
                pre = self.h_convs[l].apply_taps(taps, tap_kernels[id(self.h_convs[l])]) + links[l][:, col]
                if cond_h[l] is not None:
                    pre = pre + cond_h[l]
                out = point(self.h_outs[l], gate(pre))
                h = out if l == 0 else h + out
            logits = point(self.head_out, tf.nn.relu(point(self.head_hidden, tf.nn.relu(h))))
            return self._reshape_logits(logits), inputs

        def pixel_step(row, links):
            def body(col, h_caches, samples):
                pos = row * width + col
                current = tf.zeros((n, channels), dtype)
                values = tf.zeros((n, channels), tf.float32)
                for ch in range(channels):
                    logits, inputs = chain(pos, col, current, h_caches, links)
                    value = self._draw(logits[:, ch], seed, pos * channels + ch, temperature)
                    values = values + value[:, None] * tf.one_hot(ch, channels, dtype=tf.float32)[None]
                    current = self.to_network(values)
                inputs[0] = current
                h_caches = [cache.write(pos, value) for cache, value in zip(h_caches, inputs)]
                return col + 1, h_caches, samples.write(pos, values)

            return body

        def vertical_step(row, v_caches, h_caches):
            """Vertical stack on the finished ``row``; returns the links for ``row + 1``."""
            image_row = tf.transpose(h_caches[0].gather(row * width + tf.range(width)), [1, 0, 2])
            v_caches[0] = v_caches[0].write(row + pad, image_row)
            links = []
            for l, k in enumerate(kernels_of_layers):
                window = v_caches[l].gather(row + pad - k // 2 + tf.range(k // 2 + 1))
                window = tf.pad(tf.transpose(window, [1, 0, 2, 3]), [[0, 0], [0, 0], [k // 2, k // 2], [0, 0]])
                v_pre = self.v_convs[l](window)
                if cond_v[l] is not None:
                    v_pre = v_pre + cond_v[l][:, None, None, :]
                links.append(self.links[l](v_pre)[:, 0])
                if l + 1 < self.num_layers:
                    v_caches[l + 1] = v_caches[l + 1].write(row + pad, gate(v_pre)[:, 0])
            return v_caches, links

        def row_body(row, v_caches, h_caches, samples, links):
            _, h_caches, samples = tf.while_loop(lambda col, *_: col < width, pixel_step(row, links),
                                                 [tf.constant(0), h_caches, samples])
            v_caches, links = vertical_step(row, v_caches, h_caches)
            return row + 1, v_caches, h_caches, samples, links

        v_caches = []
        for features in in_features:
            cache = tf.TensorArray(dtype, size=height + pad, element_shape=(n, width, features),
                                   clear_after_read=False)
            for r in range(pad):
                cache = cache.write(r, tf.zeros((n, width, features), dtype))
            v_caches.append(cache)
        h_caches = [self._zero_slot_array(n, features) for features in in_features]
        samples = self._zero_slot_array(n, channels, tf.float32)
        links = [layer(tf.zeros((n, 1, width, 2 * self.filters), dtype))[:, 0] for layer in self.links]
        _, _, _, samples, _ = tf.while_loop(lambda row, *_: row < height, row_body,
                                            [tf.constant(0), v_caches, h_caches, samples, links])
        return self._finish_samples(samples, n)
