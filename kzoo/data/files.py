"""Datasets read from standard files on disk: MNIST, Fashion-MNIST and CIFAR-10.

Where the files are looked for, in order:

1. ``data_dir`` if given (the folder itself, then ``data_dir/<name>/``); only there.
2. Otherwise ``$KZOO_DATA_DIR/<name>/`` then ``$KZOO_DATA_DIR/``.
3. If the files are not found (and ``download=True``), ``keras.datasets.<name>.load_data()``,
   which reads ``~/.keras/datasets`` or downloads. Offline and without a cached
   copy this fails and :class:`~kzoo.data.errors.DataNotAvailableError` is raised
   naming the files looked for, the folders searched and how to provide them.

``mnist`` / ``fashion_mnist`` read the IDX files ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``
(each optionally ``.gz``; ``.idx`` in place of ``-idx`` is accepted too). Only
the files of the requested split are needed, and the labels file only when
labels are requested. Splits: ``"test"`` = the 10,000 t10k images;
``"validation"`` = the last 5,000 images of the 60,000 training images (the
last twelfth of the train file), ``"train"`` = the first 55,000.

``cifar10`` reads the python-pickle batches ``data_batch_1`` ... ``data_batch_5``
and ``test_batch`` (also inside a ``cifar-10-batches-py/`` subfolder). The
pickles are read with an unpickler that only accepts NumPy arrays, lists and
basic types. Splits: ``"test"`` = ``test_batch`` (10,000); ``"validation"`` =
the last 5,000 of the 50,000 training images (last tenth), ``"train"`` = the
first 45,000.
"""

from __future__ import annotations

import functools
import os
import pickle
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from kzoo.data.errors import DataFormatError, DataNotAvailableError
from kzoo.data.idx import read_idx
from kzoo.data.registry import DatasetInfo, register_dataset

ENV_VAR = "KZOO_DATA_DIR"

_IDX_BASENAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
# Fraction of the train file held out (from its end) as the validation split.
_VALIDATION_DIVISOR = {"mnist": 12, "fashion_mnist": 12, "cifar10": 10}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def search_dirs(name: str, data_dir=None, subfolders: Sequence[str] = ()) -> List[str]:
    """Folders searched for a dataset's files, in order.

    Args:
        name: Dataset name (used as a subfolder name).
        data_dir: Folder given by the caller, or ``None`` to use ``$KZOO_DATA_DIR``.
        subfolders: Extra subfolder names tried inside every folder.

    Returns:
        Absolute folder paths (they need not exist).
    """
    if data_dir is not None:
        root = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
        bases = [root, os.path.join(root, name)]
    else:
        env = os.environ.get(ENV_VAR)
        if env:
            root = os.path.abspath(os.path.expanduser(env))
            bases = [os.path.join(root, name), root]
        else:
            bases = []
    dirs = []
    for base in bases:
        for d in [base] + [os.path.join(base, s) for s in subfolders]:
            if d not in dirs:
                dirs.append(d)
    return dirs


def _find(dirs: Sequence[str], candidates: Sequence[str]) -> Optional[str]:
    for d in dirs:
        for c in candidates:
            p = os.path.join(d, c)
            if os.path.isfile(p):
                return p
    return None


def _idx_variants(base: str) -> List[str]:
    dotted = base.replace("-idx", ".idx")
    return [base, base + ".gz", dotted, dotted + ".gz"]


def _file_key(path: str) -> Tuple[str, int, int]:
    st = os.stat(path)
    return path, st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=8)
def _cached_idx(path: str, mtime_ns: int, size: int) -> np.ndarray:
    del mtime_ns, size  # part of the cache key only
    return read_idx(path)


