"""Pixel transforms: binarization, uniform dequantization and value scaling.

The functions accept NumPy arrays and TensorFlow tensors. NumPy inputs draw
their randomness from :class:`numpy.random.Generator`; tensor inputs use
stateless TensorFlow ops keyed on the seed. The two backends therefore give
different (each deterministic) draws for the same seed.

Dataset-level transforms (:func:`dynamic_binarize`, :func:`dynamic_dequantize`)
draw fresh noise on every pass over the dataset, reproducibly: each element's
noise is keyed on a stream from ``tf.data.Dataset.random(seed,
rerandomize_each_iteration=True)``, so pass ``k`` of a dataset built with the
same seed always sees the same draws (given the same global seed set by
``tf.random.set_seed`` / ``keras.utils.set_random_seed``, if any).
"""

from __future__ import annotations

from typing import Union

import numpy as np
import tensorflow as tf

__all__ = [
    "to_symmetric",
    "from_symmetric",
    "binarize_static",
    "binarize_threshold",
    "dequantize",
    "dynamic_binarize",
    "dynamic_dequantize",
]

SeedLike = Union[int, np.integer, np.random.Generator, tf.Tensor]


def _is_tensor(x) -> bool:
    return isinstance(x, (tf.Tensor, tf.Variable))


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {seed!r}.")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}.")
    return int(seed)


def _tensor_seed(seed) -> tf.Tensor:
    """Turns an int or a shape-[2] seed into a stateless-op seed."""
    if _is_tensor(seed):
        seed = tf.cast(seed, tf.int64)
        if seed.shape.rank == 0:
            return tf.stack([seed, tf.constant(0, tf.int64)])
        return seed
    return tf.constant([_check_seed(seed), 0], tf.int64)


def to_symmetric(x):
    """Maps values from ``[0, 1]`` to ``[-1, 1]`` (``2 * x - 1``).

    Args:
        x: NumPy array or tensor with values in ``[0, 1]``.

    Returns:
        An array or tensor of the same type and dtype with values in ``[-1, 1]``.
    """
    return x * 2 - 1


def from_symmetric(x):
    """Maps values from ``[-1, 1]`` to ``[0, 1]`` (``(x + 1) / 2``); inverse of :func:`to_symmetric`.

    Args:
        x: NumPy array or tensor with values in ``[-1, 1]``.

    Returns:
        An array or tensor of the same type and dtype with values in ``[0, 1]``.
    """
    return (x + 1) / 2


def binarize_threshold(x, threshold: float = 0.5):
    """Deterministic binarization ``x > threshold``.

    Args:
        x: NumPy array or tensor with values in ``[0, 1]``.
        threshold: Values strictly above it become 1.

    Returns:
        float32 array or tensor of zeros and ones.
    """
    if _is_tensor(x):
        return tf.cast(x > threshold, tf.float32)
    return (np.asarray(x) > threshold).astype(np.float32)


def binarize_static(x, seed: SeedLike = 0):
    """One fixed Bernoulli draw per pixel: ``1`` with probability ``x``.

    Used for evaluation sets ("statically binarized MNIST"): the same ``seed``
    always gives the same binary images.

    Args:
        x: NumPy array or tensor with values in ``[0, 1]`` (probabilities).
        seed: Non-negative int; for NumPy input also a ``numpy.random.Generator``;
            for tensor input also a shape-``[2]`` integer tensor.

    Returns:
        float32 array (NumPy input) or tensor (tensor input) of zeros and ones,
        same shape as ``x``.

    Raises:
        ValueError: If ``x`` has values outside ``[0, 1]`` (NumPy input) or the seed
            is negative.
        TypeError: If the seed has an unsupported type.
    """
    if _is_tensor(x):
        x = tf.convert_to_tensor(x, tf.float32)
        u = tf.random.stateless_uniform(tf.shape(x), seed=_tensor_seed(seed), dtype=tf.float32)
        return tf.cast(u < x, tf.float32)
    x = np.asarray(x, dtype=np.float32)
    _check_unit_range(x, "binarize_static")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(_check_seed(seed))
    u = rng.random(x.shape, dtype=np.float32)
    return (u < x).astype(np.float32)


def _check_unit_range(x: np.ndarray, what: str) -> None:
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1):
        raise ValueError(
            f"{what} expects values in [0, 1]; got min {float(np.nanmin(x))}, max {float(np.nanmax(x))}."
        )


