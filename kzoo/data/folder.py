"""Datasets from a folder of image files.

Layout follows ``keras.utils.image_dataset_from_directory``: if the folder has
subfolders, each (non-hidden) subfolder is a class, in sorted name order, and
its images (searched recursively) get that class index; images directly in the
folder are then ignored. Without subfolders, the folder's images form an
unlabeled set.

Images keep their native size when all share it; otherwise pass
``image_size=(height, width)`` and every image is resized (bilinear).
``color_mode`` is ``"rgb"`` (3 channels, the default) or ``"grayscale"``
(1 channel).

Splits: ``"train"`` is every image unless ``validation_split`` is given.
``"validation"`` is a fixed-seed random holdout of ``validation_split`` of the
images (10% when not given, at least one image); with ``validation_split``
set, ``"train"`` is the complement, so ask for both splits with the same
``validation_split`` to get disjoint sets.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

SUPPORTED_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}
FOLDER_SPLIT_SEED = 1234
DEFAULT_VALIDATION_SPLIT = 0.1


def _is_image(filename: str) -> bool:
    return filename.lower().endswith(SUPPORTED_EXTENSIONS) and not filename.startswith(".")


def _walk_images(folder: str) -> List[str]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files) if _is_image(f))
    return found


def index_folder(path) -> Tuple[List[str], Optional[np.ndarray], Optional[Tuple[str, ...]]]:
    """Lists the images of a folder and their class labels.

    Args:
        path: Folder path.

    Returns:
        ``(files, labels, class_names)``; ``labels`` (int32) and ``class_names`` are
        ``None`` when the folder has no class subfolders.

    Raises:
        NotADirectoryError: If ``path`` is not a folder.
        ValueError: If no supported image files are found.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise NotADirectoryError(f"{path!r} is not a folder.")
    entries = sorted(os.listdir(path))
    subdirs = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(path, e))]
    files: List[str] = []
    labels: Optional[List[int]] = None
    class_names = None
    if subdirs:
        labels = []
        for i, d in enumerate(subdirs):
            found = _walk_images(os.path.join(path, d))
            files.extend(found)
            labels.extend([i] * len(found))
        class_names = tuple(subdirs)
    if not files:
        # No images in class subfolders: fall back to the folder's own images.
        files = [os.path.join(path, e) for e in entries if _is_image(e) and os.path.isfile(os.path.join(path, e))]
        labels, class_names = None, None
    if not files:
        raise ValueError(
            f"No images were found in {path}. Supported extensions: {', '.join(SUPPORTED_EXTENSIONS)} "
            "(directly in the folder, or in one subfolder per class)."
        )
    return files, (None if labels is None else np.asarray(labels, np.int32)), class_names


def split_indices(n: int, split: str, validation_split: Optional[float]) -> np.ndarray:
    """Indices of one split of a folder with ``n`` images (see module docstring).

    Args:
        n: Number of images.
        split: ``"train"`` or ``"validation"``.
        validation_split: Fraction held out for validation, or ``None``.

    Returns:
        Sorted int64 indices.

    Raises:
        ValueError: On an unknown split, a fraction outside (0, 1), or too few images.
    """
    if split not in ("train", "validation"):
        raise ValueError(
            f"Image folders have no split {split!r}. Valid splits: 'train', 'validation'."
        )
    if validation_split is None:
        if split == "train":
            return np.arange(n)
        validation_split = DEFAULT_VALIDATION_SPLIT
    if not 0.0 < float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}.")
    if n < 2:
        raise ValueError(f"Cannot hold out a validation split from {n} image(s).")
    n_val = min(n - 1, max(1, int(round(float(validation_split) * n))))
    perm = np.random.default_rng(FOLDER_SPLIT_SEED).permutation(n)
    chosen = perm[:n_val] if split == "validation" else perm[n_val:]
    return np.sort(chosen)


def read_images(
    files: Sequence[str], image_size: Optional[Tuple[int, int]] = None, color_mode: str = "rgb", *, source: str = ""
) -> np.ndarray:
    """Reads image files into one uint8 array.

    Args:
        files: Image paths.
        image_size: ``(height, width)`` to resize to, or ``None`` to keep native sizes.
        color_mode: ``"rgb"`` or ``"grayscale"``.
        source: Folder name used in error messages.

    Returns:
        uint8 array ``(N, H, W, C)``.

    Raises:
        ValueError: On an unknown color mode, a bad ``image_size``, unreadable files, or
            mixed native sizes without ``image_size``.
    """
    from PIL import Image, UnidentifiedImageError

    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(COLOR_MODES)}, got {color_mode!r}.")
    pil_mode, _ = COLOR_MODES[color_mode]
    if image_size is not None:
        if len(tuple(image_size)) != 2 or min(int(s) for s in image_size) < 1:
            raise ValueError(f"image_size must be (height, width) with positive ints, got {image_size!r}.")
        height, width = (int(s) for s in image_size)
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                im = im.convert(pil_mode)
                if image_size is not None and im.size != (width, height):
                    im = im.resize((width, height), Image.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as err:
            raise ValueError(f"Could not read image {f}: {err}") from err
        if arr.ndim == 2:
            arr = arr[..., None]
        images.append(arr)
    shapes = sorted({a.shape[:2] for a in images})
    if len(shapes) > 1:
        shown = ", ".join(f"{h}x{w}" for h, w in shapes[:5]) + (" ..." if len(shapes) > 5 else "")
        raise ValueError(
            f"Images in {source or 'the folder'} have different sizes ({shown}); "
            "pass image_size=(height, width) to resize them all."
        )
    return np.stack(images)


def folder_shape(files: Sequence[str], color_mode: str = "rgb") -> Optional[Tuple[int, int, int]]:
    """Common ``(H, W, C)`` of the images (headers only), or ``None`` if sizes differ."""
    from PIL import Image

    channels = COLOR_MODES[color_mode][1]
    sizes = set()
    for f in files:
        with Image.open(f) as im:
            sizes.add(im.size)
        if len(sizes) > 1:
            return None
    (w, h), = sizes
    return (h, w, channels)
