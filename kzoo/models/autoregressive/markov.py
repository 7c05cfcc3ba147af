"""Markov (AR(k)) pixel models: the chain rule with a short memory.

The chain rule ``p(x) = prod_i p(x_i | x_<i)`` is exact for any
distribution, but with a table per conditional it needs ``2**(i)`` numbers
for pixel ``i``, ``2**D - 1`` in all. The Markov assumption of order ``k``
keeps only the ``k`` previous pixels in raster order,

    p(x) = prod_i p(x_i | x_{i-k}, ..., x_{i-1}),

and the cost falls to ``2**k`` per pixel. Parameter counts for ``D = 784``
binary pixels (the free entries of the conditional probability tables,
:func:`chain_rule_parameter_count`):

=========================  ===========================================
model                      parameters
=========================  ===========================================
independent pixels         784
AR(1), tables              1 + 783 * 2 = 1,567
AR(3), tables              7 + 781 * 8 = 6,255
AR(8), tables              255 + 776 * 256 = 198,911
AR(k), logistic            784 + sum_i min(i, k)  (AR(8): 7,020)
FVSBN (logistic, k = D-1)  784 * 783 / 2 + 784 = 307,720
full chain rule, tables    2**784 - 1 (about 1.0e236)
=========================  ===========================================

Raster order is a poor neighbourhood for images (the pixel above is ``W``
steps back), which is why the convolutional models (PixelCNN) and the
fully-connected ones (FVSBN, NADE, MADE) do much better at similar cost.

References:
    Bengio & Bengio, "Modeling High-Dimensional Discrete Data with
    Multi-Layer Neural Networks", NIPS 2000 (the chain rule as a
    parameterization of high-dimensional discrete distributions).
    Frey, "Graphical Models for Machine Learning and Digital
    Communication", MIT Press 1998.
"""

import tensorflow as tf

from kzoo.core.registry import register
from kzoo.core.validation import check_bool, check_choice, check_number
from kzoo.models.autoregressive.base import VectorAutoregressiveModel

__all__ = ["MarkovAR", "chain_rule_parameter_count"]

CONDITIONALS = ("table", "logistic")
#: largest table (rows x contexts) a tabular Markov model may allocate.
MAX_TABLE_ENTRIES = 2**24


def chain_rule_parameter_count(num_dims, order=None):
    """Free parameters of a binary autoregressive model with tabular conditionals.

    Pixel ``i`` (0-based) sees ``min(i, order)`` binary pixels, so its table
    has ``2**min(i, order)`` free probabilities. With ``order=None`` every
    pixel sees all the previous ones (the full chain rule) and the total is
    ``2**num_dims - 1``, the parameter count of an arbitrary distribution
    over ``num_dims`` bits.

    Args:
        num_dims: number of binary dimensions ``D``.
        order: Markov order ``k`` (``None`` for ``D - 1``, the full chain
            rule).

    Returns:
        A Python int (exact, however large).

    Raises:
        ValueError: ``num_dims`` or ``order`` is not a positive int.
    """
    num_dims = check_number(num_dims, "num_dims", integer=True, minimum=1)
    order = num_dims - 1 if order is None else check_number(order, "order", integer=True, minimum=0)
    order = min(order, num_dims - 1)
    return (2**order - 1) + (num_dims - order) * 2**order


