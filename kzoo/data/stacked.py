"""Stacked MNIST: three digit images as the channels of one colour image, 1,000 modes to count.

The mode-collapse benchmark of the VEEGAN and PacGAN papers: every example
stacks three MNIST digits drawn independently as its red, green and blue
channels, so the data have 10^3 = 1,000 modes (one per digit triple) of
equal mass. A generator that drops modes is caught by classifying each
channel of its samples with an MNIST classifier and counting the distinct
triples (:func:`kzoo.analysis.modes.stacked_mode_coverage`).

Registered as ``stacked-mnist`` (28x28x3, 8-bit, label ``100 * d_red + 10 *
d_green + d_blue`` in ``[0, 1000)``), deterministic:

* ``train``: 20,000 stacks whose channels are drawn with replacement from
  the 4,500 ``mnist5k`` training images (the papers draw from the 60,000 of
  the full training set; here 20 stacks per mode on average);
* ``validation``: 5,000 stacks of the 500 ``mnist5k`` validation images;
* ``test``: 10,000 stacks of the official MNIST test set (``data_dir=``).

Each channel of each split has its own fixed seed, so the three digits of a
stack are independent.

References:
    Metz, Poole, Pfau & Sohl-Dickstein, "Unrolled Generative Adversarial
    Networks", ICLR 2017 (stacked MNIST).
    Srivastava et al., "VEEGAN", NeurIPS 2017; Lin et al., "PacGAN",
    NeurIPS 2018 (1,000 modes counted on 26,000 samples; KL to uniform).
"""

import functools
import os

import numpy as np

__all__ = ["NUM_MODES", "STACK_SIZES", "mode_of_digits", "stack_digits"]

#: Number of modes: one per ordered triple of digits.
NUM_MODES = 1000
#: Stacks per split.
STACK_SIZES = {"train": 20_000, "validation": 5_000, "test": 10_000}
_SEEDS = {"train": 3000, "validation": 3100, "test": 3200}
_SOURCES = {"train": ("mnist5k", "train"), "validation": ("mnist5k", "validation"), "test": ("mnist", "test")}


def mode_of_digits(digits):
    """The mode index ``100 * d0 + 10 * d1 + d2`` of digit triples.

    Args:
        digits: int array ``(N, 3)`` of digits in [0, 10), one column per channel.

    Returns:
        int64 array ``(N,)`` in [0, 1000).

    Raises:
        ValueError: a shape other than ``(N, 3)`` or digits outside [0, 10).
    """
    digits = np.asarray(digits)
    if digits.ndim != 2 or digits.shape[1] != 3:
        raise ValueError(f"digits must have shape (N, 3), one digit per channel, got {digits.shape}.")
    if digits.size and (digits.min() < 0 or digits.max() > 9):
        raise ValueError(f"digits must lie in [0, 9], got values from {digits.min()} to {digits.max()}.")
    return digits.astype(np.int64) @ np.array([100, 10, 1], np.int64)


def stack_digits(images, labels, num_stacks, seed):
    """Stacks of three images drawn independently with replacement, and their modes.

    Args:
        images: ``(N, H, W, 1)`` or ``(N, H, W)`` images (any dtype).
        labels: int digits ``(N,)``.
        num_stacks: number of stacks to draw.
        seed: int; channel ``k`` draws its images with ``default_rng([seed, k])``.

    Returns:
        ``(stacks (num_stacks, H, W, 3) of the images' dtype, modes (num_stacks,) int32)``.

    Raises:
        ValueError: images and labels of different lengths, or no images.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 4:
        images = images[..., 0]
    if images.ndim != 3 or len(images) != len(labels) or not len(images):
        raise ValueError(f"need (N, H, W[, 1]) images with N labels, got images {images.shape} and labels "
                         f"{labels.shape}.")
    picks = np.stack([np.random.default_rng([seed, k]).integers(0, len(images), size=num_stacks)
                      for k in range(3)], axis=1)
    stacks = np.stack([images[picks[:, k]] for k in range(3)], axis=-1)
    return stacks, mode_of_digits(labels[picks]).astype(np.int32)


@functools.lru_cache(maxsize=4)
def _stacked_arrays(split, data_dir):
    from kzoo.data.registry import check_split, get_spec

    source, source_split = _SOURCES[split]
    spec = get_spec(source)
    levels, labels = spec.loader(check_split(spec, source_split), labels=True, data_dir=data_dir)
    return stack_digits(np.asarray(levels, np.uint8), labels, STACK_SIZES[split], _SEEDS[split])


def _load(split, *, labels=False, data_dir=None, **_):
    x, y = _stacked_arrays(split, None if data_dir is None else os.fspath(data_dir))
    return x, (y if labels else None)


def _register():
    from kzoo.data.registry import DatasetInfo, register_dataset

    register_dataset(
        DatasetInfo(name="stacked-mnist", shape=(28, 28, 3), num_classes=NUM_MODES, splits=dict(STACK_SIZES),
                    bit_depth=8, kind="image", num_levels=256,
                    description=(
                        "Stacked MNIST (kzoo.data.stacked): three independently drawn digits as the red, green and "
                        "blue channels, 1,000 equally likely modes; label 100*red + 10*green + blue. 'train': 20,000 "
                        "stacks of the 4,500 mnist5k training images; 'validation': 5,000 of the 500 mnist5k "
                        "validation images; 'test': 10,000 of the official MNIST test set (data_dir=...).")),
        _load,
    )


_register()
