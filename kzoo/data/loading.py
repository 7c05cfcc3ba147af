"""``load`` / ``load_numpy`` / ``info``: one entry point for every dataset.

A dataset is named (see :func:`kzoo.data.names`) or given as the path of a
folder of images. Both functions return the same pixels for the same
arguments, except for noise that :func:`load` redraws on every pass (dynamic
binarization, dequantization).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Tuple, Union

import numpy as np
import tensorflow as tf

# Importing the source modules registers their datasets.
from kzoo.data import builtin as _builtin  # noqa: F401
from kzoo.data import domains as _domains  # noqa: F401
from kzoo.data import stacked as _stacked  # noqa: F401
from kzoo.data import files as _files  # noqa: F401
from kzoo.data import folder as _folder
from kzoo.data import toy as _toy  # noqa: F401
from kzoo.data import transforms as T
from kzoo.data.partial_labels import check_labeled_per_class, keep_labels_per_class
from kzoo.data.registry import DatasetInfo, canonical_name, check_split, get_spec, names, unknown_name_error

BINARIZE_MODES = (None, "static", "dynamic", "threshold")
SCALES = ("unit", "symmetric")


@dataclasses.dataclass
class _Raw:
    x: np.ndarray  # integer pixel levels, or float32 already in final space
    y: Optional[np.ndarray]
    info: DatasetInfo
    levels: Optional[int]  # distinct pixel values for integer x; None for float x


def _resolve(name_or_path) -> Tuple[str, object]:
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"Expected a dataset name or a folder path, got {type(name_or_path).__name__}.")
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and canonical_name(text) is not None:
        return "named", get_spec(text)
    if os.path.isdir(text):
        return "folder", text
    if os.path.exists(text):
        raise ValueError(f"{text!r} is a file; expected a dataset name or a folder of images.")
    if not isinstance(name_or_path, str) or _looks_like_path(text):
        raise FileNotFoundError(
            f"Image folder {text!r} does not exist; expected an existing folder of images "
            f"(or a dataset name: {', '.join(names())})."
        )
    raise unknown_name_error(text)


def _looks_like_path(text: str) -> bool:
    seps = [s for s in (os.sep, os.altsep) if s]
    return any(s in text for s in seps) or text.startswith(("~", "."))


def _check_options(binarize, dequantize, scale, seed, num_samples) -> None:
    if binarize not in BINARIZE_MODES:
        raise ValueError(f"binarize must be one of {BINARIZE_MODES}, got {binarize!r}.")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}.")
    if binarize is not None and dequantize:
        raise ValueError(
            f"binarize={binarize!r} and dequantize=True exclude each other: dequantization is for "
            "continuous models of 8-bit data, binarization for Bernoulli models."
        )
    T._check_seed(seed)
    if num_samples is not None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive int or None, got {num_samples!r}.")


def _folder_info(path: str, files, class_names, shape) -> DatasetInfo:
    return DatasetInfo(
        name=path,
        shape=shape,
        num_classes=None if class_names is None else len(class_names),
        splits={"train": len(files)},
        bit_depth=8,
        kind="image",
        description=(
            f"Folder of {len(files)} images"
            + (f" in {len(class_names)} classes ({', '.join(class_names)})" if class_names else ", unlabeled")
            + ". 'train' = all images; 'validation' = fixed-seed holdout (validation_split, default 10%)."
        ),
        num_levels=256,
        class_names=class_names,
    )


def _raw(
    name_or_path,
    split: str,
    *,
    labels: bool,
    binarize,
    dequantize: bool,
    scale: str,
    data_dir,
    seed: int,
    num_samples,
    image_size,
    color_mode,
    validation_split,
    download: bool,
    labeled_per_class=None,
) -> _Raw:
    _check_options(binarize, dequantize, scale, seed, num_samples)
    labeled_per_class = check_labeled_per_class(labeled_per_class)
    if labeled_per_class is not None and not labels:
        raise ValueError(f"labeled_per_class={labeled_per_class} keeps some labels: it needs labels=True.")
    raw = _raw_pixels(name_or_path, split, labels=labels, binarize=binarize, dequantize=dequantize, scale=scale,
                      data_dir=data_dir, seed=seed, num_samples=num_samples, image_size=image_size,
                      color_mode=color_mode, validation_split=validation_split, download=download)
    if labeled_per_class is not None:
        raw.y = keep_labels_per_class(raw.y, labeled_per_class)
    return raw


def _raw_pixels(name_or_path, split, *, labels, binarize, dequantize, scale, data_dir, seed, num_samples,
                image_size, color_mode, validation_split, download) -> _Raw:
    kind, target = _resolve(name_or_path)

    if kind == "folder":
        path = target
        if data_dir is not None:
            raise ValueError("data_dir applies to named datasets only, not to a folder path.")
        files, y_all, class_names = _folder.index_folder(path)
        if labels and y_all is None:
            raise ValueError(
                f"labels=True but {path} has no class subfolders, so its images have no labels."
            )
        idx = _folder.split_indices(len(files), split, validation_split)
        if num_samples is not None:
            idx = _take(idx, num_samples, path, split)
        x = _folder.read_images([files[i] for i in idx], image_size, color_mode or "rgb", source=path)
        info = _folder_info(path, files, class_names, tuple(x.shape[1:]))
        y = None if not labels else y_all[idx]
        return _finish_raw(_Raw(x, y, info, 256))

    spec = target
    info = spec.info
    for arg, value in (("image_size", image_size), ("color_mode", color_mode), ("validation_split", validation_split)):
        if value is not None:
            raise ValueError(f"{arg}= applies to image folders only, not to the named dataset {info.name!r}.")
    check_split(spec, split)
    if labels and not info.has_labels:
        raise ValueError(f"Dataset {info.name!r} has no labels; call it with labels=False.")
    if info.kind == "toy2d":
        if binarize is not None or dequantize or scale != "unit":
            raise ValueError(
                f"Dataset {info.name!r} is a 2-D toy density: binarize, dequantize and scale='symmetric' "
                "apply to image data only."
            )
    x, y = spec.loader(
        split, labels=labels, data_dir=data_dir, download=download, seed=seed, num_samples=num_samples
    )
    if info.kind != "toy2d" and num_samples is not None:
        keep = _take(np.arange(len(x)), num_samples, info.name, split)
        x, y = x[keep], (None if y is None else y[keep])
    levels = info.num_levels if np.issubdtype(x.dtype, np.integer) else None
    return _finish_raw(_Raw(x, y if labels else None, info, levels))


def _take(idx: np.ndarray, num_samples: int, what: str, split: str) -> np.ndarray:
    if num_samples > len(idx):
        raise ValueError(
            f"num_samples={num_samples} but {what!r} split {split!r} holds only {len(idx)} examples."
        )
    return idx[:num_samples]


def _finish_raw(raw: _Raw) -> _Raw:
    name = raw.info.name
    if len(raw.x) == 0:
        raise ValueError(f"Dataset {name!r}: the requested split is empty.")
    if not np.issubdtype(raw.x.dtype, np.integer):
        bad = int(raw.x.size - np.count_nonzero(np.isfinite(raw.x)))
        if bad:
            raise ValueError(f"Dataset {name!r}: {bad} NaN/Inf values in the loaded data (corrupt source?).")
    if raw.y is not None:
        raw.y = np.asarray(raw.y, dtype=np.int32)
    return raw


def _unit_float(raw: _Raw) -> np.ndarray:
    if raw.levels is None:
        return np.asarray(raw.x, dtype=np.float32)
    return raw.x.astype(np.float32) / np.float32(raw.levels - 1)


def load_numpy(
    name_or_path: Union[str, os.PathLike],
    split: str = "train",
    *,
    labels: bool = False,
    binarize: Optional[str] = None,
    dequantize: bool = False,
    scale: str = "unit",
    data_dir=None,
    seed: int = 0,
    num_samples: Optional[int] = None,
    image_size: Optional[Tuple[int, int]] = None,
    color_mode: Optional[str] = None,
    validation_split: Optional[float] = None,
    download: bool = True,
    labeled_per_class: Optional[int] = None,
):
    """Loads one split into memory as NumPy arrays.

    Args:
        name_or_path: A registered name (see :func:`names`) or a folder of images.
        split: ``"train"``, ``"validation"`` or ``"test"`` (where the dataset has it).
        labels: Also return int32 class labels.
        binarize: ``None``; ``"static"`` (one fixed Bernoulli draw keyed on ``seed``);
            ``"threshold"`` (``x > 0.5``). ``"dynamic"`` needs a pass-by-pass pipeline:
            use :func:`load` (it raises here).
        dequantize: Uniform dequantization ``(k + u) / levels`` with one fixed draw
            keyed on ``seed`` (levels = 256 for 8-bit data).
        scale: ``"unit"`` for ``[0, 1]``, ``"symmetric"`` for ``[-1, 1]`` (images only).
        data_dir: Folder holding the files of file-based sets (mnist, fashion_mnist, cifar10).
        seed: Non-negative int for binarization, dequantization and toy-set draws.
        num_samples: Toy sets: number of points to draw (default 50,000 train,
            10,000 validation/test). Other sets: keep the first ``num_samples``
            examples of the split (splits are stored in a fixed shuffled order).
        image_size: Image folders only: ``(height, width)`` to resize to.
        color_mode: Image folders only: ``"rgb"`` (default) or ``"grayscale"``.
        validation_split: Image folders only: fraction held out as ``"validation"``.
        download: File-based sets: fall back to ``keras.datasets`` when files are missing.
        labeled_per_class: ``None`` keeps every label; an int keeps that many labels per
            class of the split (chosen with a fixed seed, see
            :func:`kzoo.data.partial_labels.keep_labels_per_class`) and sets the others to -1
            (semi-supervised training). Needs ``labels=True``.

    Returns:
        float32 array ``(N, H, W, C)`` (images) or ``(N, 2)`` (toy sets); with
        ``labels=True`` a tuple ``(x, y)`` with ``y`` int32 ``(N,)``.

    Raises:
        ValueError: Unknown name (with suggestions) or split, bad option values or
            combinations, ``labels=True`` on an unlabeled set, empty result, NaN/Inf
            values in the data.
        FileNotFoundError: ``name_or_path`` is a path (``os.PathLike``, or a string with a
            path separator or a leading ``.``/``~``) to a folder that does not exist.
        DataNotAvailableError: Files of a file-based set are missing and the download failed.
        DataFormatError: A data file is corrupt or truncated (for image folders: a file
            that cannot be decoded as an image).
    """
    if binarize == "dynamic":
        raise ValueError(
            "binarize='dynamic' redraws every pass and needs a tf.data pipeline: use kzoo.data.load(), "
            "or binarize='static' for one fixed draw."
        )
    raw = _raw(
        name_or_path, split, labels=labels, binarize=binarize, dequantize=dequantize, scale=scale,
        data_dir=data_dir, seed=seed, num_samples=num_samples, image_size=image_size,
        color_mode=color_mode, validation_split=validation_split, download=download,
        labeled_per_class=labeled_per_class,
    )
    x = _apply_static(raw, binarize, seed)
    if dequantize:
        x = T.dequantize(x, seed, levels=raw.levels or 256)
    if scale == "symmetric":
        x = T.to_symmetric(x)
    x = np.ascontiguousarray(x, dtype=np.float32)
    return (x, raw.y) if labels else x


def _apply_static(raw: _Raw, binarize, seed) -> np.ndarray:
    x = _unit_float(raw)
    if binarize == "static":
        x = T.binarize_static(x, seed)
    elif binarize == "threshold":
        x = T.binarize_threshold(x)
    return x


def load(
    name_or_path: Union[str, os.PathLike],
    split: str = "train",
    *,
    labels: bool = False,
    binarize: Optional[str] = None,
    dequantize: bool = False,
    scale: str = "unit",
    data_dir=None,
    seed: int = 0,
    num_samples: Optional[int] = None,
    image_size: Optional[Tuple[int, int]] = None,
    color_mode: Optional[str] = None,
    validation_split: Optional[float] = None,
    download: bool = True,
    labeled_per_class: Optional[int] = None,
) -> tf.data.Dataset:
    """Loads one split as an unbatched ``tf.data.Dataset``.

    The pixels are those of :func:`load_numpy` with the same arguments, except
    that ``binarize="dynamic"`` and ``dequantize=True`` draw fresh noise on every
    pass over the dataset (reproducible from ``seed``; see
    :mod:`kzoo.data.transforms`). Batch, shuffle and prefetch it yourself.

    Args:
        name_or_path: A registered name (see :func:`names`) or a folder of images.
        split: ``"train"``, ``"validation"`` or ``"test"`` (where the dataset has it).
        labels: Elements become ``(x, y)`` with ``y`` an int32 scalar.
        binarize: ``None``, ``"static"`` (fixed draw keyed on ``seed``, for evaluation),
            ``"dynamic"`` (fresh Bernoulli draw each pass, for training) or
            ``"threshold"`` (``x > 0.5``).
        dequantize: Uniform dequantization ``(round(255 x) + u) / 256`` for 8-bit data,
            fresh ``u ~ U[0, 1)`` each pass.
        scale: ``"unit"`` for ``[0, 1]``, ``"symmetric"`` for ``[-1, 1]`` (images only).
        data_dir: Folder holding the files of file-based sets (mnist, fashion_mnist, cifar10).
        seed: Non-negative int for binarization, dequantization and toy-set draws.
        num_samples: As in :func:`load_numpy`.
        image_size: Image folders only: ``(height, width)`` to resize to.
        color_mode: Image folders only: ``"rgb"`` (default) or ``"grayscale"``.
        validation_split: Image folders only: fraction held out as ``"validation"``.
        download: File-based sets: fall back to ``keras.datasets`` when files are missing.
        labeled_per_class: ``None`` keeps every label; an int keeps that many labels per
            class of the split (chosen with a fixed seed, see
            :func:`kzoo.data.partial_labels.keep_labels_per_class`) and sets the others to -1
            (semi-supervised training). Needs ``labels=True``.

    Returns:
        A dataset of float32 images ``(H, W, C)`` or toy points ``(2,)``, or of
        ``(x, y)`` pairs with ``labels=True``.

    Raises:
        ValueError: As :func:`load_numpy`.
        FileNotFoundError: As :func:`load_numpy`.
        DataNotAvailableError: Files of a file-based set are missing and the download failed.
        DataFormatError: As :func:`load_numpy`.
    """
    raw = _raw(
        name_or_path, split, labels=labels, binarize=binarize, dequantize=dequantize, scale=scale,
        data_dir=data_dir, seed=seed, num_samples=num_samples, image_size=image_size,
        color_mode=color_mode, validation_split=validation_split, download=download,
        labeled_per_class=labeled_per_class,
    )
    if raw.levels is not None and binarize in (None, "dynamic"):
        # Keep the compact integer array in the pipeline; convert per element.
        denom = float(raw.levels - 1)
        x_ds = tf.data.Dataset.from_tensor_slices(raw.x)
        x_ds = x_ds.map(lambda v: tf.cast(v, tf.float32) / denom, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        x_ds = tf.data.Dataset.from_tensor_slices(_apply_static(raw, binarize, seed))
    ds = tf.data.Dataset.zip((x_ds, tf.data.Dataset.from_tensor_slices(raw.y))) if labels else x_ds
    if binarize == "dynamic":
        ds = T.dynamic_binarize(ds, seed)
    if dequantize:
        ds = T.dynamic_dequantize(ds, seed, levels=raw.levels or 256)
    if scale == "symmetric":
        if labels:
            ds = ds.map(lambda x, y: (T.to_symmetric(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(T.to_symmetric, num_parallel_calls=tf.data.AUTOTUNE)
    return ds


def info(name_or_path: Union[str, os.PathLike]) -> DatasetInfo:
    """Describes a dataset without loading its pixels.

    Args:
        name_or_path: A registered name or a folder of images. For folders only the
            file headers are read; ``shape`` is ``None`` when image sizes differ.

    Returns:
        The :class:`DatasetInfo`.

    Raises:
        ValueError: Unknown name (with suggestions) or a folder without images.
        FileNotFoundError: A path to a folder that does not exist.
        DataFormatError: A folder file whose image header cannot be read.
    """
    kind, target = _resolve(name_or_path)
    if kind == "named":
        return dataclasses.replace(target.info, splits=dict(target.info.splits))
    files, _, class_names = _folder.index_folder(target)
    return _folder_info(target, files, class_names, _folder.folder_shape(files))
