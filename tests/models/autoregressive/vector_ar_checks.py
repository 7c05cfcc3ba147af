"""Exact checks shared by the tests of the flattened-pixel autoregressive models.

On a tiny image every configuration can be enumerated, so a model's
``log_prob`` must sum to one, its samples must follow the same
distribution, and each conditional may only look at the pixels before it.
"""

import itertools

import numpy as np
import tensorflow as tf


def binary_images(n, shape=(28, 28, 1), seed=0, p=0.3):
    rng = np.random.default_rng(seed)
    return (rng.random((n,) + tuple(shape)) < p).astype(np.float32)


def all_images(shape, levels=2):
    """Every image of ``shape`` with ``levels`` values per pixel, scaled to [0, 1]."""
    dims = int(np.prod(shape))
    grid = np.array(list(itertools.product(range(levels), repeat=dims)), dtype=np.float32)
    return (grid / (levels - 1)).reshape((-1,) + tuple(shape))


def randomize(model, scale=1.5, seed=0):
    """Gives every trainable weight random values so conditionals are far from uniform."""
    rng = np.random.default_rng(seed)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(0.0, scale, size=variable.shape).astype(np.float32))
    return model


def assert_normalized(model, levels=2, atol=1e-4, **log_prob_kwargs):
    images = all_images(model.data_shape, levels)
    probs = np.exp(model.log_prob(images, **log_prob_kwargs).astype(np.float64))
    np.testing.assert_allclose(probs.sum(), 1.0, atol=atol)
    return images, probs


def total_variation(model, n=20_000, seed=0, levels=2, log_prob_kwargs=None, **generate_kwargs):
    """TV distance between the empirical distribution of ``n`` samples and ``exp(log_prob)``."""
    images, probs = assert_normalized(model, levels=levels, **(log_prob_kwargs or {}))
    samples = model.generate(n, seed=seed, batch_size=n, **generate_kwargs)
    digits = np.rint(samples.reshape(n, -1) * (levels - 1)).astype(np.int64)
    codes = digits @ (levels ** np.arange(digits.shape[1] - 1, -1, -1))
    counts = np.bincount(codes, minlength=len(images)) / n
    return 0.5 * np.abs(counts - probs).sum()


def dependence(model, x, **kwargs):
    """``dep[j, i]`` is True when flipping raster pixel ``j`` changes the logits of pixel ``i``.

    ``kwargs`` go to ``model.conditional_logits`` (e.g. ``mask_index``).
    """
    dims = int(np.prod(model.data_shape))
    flat = np.asarray(x, np.float32).reshape(len(x), dims)

    def logits(values):
        return np.asarray(model.conditional_logits(tf.constant(values), **kwargs)).reshape(len(values), dims, -1)

    base = logits(flat)
    dep = np.zeros((dims, dims), dtype=bool)
    for j in range(dims):
        flipped = np.array(flat, copy=True)
        flipped[:, j] = 1.0 - flipped[:, j]
        dep[j] = np.any(np.abs(logits(flipped) - base) > 1e-6, axis=(0, 2))
    return dep
