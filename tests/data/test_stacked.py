"""Stacked MNIST: three independent digits per image, labels that name the mode, deterministic splits."""

import numpy as np
import pytest

from kzoo import data as kdata
from kzoo.data.stacked import NUM_MODES, mode_of_digits, stack_digits


def test_stack_digits_draws_each_channel_independently_and_labels_the_triple():
    images = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    stacks, modes = stack_digits(images, np.arange(10), 2000, seed=7)
    assert stacks.shape == (2000, 2, 2, 3) and stacks.dtype == np.uint8
    digits = stacks[:, 0, 0, :]  # each image is filled with its own digit
    np.testing.assert_array_equal(modes, mode_of_digits(digits))
    assert abs(np.corrcoef(digits[:, 0], digits[:, 1])[0, 1]) < 0.1  # independent channels
    again, _ = stack_digits(images, np.arange(10), 2000, seed=7)
    np.testing.assert_array_equal(again, stacks)
    with pytest.raises(ValueError, match="labels"):
        stack_digits(images, np.arange(9), 5, seed=0)


def test_mode_of_digits_and_its_errors():
    assert mode_of_digits([[1, 2, 3], [9, 0, 0]]).tolist() == [123, 900]
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        mode_of_digits([[1, 2]])
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        mode_of_digits([[1, 2, 10]])


def test_registered_splits():
    info = kdata.info("stacked-mnist")
    assert info.shape == (28, 28, 3) and info.num_classes == NUM_MODES and info.num_levels == 256
    x, y = kdata.load_numpy("stacked-mnist", "validation", labels=True)
    assert x.shape == (5000, 28, 28, 3) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert len(np.unique(y)) > 990 and y.min() >= 0 and y.max() < NUM_MODES
    # Channels are real validation digits: each one equals an mnist5k validation image.
    singles = kdata.load_numpy("mnist5k", "validation")
    assert any(np.array_equal(x[0, ..., 1], image[..., 0]) for image in singles)
    train, train_modes = kdata.load_numpy("stacked-mnist", "train", labels=True)
    assert train.shape == (20000, 28, 28, 3) and len(np.unique(train_modes)) == NUM_MODES
