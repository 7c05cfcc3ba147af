"""Partially labeled splits: a fixed number of labels per class, the rest -1."""

import numpy as np
import pytest

from kzoo import data as kdata
from kzoo.data.epochs import epoch_batches
from kzoo.data.partial_labels import UNLABELED, keep_labels_per_class


def test_keeps_the_requested_labels_per_class_deterministically():
    labels = np.repeat(np.arange(4), [5, 7, 6, 9]).astype(np.int32)
    np.random.default_rng(3).shuffle(labels)
    kept = keep_labels_per_class(labels, 2)
    assert kept.dtype == np.int32 and kept.shape == labels.shape
    for c in range(4):
        assert np.sum(kept == c) == 2
    labeled = kept != UNLABELED
    np.testing.assert_array_equal(kept[labeled], labels[labeled])
    assert np.sum(~labeled) == len(labels) - 8
    np.testing.assert_array_equal(keep_labels_per_class(labels, 2), kept)
    assert not np.array_equal(keep_labels_per_class(labels, 2, seed=1), kept)
    assert np.sum(keep_labels_per_class(labels, 3) >= 0) == 12


@pytest.mark.parametrize("labels, per_class, message", [
    (np.array([0, 0, 1]), 2, "class 1 has only 1 examples"),
    (np.array([0, 1]), 0, "labeled_per_class must be None or a positive integer, got 0"),
    (np.array([0, 1]), True, "labeled_per_class must be None or a positive integer, got True"),
    (np.array([0, -1]), 1, "non-negative int class indices"),
    (np.array([[0, 1]]), 1, "1-D array"),
])
def test_bad_arguments_are_rejected(labels, per_class, message):
    with pytest.raises(ValueError, match=message):
        keep_labels_per_class(labels, per_class)


def test_load_options_keep_labels_per_class_of_the_split():
    x, y = kdata.load_numpy("digits", "train", labels=True, labeled_per_class=3)
    _, full = kdata.load_numpy("digits", "train", labels=True)
    assert len(x) == len(full)
    assert np.sum(y >= 0) == 30 and all(np.sum(y == c) == 3 for c in range(10))
    np.testing.assert_array_equal(y[y >= 0], full[y >= 0])
    dataset, steps = epoch_batches("digits", "train", batch_size=500, epochs=1, shuffle_seed=None, labels=True,
                                   labeled_per_class=3)
    streamed = np.concatenate([np.asarray(batch_y) for _, batch_y in dataset])
    np.testing.assert_array_equal(streamed, y)
    pairs = list(kdata.load("digits", "train", labels=True, labeled_per_class=3).as_numpy_iterator())
    np.testing.assert_array_equal(np.array([label for _, label in pairs]), y)
    with pytest.raises(ValueError, match="needs labels=True"):
        kdata.load_numpy("digits", "train", labeled_per_class=3)
    with pytest.raises(ValueError, match="labeled_per_class=500 but class"):
        kdata.load_numpy("digits", "train", labels=True, labeled_per_class=500)
