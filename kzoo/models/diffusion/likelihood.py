"""The pieces of the DDPM variational bound: Gaussian KL and the discretized Gaussian decoder.

References:
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS
    2020 (Eq. 5 and the discretized decoder of Eq. 13).
"""

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["discretized_gaussian_log_likelihood", "normal_kl"]


def normal_kl(mean1, var1, mean2, var2):
    """Elementwise KL(N(mean1, var1) || N(mean2, var2)) in nats."""
    return 0.5 * (tf.math.log(var2 / var1) + (var1 + tf.square(mean1 - mean2)) / var2 - 1.0)


def _log_ndtr(x):
    """``log Phi(x)`` of the standard normal CDF, accurate far into the left tail."""
    return tfp.distributions.Normal(tf.constant(0.0, x.dtype), tf.constant(1.0, x.dtype)).log_cdf(x)


def _log_ndtr_difference(upper, lower):
    """``log(Phi(upper) - Phi(lower))`` for ``upper > lower``, accurate in both tails."""
    flip = lower > 0.0  # both arguments in the right tail: use Phi(-lower) - Phi(-upper)
    a = tf.where(flip, -lower, upper)
    b = tf.where(flip, -upper, lower)
    log_a, log_b = _log_ndtr(a), _log_ndtr(b)
    return log_a + tf.math.log(-tf.math.expm1(tf.minimum(log_b - log_a, -1e-12)))


def discretized_gaussian_log_likelihood(x, mean, stddev, num_levels=256):
    """Log-probability of 8-bit data under a Gaussian integrated over each bin.

    Data live on ``num_levels`` evenly spaced values in [-1, 1]; the bins of
    the extreme values extend to -inf and +inf (Ho et al. 2020, Eq. 13).

    Args:
        x: data in [-1, 1] (exact multiples of ``2 / (num_levels - 1)`` minus 1).
        mean: Gaussian means shaped like ``x``.
        stddev: Gaussian standard deviations (broadcastable to ``x``).
        num_levels: number of values per dimension.

    Returns:
        float32 log-probabilities (nats) shaped like ``x``.
    """
    half_bin = 1.0 / (num_levels - 1)
    centered = x - mean
    upper = (centered + half_bin) / stddev
    lower = (centered - half_bin) / stddev
    interior = _log_ndtr_difference(upper, lower)
    return tf.where(x < -1.0 + half_bin, _log_ndtr(upper),
                    tf.where(x > 1.0 - half_bin, _log_ndtr(-lower), interior))
