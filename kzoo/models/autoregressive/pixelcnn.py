"""PixelCNN: an autoregressive image model built from masked convolutions.

The image is factorized in raster order (row by row, left to right, then
channel by channel within a pixel),

    log p(x) = sum_i log p(x_i | x_<i),

and a stack of masked convolutions gives the logits of every conditional in
one pass: a 7x7 mask-A convolution (which cannot see the pixel it predicts),
residual blocks of mask-B convolutions, and a 1x1 output head. Training and
``log_prob`` are therefore as fast as a convnet; sampling needs one network
evaluation per pixel.

:class:`~kzoo.models.autoregressive.base.PixelModel`, the base the PixelCNN,
Gated PixelCNN and PixelRNN models share, holds the output distributions
(TFP ``Bernoulli`` for binarized data, a ``num_levels``-way ``Categorical``
for 8-bit data), class conditioning, ``log_prob`` and the samplers.

Sampling (``generate(n, seed, sampler=...)``):

* ``"naive"``: a Python loop with one ``model.predict`` of the whole image
  per sub-pixel, the reference implementation;
* ``"compiled"``: the same full recomputation, but the loop over pixels runs
  inside one compiled ``tf.function`` (``tf.while_loop``);
* ``"cached"`` (model-specific): one compiled loop that evaluates the network
  only where the new pixel matters. For PixelCNN every layer's activation at
  a pixel is computed exactly once, when that pixel is reached: the masked
  convolutions read their causal taps from per-layer caches
  (``tf.TensorArray``) of the activations computed at earlier pixels, so a
  whole image costs about one forward pass of work.

All samplers draw pixel ``t`` with the stateless seed
``fold_in(seed, t)``, so they return exactly the same images for the same
seed (up to floating-point rounding of the logits, which flips a sample only
when a uniform draw falls within ~1e-7 of a pixel's probability).

References:
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016 (PixelCNN, masks A/B, residual blocks; binarized
    MNIST NLL 81.30 nats).
    van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu,
    "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016
    (class-conditional PixelCNN).
    Ramachandran, Paine, Khorrami, Babaeizadeh, Chang, Zhang,
    Hasegawa-Johnson, Campbell & Huang, "Fast Generation for Convolutional
    Autoregressive Models", ICLR 2017 workshop (caching activations to
    sample without recomputation).
"""

import tensorflow as tf
import keras

from kzoo.core.registry import register
from kzoo.core.validation import check_non_negative_int, check_odd, check_positive_int
from kzoo.layers.masked_conv import MaskedConv2D
from kzoo.models.autoregressive.base import PixelModel, check_channel_groups

__all__ = ["PixelCNN"]


