"""Partially labeled training sets: keep a few labels per class, mark the rest unlabeled (-1).

Semi-supervised models train on every image of a split but on the labels of
only a few of them. :func:`keep_labels_per_class` picks, for each class,
``labeled_per_class`` examples with a fixed-seed generator (the same
examples on every call and every machine) and sets every other label to
:data:`UNLABELED`. The ``labeled_per_class=`` option of
:func:`kzoo.data.load`, :func:`kzoo.data.load_numpy` and
:func:`kzoo.data.epochs.epoch_batches` applies it to the split being read.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LABEL_SEED", "UNLABELED", "keep_labels_per_class"]

#: The label of an example whose label was dropped.
UNLABELED = -1
#: Seed of the choice of kept labels (fixed, so every run keeps the same ones).
LABEL_SEED = 0


def check_labeled_per_class(value):
    """``None`` or a positive int; raises ValueError naming the value otherwise."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"labeled_per_class must be None or a positive integer, got {value!r}.")
    return int(value)


def keep_labels_per_class(labels, labeled_per_class, seed=LABEL_SEED):
    """Keeps ``labeled_per_class`` labels of each class and sets the others to -1.

    For each class (in increasing order) a ``numpy.random.default_rng(seed)``
    generator permutes the positions of that class's examples and the first
    ``labeled_per_class`` keep their labels. The choice depends only on the
    labels, ``labeled_per_class`` and ``seed``.

    Args:
        labels: int array ``(N,)`` of class indices >= 0.
        labeled_per_class: labels kept per class (positive int).
        seed: non-negative int seed of the choice.

    Returns:
        int32 numpy array ``(N,)``: the kept labels, :data:`UNLABELED`
        elsewhere.

    Raises:
        ValueError: ``labeled_per_class`` is not a positive int, the labels
            are not a 1-D array of non-negative ints, or a class has fewer
            than ``labeled_per_class`` examples.
    """
    labeled_per_class = check_labeled_per_class(labeled_per_class)
    if labeled_per_class is None:
        raise ValueError("labeled_per_class must be a positive integer, got None.")
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0)):
        raise ValueError(f"labels must be a 1-D array of non-negative int class indices, got shape {labels.shape} "
                         f"and dtype {labels.dtype}.")
    rng = np.random.default_rng(seed)
    kept = np.full(labels.shape, UNLABELED, np.int32)
    for label in np.unique(labels):
        positions = np.flatnonzero(labels == label)
        if len(positions) < labeled_per_class:
            raise ValueError(f"labeled_per_class={labeled_per_class} but class {int(label)} has only "
                             f"{len(positions)} examples in this split.")
        chosen = rng.permutation(positions)[:labeled_per_class]
        kept[chosen] = labels[chosen]
    return kept
