"""Dense layers with autoregressive connectivity masks built from degrees.

A masked dense layer multiplies its kernel by a 0/1 matrix so that output
unit ``d`` only sees the inputs it is allowed to depend on. Every
autoregressive mask of a dense network can be written with *degrees*
(Germain et al. 2015): each input unit ``k`` gets an integer degree
``m_in(k)``, each output unit ``d`` a degree ``m_out(d)``, and the connection
``k -> d`` is kept when

* ``m_out(d) >= m_in(k)`` (hidden layers, ``strict=False``), or
* ``m_out(d) > m_in(k)`` (output layers and direct connections,
  ``strict=True``), so that output ``d`` depends only on inputs that come
  strictly before it in the ordering.

With ``m_in = m_out = 0, 1, ..., D - 1`` and ``strict=True`` the mask is the
strictly lower-triangular matrix of a fully visible sigmoid belief net.

The degrees (not the masks) are stored as non-trainable int32 weights, so a
saved layer reloads with exactly the same connectivity, at a cost of
``in + out`` integers per mask instead of ``in * out`` floats. A layer can hold
several alternative degree assignments (``num_masks``), selected per call with
``mask_index``, which is how MADE trains one network under many orderings.

References:
    Germain, Gregor, Murray & Larochelle, "MADE: Masked Autoencoder for
    Distribution Estimation", ICML 2015.
    Neal, "Connectionist learning of belief networks", Artificial
    Intelligence 1992 (the fully visible sigmoid belief net).
"""

import numpy as np
import keras
from keras import ops

from kzoo.core.validation import check_positive_int


def connectivity_mask(input_degrees, output_degrees, strict=False):
    """The 0/1 connectivity matrix given by unit degrees.

    Args:
        input_degrees: int array of shape ``(in,)``.
        output_degrees: int array of shape ``(out,)``.
        strict: keep ``k -> d`` only when ``output_degrees[d] >
            input_degrees[k]`` (else ``>=``).

    Returns:
        float32 numpy array of shape ``(in, out)``; entry ``[k, d]`` is 1 when
        input ``k`` feeds output ``d``.
    """
    m_in = np.asarray(input_degrees).reshape(-1, 1)
    m_out = np.asarray(output_degrees).reshape(1, -1)
    kept = m_out > m_in if strict else m_out >= m_in
    return kept.astype(np.float32)


def _as_degree_table(degrees, num_masks, size, what):
    table = np.asarray(degrees)
    if not np.issubdtype(table.dtype, np.integer):
        if table.size and not np.all(np.equal(np.mod(table, 1), 0)):
            raise ValueError(f"{what} must be integers, got values such as {table.ravel()[:4].tolist()}.")
        table = table.astype(np.int64)
    if table.ndim == 1:
        table = np.broadcast_to(table, (num_masks,) + table.shape)
    if table.shape != (num_masks, size):
        raise ValueError(
            f"{what} must have shape ({size},) or ({num_masks}, {size}), got {np.asarray(degrees).shape}."
        )
    if table.size and (table.min() < np.iinfo(np.int32).min or table.max() > np.iinfo(np.int32).max):
        raise ValueError(f"{what} must fit in int32, got values in [{table.min()}, {table.max()}].")
    return table.astype(np.int32)


