"""Masked Autoencoder for Distribution Estimation (MADE).

An autoencoder becomes an autoregressive model when its weights are masked
so that output ``d`` only depends on the inputs that precede ``d`` in an
ordering. Masks come from *connectivity degrees* (Germain et al. 2015):

* input ``d`` gets the degree ``m(d)``, its position (1..D) in the ordering;
* each hidden unit ``k`` of layer ``l`` gets a degree ``m^l(k)`` drawn
  uniformly from ``[min m^{l-1}, D - 1]``, and sees the units of the layer
  below whose degree is ``<= m^l(k)``;
* output ``d`` sees the last hidden units whose degree is ``< m(d)``.

A unit of degree ``m`` therefore depends only on the inputs of degree at
most ``m``, and output ``d`` only on inputs of degree below ``m(d)``: one
pass of the network gives every conditional ``p(x_d | x_<d)``, so the
exact likelihood costs one forward pass.

Training can resample the connectivity (and the ordering) between updates:
this model holds ``num_masks`` degree assignments, derived deterministically
from ``seed``, and training step ``t`` uses mask ``t mod num_masks`` (the
optimizer's step counter, identical on every replica). At test time the
masks form an ensemble: ``log_prob(x, num_orderings=K)`` is the exact
log-likelihood of the uniform mixture of the first ``K`` masks' models,

    log p(x) = log (1/K) sum_{s<K} p_s(x),

(log-mean-exp of the per-mask exact likelihoods).

References:
    Germain, Gregor, Murray & Larochelle, "MADE: Masked Autoencoder for
    Distribution Estimation", ICML 2015 (binarized MNIST, 50k training
    images: 88.04 nats).
    Uria, Murray & Larochelle, "A Deep and Tractable Density Estimator",
    ICML 2014 (order-agnostic training and ensembles of orderings).
"""

import math

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.registry import register
from kzoo.core.validation import check_bool, check_choice, check_number, check_positive_int
from kzoo.layers.masked_dense import MaskedDense
from kzoo.models.autoregressive.base import LIKELIHOODS, VectorAutoregressiveModel

__all__ = ["MADE"]

ORDERINGS = ("natural", "random")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu")


def made_degrees(num_dims, hidden_units, ordering="natural", num_masks=1, seed=0):
    """The connectivity degrees of MADE's masks, derived from ``seed`` alone.

    Mask ``s`` draws from ``numpy.random.default_rng([seed, s])``: with
    ``ordering="random"`` a random permutation of the inputs, then for each
    hidden layer degrees uniform on ``[min(previous degrees), D - 1]``.

    Args:
        num_dims: number of inputs ``D``.
        hidden_units: sizes of the hidden layers.
        ordering: ``"natural"`` (raster order for every mask) or
            ``"random"`` (each mask its own ordering).
        num_masks: number of degree assignments.
        seed: non-negative int.

    Returns:
        ``(input_degrees, hidden_degrees)``: an int array ``(num_masks, D)``
        of ordering positions 1..D, and one int array
        ``(num_masks, units)`` per hidden layer.
    """
    input_degrees = np.zeros((num_masks, num_dims), np.int64)
    hidden_degrees = [np.zeros((num_masks, units), np.int64) for units in hidden_units]
    for index in range(num_masks):
        rng = np.random.default_rng([seed, index])
        degrees = np.arange(1, num_dims + 1) if ordering == "natural" else rng.permutation(num_dims) + 1
        input_degrees[index] = degrees
        previous = degrees
        for layer, units in enumerate(hidden_units):
            low = int(previous.min())
            high = max(num_dims - 1, low)
            previous = rng.integers(low, high + 1, size=units)
            hidden_degrees[layer][index] = previous
    return input_degrees, hidden_degrees


