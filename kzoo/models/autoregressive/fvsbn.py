"""Fully visible sigmoid belief network (FVSBN).

Every pixel is a logistic regression on all the pixels before it in raster
order,

    p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j<i} W_ij x_j),

which is a dense layer whose kernel is masked to be strictly lower
triangular. The log-likelihood is a sum of ``D`` logistic-regression
log-likelihoods, so it is concave in the parameters: training has no bad
local optima. The price is ``D (D - 1) / 2 + D`` parameters (307,720 for
28 x 28 MNIST; the masked half of the kernel is not counted), between the
``D`` of independent pixels and the ``2**D - 1`` of the full chain rule with
tabular conditionals.

References:
    Neal, "Connectionist learning of belief networks", Artificial
    Intelligence 56, 1992.
    Frey, Hinton & Dayan, "Does the wake-sleep algorithm produce good
    density estimators?", NIPS 1996 (FVSBN as a density estimator).
    Larochelle & Murray, "The Neural Autoregressive Distribution
    Estimator", AISTATS 2011 (FVSBN on binarized MNIST: 97.45 nats).
"""

import numpy as np
import tensorflow as tf

from kzoo.core.registry import register
from kzoo.layers.masked_dense import MaskedDense
from kzoo.models.autoregressive.base import VectorAutoregressiveModel

__all__ = ["FVSBN"]


@register("fvsbn", family="autoregressive")
class FVSBN(VectorAutoregressiveModel):
    """Fully visible sigmoid belief net: a logistic regression per pixel.

    The conditionals come from one :class:`kzoo.layers.MaskedDense` layer of
    ``D`` units whose mask is strictly lower triangular in raster order
    (input degrees ``0 .. D-1``, output degrees ``0 .. D-1``, strict). The
    kernel starts at zero, which makes the initial model the independent
    model with ``p = 0.5``; the objective is concave, so the starting point
    does not matter for the optimum.

    Sampling visits the ``D`` pixels in one compiled ``tf.range`` loop for
    the whole batch, each step costing one ``(n, D) x (D,)`` product.

    Args:
        data_shape: per-example shape, e.g. ``(28, 28, 1)``.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``data_shape``.
    """

    def __init__(self, data_shape=(28, 28, 1), **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        degrees = np.arange(self.num_dims)
        self.conditionals = MaskedDense(self.num_dims, strict=True, kernel_initializer="zeros",
                                        name="conditionals")
        self.conditionals.build((None, self.num_dims))
        self.conditionals.set_degrees(degrees, degrees)

    def conditional_logits(self, x, training=False, **kwargs):
        """``b + x @ (W * strictly_lower_triangular)``, shape ``(N, D)``."""
        del training, kwargs
        return tf.cast(self.conditionals(x), tf.float32)

    def free_parameter_count(self):
        """``D (D - 1) / 2`` connections plus ``D`` biases (307,720 for MNIST)."""
        return self.conditionals.connected_parameter_count()

    def _sampling_setup(self, n, **kwargs):
        del n, kwargs
        kernel = tf.cast(self.conditionals.kernel, tf.float32) * self.conditionals.connectivity(0)
        return (kernel, tf.cast(self.conditionals.bias, tf.float32)), tf.zeros([0])

    def _next_logits(self, x, dim, state, context):
        kernel, bias = context
        return tf.linalg.matvec(x, tf.gather(kernel, dim, axis=1)) + tf.gather(bias, dim)