@keras.saving.register_keras_serializable(package="kzoo")
class MaskedDense(keras.layers.Layer):
    """A dense layer whose kernel is masked by degree-based connectivity.

    ``outputs = activation(inputs @ (kernel * M) + bias)`` where ``M`` is
    :func:`connectivity_mask` of the degrees of mask ``mask_index``. Until
    :meth:`set_degrees` is called every degree is 0, so a ``strict=False``
    layer is fully connected and a ``strict=True`` layer has no connections
    (only its bias).

    Args:
        units: number of output units.
        num_masks: number of alternative degree assignments held.
        strict: ``True`` for output layers and direct input-to-output
            connections (``>``); ``False`` for hidden layers (``>=``).
        activation: Keras activation name or callable.
        use_bias: add a bias vector.
        kernel_initializer: initializer of the kernel.
        bias_initializer: initializer of the bias.
        **kwargs: ``name`` / ``dtype`` for ``keras.layers.Layer``.

    Raises:
        ValueError: ``units`` or ``num_masks`` is not a positive int.
    """

    def __init__(self, units, num_masks=1, strict=False, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.num_masks = check_positive_int(num_masks, "num_masks")
        self.strict = bool(strict)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"MaskedDense needs a known last input dimension, got input shape {input_shape}.")
        in_dim = int(in_dim)
        self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      name="kernel")
        self.bias = (self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
                     if self.use_bias else None)
        self.input_degrees = self.add_weight(shape=(self.num_masks, in_dim), initializer="zeros", dtype="int32",
                                             trainable=False, name="input_degrees")
        self.output_degrees = self.add_weight(shape=(self.num_masks, self.units), initializer="zeros",
                                              dtype="int32", trainable=False, name="output_degrees")

    @property
    def input_dim(self):
        """Number of input units (known once built)."""
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet: call it or build() it first.")
        return int(self.kernel.shape[0])

    def set_degrees(self, input_degrees, output_degrees):
        """Sets the degrees of every mask.

        Args:
            input_degrees: ints of shape ``(in,)`` (the same for every mask)
                or ``(num_masks, in)``.
            output_degrees: ints of shape ``(units,)`` or
                ``(num_masks, units)``.

        Raises:
            ValueError: the layer is not built, or the arrays have the wrong
                shape or non-integer values.
        """
        inputs = _as_degree_table(input_degrees, self.num_masks, self.input_dim, "input_degrees")
        outputs = _as_degree_table(output_degrees, self.num_masks, self.units, "output_degrees")
        self.input_degrees.assign(inputs)
        self.output_degrees.assign(outputs)

    def _check_index(self, mask_index):
        if isinstance(mask_index, (int, np.integer)) and not isinstance(mask_index, bool):
            if not 0 <= mask_index < self.num_masks:
                raise ValueError(f"mask_index must be in [0, {self.num_masks}), got {mask_index}.")

    def connectivity(self, mask_index=0):
        """The 0/1 connectivity matrix (float32 tensor ``(in, units)``) of one mask."""
        self._check_index(mask_index)
        m_in = ops.take(self.input_degrees, mask_index, axis=0)
        m_out = ops.take(self.output_degrees, mask_index, axis=0)
        kept = ops.greater(m_out[None, :], m_in[:, None]) if self.strict else \
            ops.greater_equal(m_out[None, :], m_in[:, None])
        return ops.cast(kept, "float32")

    def masked_kernel(self, mask_index=0):
        """The kernel times the connectivity of mask ``mask_index`` (zeros where a connection is cut)."""
        kernel = self.kernel
        return kernel * ops.cast(self.connectivity(mask_index), kernel.dtype)

    def connected_parameter_count(self):
        """Kernel entries kept by at least one mask, plus the bias.

        Entries that every mask removes never affect the output nor receive
        a gradient, so this is the number of parameters the layer really has.
        """
        kept = np.zeros((self.input_dim, self.units), dtype=bool)
        m_in = np.asarray(self.input_degrees)
        m_out = np.asarray(self.output_degrees)
        for index in range(self.num_masks):
            kept |= connectivity_mask(m_in[index], m_out[index], self.strict).astype(bool)
        return int(kept.sum()) + (self.units if self.use_bias else 0)

    def call(self, inputs, mask_index=0):
        """Applies the layer with the connectivity of mask ``mask_index``.

        Args:
            inputs: tensor of shape ``(..., in)``.
            mask_index: int or scalar int tensor in ``[0, num_masks)``.
        """
        outputs = ops.matmul(inputs, self.masked_kernel(mask_index))
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "num_masks": self.num_masks,
            "strict": self.strict,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