def _not_available(name: str, split: str, wanted: Sequence[str], dirs: Sequence[str], download_error) -> str:
    where = ", ".join(dirs) if dirs else f"(none: no data_dir given and ${ENV_VAR} is not set)"
    if download_error is None:
        dl = "Download was not attempted (download=False)."
    else:
        dl = (
            f"Fetching through keras.datasets.{name}.load_data() also failed "
            f"({type(download_error).__name__}: {download_error})."
        )
    return (
        f"Dataset {name!r} split {split!r} is not available. Looked for {', '.join(wanted)} in: {where}. "
        f"{dl} Provide the files in one of two ways: pass data_dir='/path/to/folder' to "
        f"kzoo.data.load()/load_numpy(), or set the environment variable {ENV_VAR} to a folder that "
        f"holds them (directly or in a '{name}/' subfolder)."
    )


def _keras_arrays(name: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Loads a dataset through keras.datasets (may download). Cached on success."""
    if name not in _KERAS_CACHE:
        import keras

        module = getattr(keras.datasets, name)
        (x_train, y_train), (x_test, y_test) = module.load_data()
        _KERAS_CACHE[name] = {
            "train": (np.asarray(x_train), np.asarray(y_train).reshape(-1)),
            "test": (np.asarray(x_test), np.asarray(y_test).reshape(-1)),
        }
    return _KERAS_CACHE[name]


_KERAS_CACHE: Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]] = {}


def clear_cache() -> None:
    """Forgets every file parsed or fetched so far in this process."""
    _cached_idx.cache_clear()
    _cached_cifar_batch.cache_clear()
    _KERAS_CACHE.clear()


def _file_split(split: str) -> str:
    return "test" if split == "test" else "train"


def _carve(name: str, split: str, x: np.ndarray, y: Optional[np.ndarray]):
    """Cuts train/validation out of the train file (validation = its last part)."""
    if split == "test":
        return x, y
    n = len(x)
    n_val = n // _VALIDATION_DIVISOR[name]
    if n_val == 0:
        raise DataFormatError(
            f"Dataset {name!r}: the train file holds only {n} images, too few to hold out a validation split."
        )
    sl = slice(n - n_val, n) if split == "validation" else slice(0, n - n_val)
    return x[sl], (None if y is None else y[sl])


def _check_labels(name: str, path: str, y: np.ndarray, n: int, num_classes: int) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataFormatError(
            f"Dataset {name!r}: {path} holds labels of shape {y.shape} for {n} images; expected shape ({n},), "
            "one label per image."
        )
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise DataFormatError(
            f"Dataset {name!r}: labels in {path} outside 0..{num_classes - 1} "
            f"(min {int(y.min())}, max {int(y.max())})."
        )
    return y.astype(np.int32)


def _load_mnist_like(name: str, split: str, *, labels: bool = False, data_dir=None, download: bool = True, **_):
    file_split = _file_split(split)
    image_base, label_base = _IDX_BASENAMES[file_split]
    dirs = search_dirs(name, data_dir)
    image_path = _find(dirs, _idx_variants(image_base))
    label_path = _find(dirs, _idx_variants(label_base)) if labels else None
    if image_path is not None and (label_path is not None or not labels):
        x = _cached_idx(*_file_key(image_path))
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataFormatError(
                f"Dataset {name!r}: {image_path} holds {x.dtype.name} {x.shape}; expected uint8 (N, 28, 28)."
            )
        y = None
        if labels:
            y = _cached_idx(*_file_key(label_path))
            y = _check_labels(name, label_path, y, len(x), 10)
        x = x[..., None]
        return _carve(name, split, x, y)

    wanted = [image_base + "[.gz]"] + ([label_base + "[.gz]"] if labels else [])
    if not download:
        raise DataNotAvailableError(_not_available(name, split, wanted, dirs, None))
    try:
        arrays = _keras_arrays(name)
    except Exception as err:  # noqa: BLE001 - any failure means "not available"
        raise DataNotAvailableError(_not_available(name, split, wanted, dirs, err)) from err
    x, y = arrays[file_split]
    x = x.reshape(-1, 28, 28, 1).astype(np.uint8, copy=False)
    y = y.astype(np.int32) if labels else None
    return _carve(name, split, x, y)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler restricted to what NumPy arrays need."""

    _ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


@functools.lru_cache(maxsize=8)
def _cached_cifar_batch(path: str, mtime_ns: int, size: int) -> Tuple[np.ndarray, np.ndarray]:
    del mtime_ns, size
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as err:  # noqa: BLE001 - report any parse failure the same way
        raise DataFormatError(f"{path}: not a readable CIFAR-10 batch ({type(err).__name__}: {err}).") from err
    if not isinstance(batch, dict):
        raise DataFormatError(f"{path}: expected a pickled dict, got {type(batch).__name__}.")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DataFormatError(
            f"{path}: CIFAR-10 batch lacks 'data' or 'labels' (keys: {sorted(map(repr, batch))[:6]}); expected "
            "a dict with both."
        )
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise DataFormatError(f"{path}: 'data' is {data.dtype.name} {data.shape}; expected uint8 (N, 3072).")
    y = np.asarray(labels).reshape(-1)
    y = _check_labels("cifar10", path, y, len(data), 10)
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    x = np.ascontiguousarray(x)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _load_cifar10(split: str, *, labels: bool = False, data_dir=None, download: bool = True, **_):
    name = "cifar10"
    file_split = _file_split(split)
    files = _CIFAR_FILES[file_split]
    dirs = search_dirs(name, data_dir, subfolders=("cifar-10-batches-py",))
    for d in dirs:
        paths = [os.path.join(d, f) for f in files]
        if all(os.path.isfile(p) for p in paths):
            parts = [_cached_cifar_batch(*_file_key(p)) for p in paths]
            x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
            y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
            return _carve(name, split, x, y if labels else None)
    if not download:
        raise DataNotAvailableError(_not_available(name, split, list(files), dirs, None))
    try:
        arrays = _keras_arrays(name)
    except Exception as err:  # noqa: BLE001
        raise DataNotAvailableError(_not_available(name, split, list(files), dirs, err)) from err
    x, y = arrays[file_split]
    return _carve(name, split, x.astype(np.uint8, copy=False), y.astype(np.int32) if labels else None)


_MNIST_SPLITS = {"train": 55000, "validation": 5000, "test": 10000}

register_dataset(
    DatasetInfo(
        name="mnist",
        shape=(28, 28, 1),
        num_classes=10,
        splits=dict(_MNIST_SPLITS),
        bit_depth=8,
        kind="image",
        description=(
            "Official MNIST from the four IDX files in data_dir, $KZOO_DATA_DIR/mnist/ or $KZOO_DATA_DIR/ "
            "(else keras.datasets.mnist, which downloads). 'train' = first 55,000 training images, "
            "'validation' = last 5,000 training images, 'test' = the 10,000 t10k images."
        ),
        num_levels=256,
        class_names=tuple(str(i) for i in range(10)),
    ),
    functools.partial(_load_mnist_like, "mnist"),
)

register_dataset(
    DatasetInfo(
        name="fashion_mnist",
        shape=(28, 28, 1),
        num_classes=10,
        splits=dict(_MNIST_SPLITS),
        bit_depth=8,
        kind="image",
        description=(
            "Fashion-MNIST from the four IDX files in data_dir, $KZOO_DATA_DIR/fashion_mnist/ or "
            "$KZOO_DATA_DIR/ (else keras.datasets.fashion_mnist, which downloads). Splits as for 'mnist'."
        ),
        num_levels=256,
        class_names=FASHION_MNIST_CLASSES,
    ),
    functools.partial(_load_mnist_like, "fashion_mnist"),
    aliases=("fashion",),
)

register_dataset(
    DatasetInfo(
        name="cifar10",
        shape=(32, 32, 3),
        num_classes=10,
        splits={"train": 45000, "validation": 5000, "test": 10000},
        bit_depth=8,
        kind="image",
        description=(
            "CIFAR-10 from the python-pickle batches in data_dir, $KZOO_DATA_DIR/cifar10/ or $KZOO_DATA_DIR/ "
            "(also inside cifar-10-batches-py/; else keras.datasets.cifar10, which downloads). 'train' = "
            "first 45,000 training images, 'validation' = last 5,000, 'test' = test_batch (10,000)."
        ),
        num_levels=256,
        class_names=CIFAR10_CLASSES,
    ),
    _load_cifar10,
    aliases=("cifar_10",),
)
