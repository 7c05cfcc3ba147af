"""Masked 2-D convolutions: causal convolutions over the raster order of pixels.

A masked convolution zeroes the kernel entries that would let an output pixel
see input pixels that come after it in raster order (row by row, left to
right), so a stack of them models ``p(x_i | x_<i)`` for every pixel in one
pass (van den Oord et al. 2016):

* mask ``"A"`` (first layer) also removes the centre tap: output ``i`` depends
  on input pixels ``j < i`` only;
* mask ``"B"`` (later layers) keeps the centre tap: output ``i`` depends on
  feature pixels ``j <= i``, which after a mask-A layer still carry
  information from input pixels ``j < i`` only.

With ``channel_groups = G > 1`` the channels of every feature map are split
into ``G`` contiguous groups (R, G, B for colour images) and the centre tap is
masked between groups as well: at the centre, output group ``g`` sees input
groups ``< g`` (mask A) or ``<= g`` (mask B), so each colour channel is
conditioned on the channels before it at the same pixel. A layer whose
output is cut into ``output_splits`` equal parts (the two halves of a gated
activation, the four gates of an LSTM) groups the channels of each part
separately, so that elementwise products of the parts stay within a group.

Besides the full-image ``call``, :class:`MaskedConv2D` exposes the kernel as
a list of *taps* (the kernel positions the mask keeps) so that a sampler can
evaluate the convolution at a single pixel from cached activations, and
:func:`tap_gather_indices` maps each pixel to the flat positions of its taps.

References:
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016 (masks A and B, channel masking).
    van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu,
    "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016.
"""

import numpy as np
import keras
from keras import ops

from kzoo.core.validation import check_choice, check_positive_int

MASK_TYPES = ("A", "B")


def _kernel_pair(kernel_size):
    if isinstance(kernel_size, (int, np.integer)) and not isinstance(kernel_size, bool):
        pair = (kernel_size, kernel_size)
    else:
        try:
            pair = tuple(kernel_size)
        except TypeError:
            pair = ()
    if len(pair) != 2 or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or k % 2 == 0
                             for k in pair):
        raise ValueError(f"kernel_size must be an odd positive int or a pair of them, got {kernel_size!r}.")
    return int(pair[0]), int(pair[1])


def channel_groups_of(channels, groups):
    """Group index of each of ``channels`` channels split into ``groups`` contiguous blocks.

    Args:
        channels: number of channels.
        groups: number of groups; must divide ``channels``.

    Returns:
        int numpy array of shape ``(channels,)``.

    Raises:
        ValueError: ``groups`` does not divide ``channels``.
    """
    if channels % groups:
        raise ValueError(f"{channels} channels cannot be split into {groups} equal channel groups: "
                         f"use a channel count divisible by {groups}.")
    return np.arange(channels) * groups // channels


