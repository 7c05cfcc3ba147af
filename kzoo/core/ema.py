"""Exponential moving averages of weights (Polyak averaging).

A model that samples from averaged weights owns a second copy of its network
(same constructor config, never trained by an optimizer). After building
both it calls :func:`copy_variables` once, and after each optimizer step
:func:`update_moving_average`; sampling then uses the averaged copy. The
averaged copy's weights are ordinary layer weights, so they are saved,
loaded and mirrored like every other weight.

Both functions run inside a compiled train step and in the replica context
of a ``tf.distribute`` strategy: every replica computes the same average from
the same (already all-reduced) weights.

References:
    Polyak & Juditsky, "Acceleration of Stochastic Approximation by
    Averaging", SIAM J. Control and Optimization 1992.
    Karras et al., "Progressive Growing of GANs", ICLR 2018 (generator EMA).
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS
    2020 (EMA of the denoiser, decay 0.9999).
"""

import tensorflow as tf

from kzoo.core.validation import check_number


def check_ema_decay(decay, name="ema_decay"):
    """Validates an EMA decay: ``None`` (averaging off) or a float in [0, 1).

    Args:
        decay: the value to check.
        name: argument name used in the error message.

    Returns:
        ``None`` or the decay as a Python float.

    Raises:
        ValueError: ``decay`` is not ``None`` and not a number in [0, 1).
    """
    if decay is None:
        return None
    return check_number(decay, name, minimum=0, maximum=1, exclusive_maximum=True,
                        description="None (no averaging) or a number in [0, 1), e.g. 0.999")


def warmed_up_decay(decay, step):
    """The decay of one EMA update, warmed up: ``min(decay, (1 + t) / (10 + t))``.

    Without the warm-up a decay of 0.999 would keep about 26% of the initial
    weights after 1,330 updates.

    Args:
        decay: the configured decay (a float in [0, 1)).
        step: ``t``, the number of optimizer updates so far (int or tensor).

    Returns:
        float32 scalar tensor.
    """
    step = tf.cast(step, tf.float32)
    return tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (10.0 + step))


def freeze(network):
    """Marks an averaged copy and every one of its variables as not trainable.

    ``layer.trainable = False`` only reaches variables that exist when it is
    set; a network whose sublayers create their variables on first call
    (after the flag was set) would otherwise hand those variables to the
    optimizer, which then keeps slots for them and warns that they have no
    gradients. Call this after building the copy.

    Args:
        network: a built ``keras.layers.Layer``.
    """
    network.trainable = False
    for variable in network.weights:
        variable.trainable = False


def _paired(targets, sources):
    targets, sources = list(targets), list(sources)
    if len(targets) != len(sources):
        raise ValueError(f"Cannot pair {len(targets)} averaged variables with {len(sources)} source variables: "
                         "the averaged network must be built with the same config as the trained one.")
    for target, source in zip(targets, sources):
        if tuple(target.shape) != tuple(source.shape):
            raise ValueError(f"Averaged variable {getattr(target, 'path', target.name)} has shape "
                             f"{tuple(target.shape)} but its source has shape {tuple(source.shape)}.")
    return zip(targets, sources)


def copy_variables(target_variables, source_variables):
    """Assigns each source variable's value to the matching target variable.

    Args:
        target_variables: the averaged copy's variables (e.g.
            ``ema_network.weights``).
        source_variables: the trained network's variables, in the same order.

    Raises:
        ValueError: the lists differ in length or a pair differs in shape.
    """
    for target, source in _paired(target_variables, source_variables):
        target.assign(tf.cast(source, tf.as_dtype(target.dtype)))


def update_moving_average(average_variables, variables, decay):
    """One EMA step: ``average <- decay * average + (1 - decay) * variable``.

    Non-float variables (e.g. step counters, int flags) are copied instead of
    averaged. The arithmetic runs in the averaged variable's dtype (float32
    under the mixed policies, whose variables stay float32).

    Args:
        average_variables: the averaged copy's variables.
        variables: the trained variables, in the same order.
        decay: a float in [0, 1) (a scalar tensor is accepted too, e.g. for a
            warm-up schedule ``min(decay, (1 + step) / (10 + step))``).

    Raises:
        ValueError: the lists differ in length or a pair differs in shape.
    """
    for average, variable in _paired(average_variables, variables):
        dtype = tf.as_dtype(average.dtype)
        value = tf.cast(variable, dtype)
        if dtype.is_floating:
            rate = tf.cast(decay, dtype)
            average.assign(rate * average + (1.0 - rate) * value)
        else:
            average.assign(value)