@register("made", family="autoregressive")
class MADE(VectorAutoregressiveModel):
    """MADE: a masked MLP giving every conditional in one pass.

    The network is ``len(hidden_units)`` hidden :class:`kzoo.layers.MaskedDense`
    layers, an output masked layer giving the logits of every pixel (``D``
    Bernoulli logits, or ``D x num_levels`` categorical logits for 8-bit
    data, whose inputs are then the pixel values scaled to [0, 1]), and
    optionally a direct masked input-to-output connection (an FVSBN added
    to the network's output).

    The degrees of every mask are stored as non-trainable int32 weights and
    are also a pure function of the config (``seed``), so a saved and
    reloaded model has the same masks.

    Training step ``t`` uses mask ``t mod num_masks`` (reported ``loss`` is
    that mask's NLL); evaluation (``test_step`` / ``log_prob``) uses the
    ensemble of all ``num_masks`` masks unless ``num_orderings`` or
    ``mask_index`` says otherwise. ``generate`` samples from the same
    ensemble: each example picks a mask uniformly and is then sampled in
    ``D`` sequential passes of that mask's network, all inside one compiled
    ``tf.function``.

    Args:
        data_shape: per-example shape, e.g. ``(28, 28, 1)``.
        hidden_units: sizes of the hidden layers (an int for one layer).
        activation: hidden nonlinearity, ``"relu"``, ``"sigmoid"``,
            ``"tanh"`` or ``"elu"``.
        ordering: ``"natural"`` (raster order) or ``"random"`` (each mask
            a random ordering: order-agnostic training).
        num_masks: connectivity (and ordering) assignments cycled through
            during training and ensembled at test time.
        direct_connection: add a masked direct input-to-output layer.
        seed: non-negative int from which every mask is derived.
        likelihood: ``"bernoulli"`` or ``"categorical"``.
        num_levels: pixel levels of the categorical likelihood.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad ``hidden_units``, ``activation``, ``ordering``,
            ``num_masks``, ``seed``, ``likelihood`` or ``num_levels``.
    """

    likelihoods = LIKELIHOODS

    def __init__(self, data_shape=(28, 28, 1), hidden_units=(500,), activation="relu", ordering="natural",
                 num_masks=1, direct_connection=False, seed=0, likelihood="bernoulli", num_levels=256, **kwargs):
        super().__init__(data_shape=data_shape, likelihood=likelihood, num_levels=num_levels, **kwargs)
        if isinstance(hidden_units, (int, np.integer)) and not isinstance(hidden_units, bool):
            hidden_units = (hidden_units,)
        try:
            self.hidden_units = tuple(check_positive_int(h, "hidden_units entry") for h in hidden_units)
        except TypeError as err:
            raise ValueError(f"hidden_units must be an int or a sequence of ints, got {hidden_units!r}.") from err
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.ordering = check_choice(ordering, "ordering", ORDERINGS)
        self.num_masks = check_positive_int(num_masks, "num_masks")
        self.direct_connection = check_bool(direct_connection, "direct_connection")
        self.seed = check_number(seed, "seed", integer=True, minimum=0)

        input_degrees, hidden_degrees = made_degrees(self.num_dims, self.hidden_units, self.ordering,
                                                     self.num_masks, self.seed)
        output_degrees = np.repeat(input_degrees, self.num_outcomes, axis=1)
        hidden_layers = []
        in_dim, previous = self.num_dims, input_degrees
        for index, (units, degrees) in enumerate(zip(self.hidden_units, hidden_degrees)):
            layer = MaskedDense(units, num_masks=self.num_masks, activation=self.activation, name=f"hidden_{index}")
            layer.build((None, in_dim))
            layer.set_degrees(previous, degrees)
            hidden_layers.append(layer)
            in_dim, previous = units, degrees
        self.hidden_layers = hidden_layers
        self.output_layer = MaskedDense(self._logit_units(), num_masks=self.num_masks, strict=True, name="logits")
        self.output_layer.build((None, in_dim))
        self.output_layer.set_degrees(previous, output_degrees)
        self.direct_layer = None
        if self.direct_connection:
            self.direct_layer = MaskedDense(self._logit_units(), num_masks=self.num_masks, strict=True,
                                            use_bias=False, kernel_initializer="zeros", name="direct")
            self.direct_layer.build((None, self.num_dims))
            self.direct_layer.set_degrees(input_degrees, output_degrees)

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "ordering": self.ordering,
            "num_masks": self.num_masks,
            "direct_connection": self.direct_connection,
            "seed": self.seed,
        })
        return config

    # ----------------------------------------------------------- structure
    @property
    def _input_layer(self):
        return self.hidden_layers[0] if self.hidden_layers else self.output_layer

    def input_degrees(self):
        """int32 numpy array ``(num_masks, D)``: the position (1..D) of each pixel in each mask's ordering."""
        return np.asarray(self._input_layer.input_degrees)

    def orderings(self):
        """int numpy array ``(num_masks, D)``: the pixels (raster indices) in the order each mask visits them."""
        return np.argsort(self.input_degrees(), axis=1, kind="stable")

    def free_parameter_count(self):
        """Weights kept by at least one mask, plus biases."""
        layers = list(self.hidden_layers) + [self.output_layer]
        if self.direct_layer is not None:
            layers.append(self.direct_layer)
        return sum(layer.connected_parameter_count() for layer in layers)

    def _check_mask_index(self, mask_index):
        return check_number(mask_index, "mask_index", integer=True, minimum=0, maximum=self.num_masks,
                            exclusive_maximum=True)

    def _check_num_orderings(self, num_orderings):
        if num_orderings is None:
            return self.num_masks
        return check_number(num_orderings, "num_orderings", integer=True, minimum=1, maximum=self.num_masks,
                            description=f"an int in [1, num_masks = {self.num_masks}] (only the trained masks can "
                                        "be ensembled)")

    # -------------------------------------------------------------- density
    def conditional_logits(self, x, training=False, mask_index=0, **kwargs):
        """One masked pass: logits ``(N, D)`` or ``(N, D, num_levels)`` under mask ``mask_index``."""
        del training, kwargs
        hidden = x
        for layer in self.hidden_layers:
            hidden = layer(hidden, mask_index=mask_index)
        logits = tf.cast(self.output_layer(hidden, mask_index=mask_index), tf.float32)
        if self.direct_layer is not None:
            logits = logits + tf.cast(self.direct_layer(x, mask_index=mask_index), tf.float32)
        if self.likelihood == "categorical":
            logits = tf.reshape(logits, [-1, self.num_dims, self.num_levels])
        return logits

    def log_prob_batch(self, x, training=False, num_orderings=None, mask_index=None, **kwargs):
        """Exact log-likelihood (nats) of one mask's model or of the ensemble.

        Args:
            x: batch tensor ``(N,) + data_shape``.
            training: whether this is a training step.
            num_orderings: ``K``, ensemble the first ``K`` masks: the result
                is ``logsumexp_s log p_s(x) - log K``, the exact
                log-likelihood of their uniform mixture. Default: all
                ``num_masks`` masks.
            mask_index: evaluate the single mask ``mask_index`` (an int, or
                a scalar int tensor inside a compiled step) instead.

        Returns:
            float32 tensor ``(N,)``.

        Raises:
            ValueError: ``num_orderings`` outside ``[1, num_masks]``, a bad
                ``mask_index``, or both given.
        """
        single = VectorAutoregressiveModel.log_prob_batch
        if mask_index is not None:
            if num_orderings is not None:
                raise ValueError("Pass either mask_index (one mask) or num_orderings (an ensemble), not both.")
            if not tf.is_tensor(mask_index):
                mask_index = self._check_mask_index(mask_index)
            return single(self, x, training=training, mask_index=mask_index, **kwargs)
        count = self._check_num_orderings(num_orderings)
        if count == 1:
            return single(self, x, training=training, mask_index=0, **kwargs)
        per_mask = tf.stack([single(self, x, training=training, mask_index=s, **kwargs) for s in range(count)])
        return tf.reduce_logsumexp(per_mask, axis=0) - math.log(count)

    def _training_mask_index(self):
        if self.num_masks == 1 or getattr(self, "optimizer", None) is None:
            return 0
        return tf.cast(tf.math.floormod(self.optimizer.iterations, self.num_masks), tf.int32)

    def compute_losses(self, x, y=None, training=False):
        """Training: NLL under mask ``step mod num_masks``; evaluation: the ensemble NLL."""
        if training:
            log_prob = self.log_prob_batch(x, training=True, mask_index=self._training_mask_index())
        else:
            log_prob = self.log_prob_batch(x)
        return {"loss": -tf.reduce_mean(log_prob)}

    # ------------------------------------------------------------ sampling
    def _sampling_kwargs(self, mask_index=None, num_orderings=None):
        """``generate(..., mask_index=s)`` samples one mask's model;
        ``generate(..., num_orderings=K)`` the mixture of the first K masks
        (default: all masks, the distribution ``log_prob`` scores)."""
        if mask_index is not None:
            if num_orderings is not None:
                raise ValueError("Pass either mask_index (one mask) or num_orderings (an ensemble), not both.")
            return {"mask_index": self._check_mask_index(mask_index), "num_orderings": 1}
        return {"mask_index": -1, "num_orderings": self._check_num_orderings(num_orderings)}

    def _sample_flat(self, n, seed, mask_index=-1, num_orderings=1):
        sequential = VectorAutoregressiveModel._sample_flat
        if mask_index >= 0:
            return sequential(self, n, seed, mask_index=mask_index)
        if num_orderings == 1:
            return sequential(self, n, seed, mask_index=0)
        seeds = tf.random.experimental.stateless_split(seed, num_orderings + 1)
        choice = tf.random.stateless_uniform(tf.reshape(n, [1]), seeds[0], minval=0, maxval=num_orderings,
                                             dtype=tf.int32)
        samples = tf.zeros(tf.stack([n, self.num_dims]), tf.float32)
        means = tf.zeros_like(samples)
        for index in range(num_orderings):
            rows = tf.where(tf.equal(choice, index))
            part, part_means = sequential(self, tf.shape(rows)[0], seeds[index + 1], mask_index=index)
            samples = tf.tensor_scatter_nd_update(samples, rows, part)
            means = tf.tensor_scatter_nd_update(means, rows, part_means)
        return samples, means

    def _sampling_setup(self, n, mask_index=0):
        """Loop constants: the masked kernels of mask ``mask_index``, computed once.

        The loop state is the first hidden layer's pre-activation: only pixel
        ``d`` changes at a step, so it is updated by one row of the kernel
        (``O(n H)``) instead of recomputed (``O(n D H)``), and only the
        output columns of the pixel being sampled are evaluated.
        """
        layers = list(self.hidden_layers) + [self.output_layer]
        kernels = [tf.cast(layer.masked_kernel(mask_index), tf.float32) for layer in layers]
        biases = [tf.cast(layer.bias, tf.float32) for layer in layers]
        direct = None if self.direct_layer is None else tf.cast(self.direct_layer.masked_kernel(mask_index),
                                                                 tf.float32)
        context = {"mask_index": mask_index, "kernels": kernels, "biases": biases, "direct": direct}
        if self.hidden_layers:
            state = tf.tile(biases[0][None, :], tf.stack([n, 1]))
        else:
            state = tf.zeros([0])
        return context, state

    def _sampling_order(self, context):
        degrees = tf.gather(self._input_layer.input_degrees, context["mask_index"])
        return tf.cast(tf.argsort(degrees, stable=True), tf.int32)

    def _next_logits(self, x, dim, state, context):
        activation = keras.activations.get(self.activation)
        kernels, biases = context["kernels"], context["biases"]
        outcomes = self.num_outcomes
        columns = dim * outcomes + tf.range(outcomes, dtype=tf.int32)
        if self.hidden_layers:
            hidden = activation(state)
            for kernel, bias in zip(kernels[1:-1], biases[1:-1]):
                hidden = activation(tf.matmul(hidden, kernel) + bias)
        else:
            hidden = x
        logits = tf.matmul(hidden, tf.gather(kernels[-1], columns, axis=1)) + tf.gather(biases[-1], columns)
        if context["direct"] is not None:
            logits = logits + tf.matmul(x, tf.gather(context["direct"], columns, axis=1))
        return logits[:, 0] if self.likelihood == "bernoulli" else logits

    def _advance(self, state, dim, value, context):
        if not self.hidden_layers:
            return state
        return state + value[:, None] * tf.gather(context["kernels"][0], dim)[None, :]