@register("markov", family="autoregressive")
class MarkovAR(VectorAutoregressiveModel):
    """AR(k) model of binary pixels in raster order.

    ``p(x_i = 1 | x_<i) = p(x_i = 1 | x_{i-k}, ..., x_{i-1})``; the ``k``
    previous pixels form the context (pixels before the start of the image
    count as 0). Two conditionals:

    * ``conditional="table"``: a conditional probability table, one logit
      per context value (``2**k`` per pixel), the most general Markov chain
      of order ``k``;
    * ``conditional="logistic"``: a logistic regression on the context,
      ``sigmoid(b_i + sum_j w_ij x_{i-j})`` (``k + 1`` per pixel): FVSBN
      with a band of width ``k``.

    With ``homogeneous=True`` every pixel shares the same conditional (a
    stationary chain: ``2**k`` or ``k + 1`` parameters in all), which
    ignores where in the image a pixel is.

    Args:
        data_shape: per-example shape, e.g. ``(28, 28, 1)``.
        order: the Markov order ``k``, between 1 and ``D - 1`` (1 when D = 1).
        conditional: ``"table"`` or ``"logistic"``.
        homogeneous: share one conditional across all pixel positions.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``order``, ``conditional`` or a table larger than
            ``MAX_TABLE_ENTRIES`` entries.
    """

    def __init__(self, data_shape=(28, 28, 1), order=3, conditional="table", homogeneous=False, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.order = check_number(order, "order", integer=True, minimum=1)
        if self.order > max(self.num_dims - 1, 1):
            raise ValueError(
                f"order must be at most D - 1 = {self.num_dims - 1} for data_shape {self.data_shape}, "
                f"got {order}."
            )
        self.conditional = check_choice(conditional, "conditional", CONDITIONALS)
        self.homogeneous = check_bool(homogeneous, "homogeneous")
        rows = 1 if self.homogeneous else self.num_dims
        if self.conditional == "table":
            entries = rows * 2**self.order
            if entries > MAX_TABLE_ENTRIES:
                raise ValueError(
                    f"A table of order {self.order} needs {rows} x 2**{self.order} = {entries:,} logits, more than "
                    f"{MAX_TABLE_ENTRIES:,}; lower the order or use conditional='logistic'."
                )
            self.table = self.add_weight(shape=(rows, 2**self.order), initializer="zeros", name="table")
        else:
            self.kernel = self.add_weight(shape=(rows, self.order), initializer="zeros", name="kernel")
            self.bias = self.add_weight(shape=(rows,), initializer="zeros", name="bias")

    def get_config(self):
        config = super().get_config()
        config.update({"order": self.order, "conditional": self.conditional, "homogeneous": self.homogeneous})
        return config

    def free_parameter_count(self):
        """Parameters that can affect the density (see the module table).

        Tables: ``chain_rule_parameter_count(D, k)`` (or ``2**k`` when
        homogeneous); table entries for contexts a pixel near the start can
        never see are not counted. Logistic: ``D + sum_i min(i, k)`` (or
        ``k + 1`` when homogeneous).
        """
        k, dims = self.order, self.num_dims
        if self.conditional == "table":
            return 2**k if self.homogeneous else chain_rule_parameter_count(dims, k)
        if self.homogeneous:
            return k + 1
        return dims + sum(min(i, k) for i in range(dims))

    # ------------------------------------------------------------- helpers
    def _context(self, x):
        """``(N, D, k)``: entry ``[n, i, j]`` is ``x[n, i - 1 - j]`` (0 before the start)."""
        k, dims = self.order, self.num_dims
        padded = tf.pad(x, [[0, 0], [k, 0]])
        return tf.stack([padded[:, k - j : k - j + dims] for j in range(1, k + 1)], axis=-1)

    def _codes(self, context):
        """Integer context codes: bit ``j`` is the pixel ``j + 1`` steps back."""
        bits = tf.cast(tf.round(context) > 0, tf.int32)
        powers = tf.constant([2**j for j in range(self.order)], tf.int32)
        return tf.reduce_sum(bits * powers, axis=-1)

    def conditional_logits(self, x, training=False, **kwargs):
        """Logits ``(N, D)`` of each pixel given its ``k`` predecessors.

        Table contexts read pixels as binary (``x > 0.5``).
        """
        del training, kwargs
        context = self._context(x)
        if self.conditional == "table":
            table = tf.cast(self.table, tf.float32)
            codes = self._codes(context)
            if self.homogeneous:
                return tf.gather(table[0], codes)
            rows = tf.range(self.num_dims, dtype=tf.int32)[None, :] * (2**self.order)
            return tf.gather(tf.reshape(table, [-1]), rows + codes)
        kernel = tf.cast(self.kernel, tf.float32)
        bias = tf.cast(self.bias, tf.float32)
        if self.homogeneous:
            return tf.einsum("ndk,k->nd", context, kernel[0]) + bias[0]
        return tf.einsum("ndk,dk->nd", context, kernel) + bias[None, :]

    # ------------------------------------------------------------ sampling
    def _next_logits(self, x, dim, state, context):
        del state, context
        back = dim - tf.range(1, self.order + 1, dtype=tf.int32)
        values = tf.gather(x, tf.maximum(back, 0), axis=1) * tf.cast(back >= 0, tf.float32)[None, :]
        row = 0 if self.homogeneous else dim
        if self.conditional == "table":
            return tf.gather(tf.cast(self.table, tf.float32)[row], self._codes(values))
        kernel = tf.cast(self.kernel, tf.float32)[row]
        return tf.linalg.matvec(values, kernel) + tf.cast(self.bias, tf.float32)[row]
