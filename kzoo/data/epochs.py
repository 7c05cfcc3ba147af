"""Training batches whose every epoch is a pure function of the seed and the epoch.

:func:`load` gives a dataset whose passes are reproducible only in sequence
(pass ``k`` of a freshly built dataset): the shuffle and the fresh noise of
dynamic binarization and dequantization advance with every pass. A training
run resumed at epoch ``e`` in a new process must see exactly the batches the
uninterrupted run saw at epoch ``e``, so :func:`epoch_batches` builds each
epoch from stateless random ops keyed on ``(shuffle_seed, e)`` (the order)
and ``(seed, e, batch index)`` (the noise): epoch ``e`` is the same whether
it is the first or the fifth epoch the process runs.

The examples are held in memory (as they are by :func:`load`) and gathered
per batch, so the noise is drawn per batch rather than per example; its
distribution is the one :func:`load` draws.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import tensorflow as tf

from kzoo.data import transforms as T
from kzoo.data.loading import _apply_static, _raw, load

__all__ = ["epoch_batches", "shuffled_batches"]

def _check_count(value, name, minimum):
    """``value`` as an int of at least ``minimum`` (the data room checks its own arguments)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}.")
    return int(value)


def epoch_batches(name_or_path, split: str = "train", *, batch_size: int, epochs: int, first_epoch: int = 0,
                  shuffle_seed: Optional[int] = 0, labels: bool = False,
                  binarize: Optional[str] = None, dequantize: bool = False, scale: str = "unit",
                  seed: int = 0, data_dir=None, validation_split: Optional[float] = None,
                  labeled_per_class: Optional[int] = None, color_mode: Optional[str] = None):
    """The batches of epochs ``first_epoch .. epochs - 1`` of one split, as one dataset.

    Args:
        name_or_path: dataset name or image folder, as for :func:`kzoo.data.load`.
        split: split to read.
        batch_size: examples per batch; the last batch of an epoch may be smaller.
        epochs: index one past the last epoch.
        first_epoch: the epoch the dataset starts at (a resumed run's epoch).
        shuffle_seed: seed of the per-epoch order, or ``None`` to keep the
            stored order in every epoch.
        labels: elements are ``(x, y)`` pairs.
        binarize, dequantize, scale, seed, data_dir, validation_split,
            labeled_per_class, color_mode: as for :func:`kzoo.data.load`; dynamic binarization and
            dequantization draw noise keyed on ``(seed, epoch, batch)``.

    Returns:
        ``(dataset, steps_per_epoch)``: the dataset yields
        ``steps_per_epoch * (epochs - first_epoch)`` batches.

    Raises:
        ValueError: bad numbers or options (as :func:`kzoo.data.load`),
            or ``first_epoch >= epochs``.
    """
    batch_size = _check_count(batch_size, "batch_size", 1)
    epochs = _check_count(epochs, "epochs", 1)
    first_epoch = _check_count(first_epoch, "first_epoch", 0)
    if first_epoch >= epochs:
        raise ValueError(f"first_epoch must be below epochs={epochs}, got {first_epoch}.")
    if shuffle_seed is not None:
        shuffle_seed = _check_count(shuffle_seed, "shuffle_seed", 0)
    raw = _raw(name_or_path, split, labels=labels, binarize=binarize, dequantize=dequantize, scale=scale,
               data_dir=data_dir, seed=seed, num_samples=None, image_size=None, color_mode=color_mode,
               validation_split=validation_split, download=True, labeled_per_class=labeled_per_class)
    integer = raw.levels is not None and binarize in (None, "dynamic")
    x = raw.x if integer else _apply_static(raw, binarize, seed)
    y = raw.y
    n = len(x)
    steps_per_epoch = math.ceil(n / batch_size)
    x_all = tf.constant(x)
    y_all = None if y is None else tf.constant(y, tf.int32)
    levels = raw.levels or 256
    denominator = float((raw.levels or 256) - 1)

    def make_batch(epoch, index, positions):
        batch = tf.gather(x_all, positions)
        if integer:
            batch = tf.cast(batch, tf.float32) / denominator
        key = tf.stack([tf.constant(seed, tf.int64), epoch * 1_000_003 + index])
        key = tf.cast(key % (2**31 - 1), tf.int32)
        if binarize == "dynamic":
            batch = T.binarize_static(batch, tf.random.experimental.stateless_fold_in(key, 1))
        if dequantize:
            batch = T.dequantize(batch, tf.random.experimental.stateless_fold_in(key, 2), levels=levels)
        if scale == "symmetric":
            batch = T.to_symmetric(batch)
        return batch if y_all is None else (batch, tf.gather(y_all, positions))

    def one_epoch(epoch):
        if shuffle_seed is None:
            order = tf.range(n, dtype=tf.int64)
        else:
            order_seed = tf.cast(tf.stack([tf.constant(shuffle_seed, tf.int64), epoch]) % (2**31 - 1), tf.int32)
            order = tf.argsort(tf.random.stateless_uniform([n], order_seed), stable=True)
            order = tf.cast(order, tf.int64)
        position_batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        return position_batches.enumerate().map(lambda index, positions: make_batch(epoch, index, positions))

    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    total = steps_per_epoch * (epochs - first_epoch)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(total))
    return dataset.prefetch(tf.data.AUTOTUNE), steps_per_epoch


def shuffled_batches(name_or_path, split, options, batch_size, shuffle_seed=None, labels=False):
    """The sequential pipeline: :func:`kzoo.data.load`, a 10,000-example shuffle buffer reshuffled every pass, batches.

    Its passes are reproducible only in sequence (pass ``k`` of a freshly
    built dataset), so a run resumed in a new process sees other batches than
    the uninterrupted one; ``kzoo train`` uses :func:`epoch_batches`. The
    example trainers (``examples/train_gan.py``, ``examples/train_ddpm.py``)
    keep this pipeline because the GAN and DDPM entries were trained with it.

    Args:
        name_or_path: dataset name or image folder.
        split: split to read.
        options: more :func:`kzoo.data.load` keyword arguments.
        batch_size: examples per batch.
        shuffle_seed: seed of the shuffle, or None for the stored order.
        labels: elements are ``(x, y)`` pairs.

    Returns:
        A batched, prefetched ``tf.data.Dataset``.
    """
    dataset = load(name_or_path, split=split, labels=labels, **options)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(_check_count(batch_size, "batch_size", 1)).prefetch(tf.data.AUTOTUNE)