def causal_mask(kernel_size, in_channels, out_channels, mask_type="B", channel_groups=1, output_splits=1):
    """The 0/1 mask of a causal (raster-order) convolution kernel.

    Args:
        kernel_size: odd int or pair of odd ints ``(kh, kw)``.
        in_channels: input channels.
        out_channels: output channels.
        mask_type: ``"A"`` (centre tap excluded) or ``"B"`` (included).
        channel_groups: number of channel groups masked at the centre tap.
        output_splits: the output channels form this many equal parts, each
            split into ``channel_groups`` groups on its own.

    Returns:
        float32 numpy array of shape ``(kh, kw, in_channels, out_channels)``.

    Raises:
        ValueError: bad kernel size, mask type, or channel counts not
            divisible by ``channel_groups`` (times ``output_splits``).
    """
    kh, kw = _kernel_pair(kernel_size)
    check_choice(mask_type, "mask_type", MASK_TYPES)
    groups = check_positive_int(channel_groups, "channel_groups")
    splits = check_positive_int(output_splits, "output_splits")
    if out_channels % splits:
        raise ValueError(f"{out_channels} output channels cannot be cut into output_splits={splits} equal parts.")
    mask = np.zeros((kh, kw, in_channels, out_channels), np.float32)
    cy, cx = kh // 2, kw // 2
    mask[:cy] = 1.0
    mask[cy, :cx] = 1.0
    g_in = channel_groups_of(in_channels, groups)[:, None]
    g_out = np.tile(channel_groups_of(out_channels // splits, groups), splits)[None, :]
    mask[cy, cx] = (g_in < g_out) if mask_type == "A" else (g_in <= g_out)
    return mask


def tap_gather_indices(offsets, height, width):
    """Flat pixel index of every tap of every pixel of an image.

    Args:
        offsets: int array ``(P, 2)`` of ``(dy, dx)`` tap offsets.
        height: image height.
        width: image width.

    Returns:
        int32 numpy array of shape ``(height * width, P)``: entry ``[i, p]``
        is ``y * width + x`` of the pixel tap ``p`` of pixel ``i`` reads, or
        ``height * width`` (a slot holding zeros, the convolution's padding)
        when that pixel lies outside the image.
    """
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    rows, cols = np.divmod(np.arange(height * width), width)
    y = rows[:, None] + offsets[None, :, 0]
    x = cols[:, None] + offsets[None, :, 1]
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    return np.where(inside, y * width + x, height * width).astype(np.int32)


@keras.saving.register_keras_serializable(package="kzoo")
class MaskedConv2D(keras.layers.Layer):
    """2-D convolution whose kernel is masked to respect the raster order.

    Stride 1 and ``"same"`` zero padding, so the output has the spatial size
    of the input. The mask is a constant built in :meth:`build` (not a
    weight); masked kernel entries never affect the output nor receive a
    gradient.

    Args:
        filters: output channels.
        kernel_size: odd int or pair of odd ints ``(kh, kw)``.
        mask_type: ``"A"`` (the centre tap is excluded: use on the image
            itself) or ``"B"`` (included: use on features).
        channel_groups: split channels into this many groups, masked at the
            centre tap (1 for grey images, 3 for RGB). Input and output
            channel counts must be divisible by it.
        output_splits: the outputs form this many equal parts (e.g. 2 for
            the two halves of a gated activation), each grouped on its own;
            ``filters / output_splits`` must be divisible by
            ``channel_groups``.
        use_bias: add a bias.
        kernel_initializer: initializer of the kernel.
        bias_initializer: initializer of the bias.
        **kwargs: ``name``, ``dtype`` ... for ``keras.layers.Layer``.

    Raises:
        ValueError: bad ``filters``, ``kernel_size``, ``mask_type`` or
            ``channel_groups``, a channel count not divisible by
            ``channel_groups``, or a mask that connects nothing (a 1x1 mask-A
            kernel with one channel group).
    """

    def __init__(self, filters, kernel_size, mask_type="B", channel_groups=1, output_splits=1, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = _kernel_pair(kernel_size)
        self.mask_type = check_choice(mask_type, "mask_type", MASK_TYPES)
        self.channel_groups = check_positive_int(channel_groups, "channel_groups")
        self.output_splits = check_positive_int(output_splits, "output_splits")
        if self.filters % self.output_splits:
            raise ValueError(f"filters={self.filters} cannot be cut into output_splits={self.output_splits} "
                             "equal parts.")
        if self.channel_groups > 1:
            channel_groups_of(self.filters // self.output_splits, self.channel_groups)
        if self.kernel_size == (1, 1) and self.mask_type == "A" and self.channel_groups == 1:
            raise ValueError("A 1x1 mask-A convolution with channel_groups=1 connects nothing: use mask 'B', a "
                             "larger kernel, or several channel groups.")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.mask = None

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError("MaskedConv2D needs a known number of input channels, got input shape "
                             f"{tuple(input_shape)}.")
        in_channels = int(in_channels)
        self.mask = causal_mask(self.kernel_size, in_channels, self.filters, self.mask_type, self.channel_groups,
                                self.output_splits)
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (in_channels, self.filters),
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
                     if self.use_bias else None)

    def masked_kernel(self):
        """The kernel times its mask, in the compute dtype."""
        return ops.cast(self.kernel, self.compute_dtype) * ops.cast(self.mask, self.compute_dtype)

    def call(self, inputs):
        outputs = ops.conv(ops.cast(inputs, self.compute_dtype), self.masked_kernel(), strides=1, padding="same")
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    # ------------------------------------------------------------ taps
    def tap_offsets(self):
        """``(dy, dx)`` offsets, in raster order, of the kernel positions the mask keeps.

        The centre ``(0, 0)``, when kept, is always the last tap.

        Returns:
            int32 numpy array of shape ``(P, 2)``.
        """
        self._require_built()
        kh, kw = self.kernel_size
        keep = self.mask.reshape(kh, kw, -1).any(axis=-1)
        ys, xs = np.nonzero(keep)
        return np.stack([ys - kh // 2, xs - kw // 2], axis=1).astype(np.int32)

    def has_centre_tap(self):
        """Whether the mask keeps any centre connection."""
        offsets = self.tap_offsets()
        return bool(len(offsets)) and tuple(offsets[-1]) == (0, 0)

    def tap_kernel(self):
        """The masked kernel at the kept taps, flattened for one matmul.

        Returns:
            tensor of shape ``(P * in_channels, filters)`` in the compute
            dtype, rows ordered as ``tap_offsets()`` then input channel.
        """
        self._require_built()
        kh, kw = self.kernel_size
        offsets = self.tap_offsets()
        flat = ops.reshape(self.masked_kernel(), (kh * kw, -1, self.filters))
        index = (offsets[:, 0] + kh // 2) * kw + offsets[:, 1] + kw // 2
        return ops.reshape(ops.take(flat, index, axis=0), (-1, self.filters))

    def apply_taps(self, values, kernel=None):
        """The convolution's output at one pixel from the values at its taps.

        Args:
            values: tensor ``(N, P, in_channels)``: the layer's input at the
                pixels ``tap_offsets()`` points to (zeros outside the image).
            kernel: optional precomputed :meth:`tap_kernel` (a sampler hoists
                it out of its loop).

        Returns:
            tensor ``(N, filters)``, equal to ``call`` at that pixel.
        """
        kernel = self.tap_kernel() if kernel is None else kernel
        flat = ops.reshape(values, (ops.shape(values)[0], -1))
        outputs = ops.matmul(ops.cast(flat, kernel.dtype), kernel)
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, kernel.dtype)
        return outputs

    def _require_built(self):
        if self.mask is None:
            raise ValueError(f"{self.name} is not built yet: call it on a batch first.")

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "mask_type": self.mask_type,
            "channel_groups": self.channel_groups,
            "output_splits": self.output_splits,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