def dequantize(x, seed: SeedLike = 0, *, levels: int = 256):
    """Uniform dequantization of quantized data in ``[0, 1]``.

    Each value is mapped back to its integer level ``k = round((levels - 1) * x)``
    and spread uniformly over the level's bin: ``(k + u) / levels`` with
    ``u ~ U[0, 1)``. For 8-bit data (``levels=256``) this is
    ``(round(255 * x) + u) / 256``, and ``floor(256 * result)`` recovers the
    8-bit value exactly. Results lie in ``[0, 1)``.

    Args:
        x: NumPy array or tensor of quantized values in ``[0, 1]``.
        seed: Non-negative int; for NumPy input also a ``numpy.random.Generator``;
            for tensor input also a shape-``[2]`` integer tensor.
        levels: Number of distinct stored values (256 for 8-bit images).

    Returns:
        float32 array or tensor, same shape as ``x``, values in ``[0, 1)``.

    Raises:
        ValueError: If ``levels < 2``, or ``x`` (NumPy input) is outside ``[0, 1]``.
    """
    if levels < 2:
        raise ValueError(f"levels must be >= 2, got {levels}.")
    top = float(levels - 1)
    if _is_tensor(x):
        x = tf.convert_to_tensor(x, tf.float32)
        k = tf.round(x * top)
        u = tf.random.stateless_uniform(tf.shape(x), seed=_tensor_seed(seed), dtype=tf.float32)
        y = (k + u) / levels
        upper = tf.math.nextafter((k + 1.0) / levels, tf.zeros_like(k))
        return tf.minimum(y, upper)
    x = np.asarray(x, dtype=np.float32)
    _check_unit_range(x, "dequantize")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(_check_seed(seed))
    k = np.round(x * np.float32(top))
    u = rng.random(x.shape, dtype=np.float32)
    y = ((k + u) / np.float32(levels)).astype(np.float32)
    # (k + u) can round up to k + 1 in float32; keep every value inside its bin.
    upper = np.nextafter(((k + 1) / np.float32(levels)).astype(np.float32), np.float32(0))
    return np.minimum(y, upper)


def _map_with_fresh_keys(ds: tf.data.Dataset, seed: int, fn) -> tf.data.Dataset:
    """Applies ``fn(x, key)`` to the image part of every element with a fresh key per pass."""
    seed = _check_seed(seed)
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
    zipped = tf.data.Dataset.zip((ds, keys))

    def apply(element, key):
        if isinstance(element, tuple):
            return (fn(element[0], key),) + tuple(element[1:])
        return fn(element, key)

    return zipped.map(apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def dynamic_binarize(ds: tf.data.Dataset, seed: int = 0) -> tf.data.Dataset:
    """Bernoulli-binarizes a dataset afresh on every pass (dynamic binarization).

    Each pass (epoch) over the returned dataset draws new binary images; two
    datasets built with the same seed give the same sequence of passes.

    Args:
        ds: Unbatched dataset whose elements are images ``x`` in ``[0, 1]`` or
            tuples ``(x, y, ...)``; only ``x`` is binarized.
        seed: Non-negative int.

    Returns:
        A dataset with the same structure and float32 binary images.

    Raises:
        ValueError: If the seed is negative.
        TypeError: If the seed is not an int.
    """
    return _map_with_fresh_keys(ds, seed, lambda x, key: binarize_static(tf.cast(x, tf.float32), key))


def dynamic_dequantize(ds: tf.data.Dataset, seed: int = 0, *, levels: int = 256) -> tf.data.Dataset:
    """Uniformly dequantizes a dataset with fresh noise on every pass.

    Args:
        ds: Unbatched dataset of quantized images in ``[0, 1]`` or tuples ``(x, y, ...)``.
        seed: Non-negative int.
        levels: Number of distinct stored values (256 for 8-bit images).

    Returns:
        A dataset with the same structure and float32 images in ``[0, 1)``.

    Raises:
        ValueError: If the seed is negative or ``levels < 2``.
        TypeError: If the seed is not an int.
    """
    if levels < 2:
        raise ValueError(f"levels must be >= 2, got {levels}.")
    return _map_with_fresh_keys(ds, seed, lambda x, key: dequantize(tf.cast(x, tf.float32), key, levels=levels))
