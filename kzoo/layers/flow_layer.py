"""The interface of invertible layers, and the squeeze (space-to-depth) step.

A flow layer is a Keras 3 layer with two extra methods:

* ``forward(x, training=False) -> (z, log_det)``: the data-to-noise
  direction (the one used to evaluate densities), with the per-example
  log |det dz/dx| as a float32 tensor of shape ``(N,)``;
* ``inverse(z) -> x``: the noise-to-data direction (sampling).

Flow layers keep their state in float32 (they are created with
``dtype="float32"``) whatever the global dtype policy: under
``mixed_float16`` only the networks inside a coupling run in float16, and
their outputs are cast to float32 before any log-determinant is formed.
``call`` is ``forward``.
"""

import tensorflow as tf
import keras


class FlowLayer(keras.layers.Layer):
    """Base of invertible layers (see the module docstring).

    Args:
        **kwargs: ``name`` for ``keras.layers.Layer``; the dtype is always
            float32.
    """

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def add_weight(self, *args, **kwargs):
        """``Layer.add_weight`` with ``autocast=False``: a flow's own weights are always read as float32."""
        kwargs.setdefault("autocast", False)
        return super().add_weight(*args, **kwargs)

    def forward(self, x, training=False):
        """Returns ``(z, log_det)``: the transformed batch and log |det dz/dx| per example."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward().")

    def inverse(self, z):
        """Returns ``x`` such that ``forward(x)[0] == z``."""
        raise NotImplementedError(f"{type(self).__name__} must implement inverse().")

    def output_shape_for(self, input_shape):
        """Per-example output shape for a per-example input shape (most layers keep it)."""
        return tuple(input_shape)

    def call(self, x, training=False):
        return self.forward(tf.cast(x, tf.float32), training=training)


def batch_zeros(x):
    """A float32 zero per example of ``x``: the log-det of a volume-preserving step."""
    return tf.zeros(tf.shape(x)[:1], tf.float32)


@keras.saving.register_keras_serializable(package="kzoo")
class Squeeze(FlowLayer):
    """Trades space for channels: (H, W, C) -> (H/2, W/2, 4C), volume preserving.

    Each 2x2 block of pixels becomes one pixel with four times the channels
    (``tf.nn.space_to_depth``), so that a later channel-wise coupling can
    mix neighbouring pixels (Dinh et al. 2017, section 3.6).

    Raises:
        ValueError: the input height or width is odd.
    """

    def output_shape_for(self, input_shape):
        if len(input_shape) != 3 or input_shape[0] % 2 or input_shape[1] % 2:
            raise ValueError(f"Squeeze needs an (H, W, C) input with even H and W, got {tuple(input_shape)}.")
        height, width, channels = input_shape
        return (height // 2, width // 2, 4 * channels)

    def build(self, input_shape):
        self.output_shape_for(tuple(input_shape[1:]))

    def forward(self, x, training=False):
        del training
        return tf.nn.space_to_depth(x, 2), batch_zeros(x)

    def inverse(self, z):
        return tf.nn.depth_to_space(z, 2)


@keras.saving.register_keras_serializable(package="kzoo")
class Flatten(FlowLayer):
    """Reshapes each example to a vector (volume preserving), so vector flows can model images."""

    def build(self, input_shape):
        self._shape = tuple(int(d) for d in input_shape[1:])

    def output_shape_for(self, input_shape):
        size = 1
        for d in input_shape:
            size *= int(d)
        return (size,)

    def forward(self, x, training=False):
        del training
        return tf.reshape(x, [tf.shape(x)[0], -1]), batch_zeros(x)

    def inverse(self, z):
        return tf.reshape(z, [tf.shape(z)[0]] + list(self._shape))