@register("pixelcnn", family="autoregressive")
class PixelCNN(PixelModel):
    """PixelCNN with mask-B residual blocks and an optional class conditioning.

    Architecture (van den Oord et al. 2016, Table 1): a ``first_kernel_size``
    mask-A convolution to ``filters`` channels; ``num_blocks`` residual
    blocks ``h + conv1x1(relu(conv_kxk(relu(conv1x1(relu(h))))))`` whose
    inner convolutions have ``filters / 2`` channels and mask B; then ReLU,
    a mask-B 1x1 convolution to ``head_units``, ReLU and a mask-B 1x1
    convolution to the logits. A class-conditional model adds a learned
    per-class bias after the first convolution and inside every block.
    Colour images use channel-group masks (R before G before B).

    Args:
        data_shape: image shape ``(H, W, C)``.
        filters: channels of the residual stream (even; ``filters / 2``
            divisible by C).
        num_blocks: residual blocks.
        kernel_size: odd kernel size of the blocks' masked convolutions.
        first_kernel_size: odd kernel size of the first (mask-A) convolution.
        head_units: channels of the hidden 1x1 layer of the output head.
        likelihood: ``"bernoulli"`` or ``"categorical"``.
        num_levels: levels of the categorical likelihood.
        num_classes: None, or the number of classes to condition on.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad sizes, likelihood, levels or classes.
    """

    samplers = ("naive", "compiled", "cached")
    default_sampler = "cached"

    def __init__(self, data_shape=(28, 28, 1), filters=64, num_blocks=7, kernel_size=3, first_kernel_size=7,
                 head_units=64, likelihood="bernoulli", num_levels=256, num_classes=None, **kwargs):
        super().__init__(data_shape=data_shape, likelihood=likelihood, num_levels=num_levels,
                         num_classes=num_classes, **kwargs)
        groups = self.channels
        self.filters = check_positive_int(filters, "filters")
        if self.filters % 2:
            raise ValueError(f"filters must be even (the blocks use filters / 2 channels), got {filters!r}.")
        check_channel_groups(self.filters // 2, "filters / 2", groups)
        self.num_blocks = check_non_negative_int(num_blocks, "num_blocks")
        self.kernel_size = check_odd(kernel_size, "kernel_size")
        self.first_kernel_size = check_odd(first_kernel_size, "first_kernel_size")
        if self.first_kernel_size == 1 and groups == 1:
            raise ValueError("first_kernel_size=1 gives a mask-A convolution that sees nothing on 1-channel "
                             "images; use 3 or more (7 in the paper).")
        self.head_units = check_channel_groups(check_positive_int(head_units, "head_units"), "head_units", groups)
        half = self.filters // 2
        self.input_conv = MaskedConv2D(self.filters, self.first_kernel_size, "A", groups, name="input_conv")
        self.blocks = []
        for b in range(self.num_blocks):
            self.blocks.append([
                MaskedConv2D(half, 1, "B", groups, name=f"block{b}_reduce"),
                MaskedConv2D(half, self.kernel_size, "B", groups, name=f"block{b}_conv"),
                MaskedConv2D(self.filters, 1, "B", groups, name=f"block{b}_expand"),
            ])
        self.head_hidden = MaskedConv2D(self.head_units, 1, "B", groups, name="head_hidden")
        self.head_out = MaskedConv2D(self.output_channels, 1, "B", groups, name="head_out")
        if self.num_classes is not None:
            self.class_bias = [keras.layers.Embedding(self.num_classes, self.filters, name="class_bias_input")]
            self.class_bias += [keras.layers.Embedding(self.num_classes, half, name=f"class_bias_block{b}")
                                for b in range(self.num_blocks)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "num_blocks": self.num_blocks,
            "kernel_size": self.kernel_size,
            "first_kernel_size": self.first_kernel_size,
            "head_units": self.head_units,
        })
        return config

    def _conditioning(self, labels):
        return self.class_biases(getattr(self, "class_bias", [None] * (self.num_blocks + 1)), labels)

    def network(self, inputs, labels=None, training=False):
        cond = self._conditioning(labels)
        h = self.input_conv(inputs)
        if cond[0] is not None:
            h = h + cond[0][:, None, None, :]
        for (reduce, conv, expand), bias in zip(self.blocks, cond[1:]):
            t = tf.nn.relu(reduce(tf.nn.relu(h)))
            t = conv(t)
            if bias is not None:
                t = t + bias[:, None, None, :]
            h = h + expand(tf.nn.relu(t))
        return self.head_out(tf.nn.relu(self.head_hidden(tf.nn.relu(h))))

    @tf.function
    def _cached_loop(self, n, labels, seed, temperature):
        """Incremental sampler: every layer's activation at a pixel is computed once.

        Pixel ``pos`` is reached when all its causal taps are final, so the
        masked convolutions are evaluated there only, reading their other
        taps from per-layer ``TensorArray`` caches of the activations of
        earlier pixels (the image's network inputs, and the input of every
        block's k x k convolution). 1x1 layers need no cache.
        """
        height, width, channels = self.data_shape
        dtype = self.compute_dtype
        cond = self._conditioning(labels)
        spatial = [self.input_conv] + [block[1] for block in self.blocks]
        tables = [self._tap_table(layer) for layer in spatial]
        kernels = {id(layer): layer.tap_kernel() for layer in self._masked_layers()}
        half = self.filters // 2

        def point(layer, value):
            return layer.apply_taps(value[:, None, :], kernels[id(layer)])

        def chain(pos, current, caches):
            """Logits at ``pos`` and the block-conv inputs there, given the current pixel."""
            taps = self._taps(self.input_conv, caches[0], tables[0], pos, current)
            h = self.input_conv.apply_taps(taps, kernels[id(self.input_conv)])
            if cond[0] is not None:
                h = h + cond[0]
            block_inputs = []
            for b, (reduce, conv, expand) in enumerate(self.blocks):
                t = tf.nn.relu(point(reduce, tf.nn.relu(h)))
                block_inputs.append(t)
                t = conv.apply_taps(self._taps(conv, caches[b + 1], tables[b + 1], pos, t), kernels[id(conv)])
                if cond[b + 1] is not None:
                    t = t + cond[b + 1]
                h = h + point(expand, tf.nn.relu(t))
            out = point(self.head_out, tf.nn.relu(point(self.head_hidden, tf.nn.relu(h))))
            return self._reshape_logits(out), block_inputs

        def body(pos, caches, samples):
            current = tf.zeros((n, channels), dtype)
            values = tf.zeros((n, channels), tf.float32)
            for ch in range(channels):
                logits, block_inputs = chain(pos, current, caches)
                value = self._draw(logits[:, ch], seed, pos * channels + ch, temperature)
                hot = tf.one_hot(ch, channels, dtype=tf.float32)[None]
                values = values + value[:, None] * hot
                current = self.to_network(values)
            caches = [caches[0].write(pos, current)] + [c.write(pos, v) for c, v in zip(caches[1:], block_inputs)]
            return pos + 1, caches, samples.write(pos, values)

        caches = [self._zero_slot_array(n, channels)] + [self._zero_slot_array(n, half) for _ in self.blocks]
        samples = self._zero_slot_array(n, channels, tf.float32)
        _, _, samples = tf.while_loop(lambda pos, *_: pos < height * width, body,
                                      [tf.constant(0), caches, samples])
        return self._finish_samples(samples, n)

    def _masked_layers(self):
        layers = [self.input_conv, self.head_hidden, self.head_out]
        for block in self.blocks:
            layers.extend(block)
        return layers
